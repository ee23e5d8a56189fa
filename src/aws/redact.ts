/** Keys whose values never reach a log: tokens, keys, signatures, passwords, KMS plaintext. */
const SECRET_KEY = /token|secret|password|signature|authorization|credential|accesskey|sessionkey|plaintext/i;

/** Long base64 runs (session tokens, data keys) inside free text. */
const LONG_SECRET = /[A-Za-z0-9+/=_-]{40,}/g;

/** URL query parameters that carry secrets (presigned URLs). */
const SECRET_PARAM = /signature|token|credential|key/i;

function redactString(text: string): string {
  if (/^(wss?|https?):\/\/\S+$/i.test(text) && URL.canParse(text)) {
    const url = new URL(text);
    for (const key of [...url.searchParams.keys()]) if (SECRET_PARAM.test(key)) url.searchParams.set(key, '[redacted]');
    return url.toString();
  }
  return text.replace(LONG_SECRET, '[redacted]');
}

/** A copy of a value with every secret replaced by "[redacted]". */
export function redact<T>(value: T): T {
  if (typeof value === 'string') return redactString(value) as T;
  if (Array.isArray(value)) return value.map((item) => redact(item)) as T;
  if (value && typeof value === 'object') {
    if (value instanceof Date) return value;
    // Binary fields (a KMS data key, a ciphertext blob) are never shown, only their size.
    if (ArrayBuffer.isView(value)) return `[${value.byteLength} bytes]` as T;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) out[key] = SECRET_KEY.test(key) && child !== undefined && child !== null ? '[redacted]' : redact(child);
    return out as T;
  }
  return value;
}
