import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface SignedRequest {
  method: string;
  /** The request target as received: path and query, still percent-encoded. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type SigV4Result =
  | { ok: true; accessKeyId: string; region: string; service: string }
  | { ok: false; code: 'MissingAuthenticationTokenException' | 'UnrecognizedClientException' | 'InvalidSignatureException' | 'IncompleteSignatureException'; message: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_SKEW_MS = 15 * 60_000;

const hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters. */
function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function canonicalUri(path: string, service: string): string {
  // S3 signs the path as it travels; other services sign each segment encoded once more.
  if (service === 's3') return path || '/';
  return path
    .split('/')
    .map((segment) => encodeRfc3986(segment))
    .join('/') || '/';
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs = query.split('&').map((part) => {
    const eq = part.indexOf('=');
    const key = decodeURIComponent((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' '));
    const value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1).replace(/\+/g, ' '));
    return [encodeRfc3986(key), encodeRfc3986(value)] as const;
  });
  pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  const joined = Array.isArray(value) ? value.join(',') : value;
  return joined.trim().replace(/\s+/g, ' ');
}

function parseAuthorization(header: string) {
  if (!header.startsWith(`${ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get('Credential')?.split('/');
  const signedHeaders = fields.get('SignedHeaders')?.split(';');
  const signature = fields.get('Signature');
  if (!credential || credential.length !== 5 || !signedHeaders || !signature) return undefined;
  const [accessKeyId, date, region, service, terminator] = credential as [string, string, string, string, string];
  if (terminator !== 'aws4_request') return undefined;
  return { accessKeyId, date, region, service, signedHeaders, signature };
}

function parseAmzDate(text: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

/**
 * Checks a request signed with Signature Version 4 (header form), as AWS does: the secret is
 * looked up by access key id, the signature recomputed over the canonical request, the credential
 * scope checked against the expected region and service, and the clock skew bounded.
 */
export function verifySigV4(
  request: SignedRequest,
  expected: { region: string; service: string; secretFor: (accessKeyId: string) => string | undefined; now: number },
): SigV4Result {
  const header = headerValue(request.headers, 'authorization');
  if (!header) {
    return { ok: false, code: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  }
  const auth = parseAuthorization(header);
  if (!auth) {
    return { ok: false, code: 'IncompleteSignatureException', message: `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters (${ALGORITHM}).` };
  }
  const secret = expected.secretFor(auth.accessKeyId);
  if (secret === undefined) {
    return { ok: false, code: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  }
  if (auth.region !== expected.region || auth.service !== expected.service) {
    return {
      ok: false,
      code: 'InvalidSignatureException',
      message: `Credential should be scoped to a valid region and service: expected ${expected.region}/${expected.service}, got ${auth.region}/${auth.service}.`,
    };
  }
  const amzDate = headerValue(request.headers, 'x-amz-date') ?? '';
  const signedAt = parseAmzDate(amzDate);
  if (Number.isNaN(signedAt) || !amzDate.startsWith(auth.date)) {
    return { ok: false, code: 'IncompleteSignatureException', message: 'The request must carry an X-Amz-Date matching the credential scope date.' };
  }
  if (Math.abs(expected.now - signedAt) > MAX_SKEW_MS) {
    return { ok: false, code: 'InvalidSignatureException', message: `Signature expired: ${amzDate} is more than 15 minutes from the server's time.` };
  }
  const queryAt = request.url.indexOf('?');
  const path = queryAt < 0 ? request.url : request.url.slice(0, queryAt);
  const query = queryAt < 0 ? '' : request.url.slice(queryAt + 1);
  const canonicalHeaders = auth.signedHeaders.map((name) => `${name}:${headerValue(request.headers, name) ?? ''}\n`).join('');
  const payloadHash = hex(request.body);
  const declaredHash = headerValue(request.headers, 'x-amz-content-sha256');
  if (declaredHash !== undefined && declaredHash !== payloadHash) {
    return { ok: false, code: 'InvalidSignatureException', message: "The provided 'x-amz-content-sha256' header does not match what was computed." };
  }
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalUri(path, auth.service),
    canonicalQuery(query),
    canonicalHeaders,
    auth.signedHeaders.join(';'),
    payloadHash,
  ].join('\n');
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, hex(canonicalRequest)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${secret}`, auth.date), auth.region), auth.service), 'aws4_request');
  const signature = hmac(signingKey, stringToSign);
  const given = Buffer.from(auth.signature, 'hex');
  if (given.length !== signature.length || !timingSafeEqual(given, signature) || !auth.signedHeaders.includes('host')) {
    return {
      ok: false,
      code: 'InvalidSignatureException',
      message: 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    };
  }
  return { ok: true, accessKeyId: auth.accessKeyId, region: auth.region, service: auth.service };
}
