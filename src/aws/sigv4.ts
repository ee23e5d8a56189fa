import { createHash, createHmac } from 'node:crypto';

/**
 * Signature Version 4 (header form), the one computation both sides share: ssmx signs its session
 * calls with it (src/aws/json-api.ts) and the emulator checks every request with it
 * (src/emulator/sigv4.ts). As AWS's documentation defines it ("Create a signed AWS API request"):
 * a canonical request, a string to sign over its hash and the credential scope, and an HMAC chain
 * from the secret through date, region, service and "aws4_request".
 */
export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';

export const sha256Hex = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Uint8Array | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it: everything but unreserved characters. */
function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The path as signed: S3 signs it as it travels; other services sign each segment encoded once more. */
export function canonicalUri(path: string, service: string): string {
  if (service === 's3') return path || '/';
  return path.split('/').map((segment) => encodeRfc3986(segment)).join('/') || '/';
}

/** The query as signed: each name and value decoded, encoded as RFC 3986, sorted. */
export function canonicalQuery(query: string): string {
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

/** A header's value as signed: trimmed, inner runs of white space made one space. */
export const canonicalHeaderValue = (value: string): string => value.trim().replace(/\s+/g, ' ');

export interface SignatureInput {
  method: string;
  /** Path and query, still percent-encoded, as they travel. */
  path: string;
  query: string;
  /** The signed headers, names in lower case and sorted, values as canonicalHeaderValue gives them. */
  headers: Array<[string, string]>;
  payloadHash: string;
  /** X-Amz-Date: 20261202T120000Z. */
  amzDate: string;
  region: string;
  service: string;
  secretAccessKey: string;
}

/** The signature of a request: 32 bytes. */
export function signature(input: SignatureInput): Buffer {
  const canonicalRequest = [
    input.method.toUpperCase(),
    canonicalUri(input.path, input.service),
    canonicalQuery(input.query),
    input.headers.map(([name, value]) => `${name}:${value}\n`).join(''),
    input.headers.map(([name]) => name).join(';'),
    input.payloadHash,
  ].join('\n');
  const date = input.amzDate.slice(0, 8);
  const scope = `${date}/${input.region}/${input.service}/aws4_request`;
  const stringToSign = [SIGV4_ALGORITHM, input.amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${input.secretAccessKey}`, date), input.region), input.service), 'aws4_request');
  return hmac(key, stringToSign);
}

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

/** 2026-12-02T12:00:00.000Z as X-Amz-Date writes it: 20261202T120000Z. */
export const amzDate = (when: Date): string => when.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/**
 * The headers that sign a request: X-Amz-Date, X-Amz-Security-Token for temporary credentials, and
 * Authorization over every header given (host among them) and those two.
 */
export function signHeaders(
  request: { method: string; path: string; query?: string; headers: Record<string, string>; body: string | Uint8Array },
  credentials: Credentials,
  scope: { region: string; service: string },
  when: Date,
): Record<string, string> {
  const stamp = amzDate(when);
  const added: Record<string, string> = { 'x-amz-date': stamp, ...(credentials.sessionToken ? { 'x-amz-security-token': credentials.sessionToken } : {}) };
  const all = new Map<string, string>();
  for (const [name, value] of Object.entries({ ...request.headers, ...added })) all.set(name.toLowerCase(), canonicalHeaderValue(value));
  const headers = [...all].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const bytes = signature({
    method: request.method,
    path: request.path,
    query: request.query ?? '',
    headers,
    payloadHash: sha256Hex(request.body),
    amzDate: stamp,
    region: scope.region,
    service: scope.service,
    secretAccessKey: credentials.secretAccessKey,
  });
  const credentialScope = `${credentials.accessKeyId}/${stamp.slice(0, 8)}/${scope.region}/${scope.service}/aws4_request`;
  return { ...added, authorization: `${SIGV4_ALGORITHM} Credential=${credentialScope}, SignedHeaders=${headers.map(([name]) => name).join(';')}, Signature=${bytes.toString('hex')}` };
}

/** The service name the data channel's WebSocket upgrade is signed for. */
export const DATA_CHANNEL_SIGNING_NAME = 'ssmmessages';

/**
 * The query parameters of a presigned URL: one of them and the URL carries its own signature
 * (plugin src/communicator/websocketchannel.go, 1.2.764.0 and later: such a URL is not signed
 * again, and its session is not resumed).
 */
const PRESIGNED_QUERY = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Security-Token'];

export function isPresignedUrl(url: string | URL): boolean {
  const query = (typeof url === 'string' ? new URL(url) : url).searchParams;
  return PRESIGNED_QUERY.some((name) => query.has(name));
}

/**
 * The headers that sign the data channel's WebSocket upgrade (docs/protocol.md §1), as the plugin
 * signs it since 1.2.764.0 (src/communicator/websocketchannel.go, `getV4SignatureHeader`; read at
 * 1.2.835.0): SigV4 in header form over the GET of the stream URL, its query included, for the
 * service `ssmmessages` in the session's region, the payload the SHA-256 of nothing, the headers
 * `host` and `x-amz-date` (and `x-amz-security-token` with temporary credentials) and no
 * `x-amz-content-sha256`. The caller skips a presigned URL.
 */
export function signDataChannelUpgrade(streamUrl: string | URL, credentials: Credentials, region: string, when: Date): Record<string, string> {
  const url = typeof streamUrl === 'string' ? new URL(streamUrl) : streamUrl;
  return signHeaders(
    { method: 'GET', path: url.pathname || '/', query: url.search.slice(1), headers: { host: url.host }, body: '' },
    credentials,
    { region, service: DATA_CHANNEL_SIGNING_NAME },
    when,
  );
}
