import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SIGV4_ALGORITHM, canonicalHeaderValue, sha256Hex, signature as sigv4Signature } from '../aws/sigv4.js';

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

/** How far a signature's date may be from the server's clock, either way. */
export const MAX_SKEW_MS = 15 * 60_000;

export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  if (value === undefined) return undefined;
  const joined = Array.isArray(value) ? value.join(',') : value;
  return canonicalHeaderValue(joined);
}

function parseAuthorization(header: string) {
  if (!header.startsWith(`${SIGV4_ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of header.slice(SIGV4_ALGORITHM.length + 1).split(',')) {
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

export function parseAmzDate(text: string): number {
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
    return { ok: false, code: 'IncompleteSignatureException', message: `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters (${SIGV4_ALGORITHM}).` };
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
  const payloadHash = sha256Hex(request.body);
  const declaredHash = headerValue(request.headers, 'x-amz-content-sha256');
  if (declaredHash !== undefined && declaredHash !== payloadHash) {
    return { ok: false, code: 'InvalidSignatureException', message: "The provided 'x-amz-content-sha256' header does not match what was computed." };
  }
  const signature = sigv4Signature({
    method: request.method,
    path,
    query,
    headers: auth.signedHeaders.map((name) => [name, headerValue(request.headers, name) ?? ''] as [string, string]),
    payloadHash,
    amzDate,
    region: auth.region,
    service: auth.service,
    secretAccessKey: secret,
  });
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
