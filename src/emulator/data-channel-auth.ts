import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SIGV4_ALGORITHM, sha256Hex, signature } from '../aws/sigv4.js';
import { credentialProblem, principalFor, type EmulatorConfig } from './config.js';
import type { DataChannelUpgrade } from './events.js';
import { MAX_SKEW_MS, headerValue, parseAmzDate, verifySigV4 } from './sigv4.js';

/**
 * The gateway's side of the data channel's WebSocket upgrade. Since plugin 1.2.764.0 the client
 * signs the GET of the StreamUrl with SigV4 in header form for the service `ssmmessages`, unless
 * the URL is presigned (session-manager-plugin src/communicator/websocketchannel.go, `Open`,
 * `getV4SignatureHeader` and `isPresignedURL`; read at 1.2.764.0, commit 040f79d7, and 1.2.835.0,
 * commit 29db6846). The service answers a refused upgrade with HTTP 403.
 */

/** The plugin signs for its config.ServiceName (src/config/config.go). */
export const DATA_CHANNEL_SERVICE = 'ssmmessages';

/** Any one of these in the query makes a URL presigned (websocketchannel.go, `isPresignedURL`). */
const PRESIGNED_QUERY = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Security-Token'];
/** What a presigned URL must carry to be checked; the token only with temporary credentials. */
const PRESIGNED_REQUIRED = PRESIGNED_QUERY.filter((name) => name !== 'X-Amz-Security-Token');

/**
 * How long a presigned StreamUrl the emulator issues is good for. The service's figure is not
 * public; the plugin never reuses a presigned URL (it does not resume such a session), so minutes
 * are plenty.
 */
export const PRESIGNED_EXPIRES_SECONDS = 300;
/** SigV4's longest presigned lifetime, seven days. */
const MAX_EXPIRES_SECONDS = 604_800;

/** The signed GET has no body: its payload hash is the SHA-256 of nothing (the plugin signs a nil body). */
const EMPTY_PAYLOAD_HASH = sha256Hex('');

const amzDateOf = (now: number): string => new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

export interface UpgradeRequest {
  method: string;
  /** The request target as received: path and query, still percent-encoded. */
  url: string;
  headers: IncomingHttpHeaders;
}

type UpgradeFacts = Omit<DataChannelUpgrade, 'sessionId' | 'accepted'>;
export type UpgradeCheck = UpgradeFacts & ({ accept: true } | { accept: false; status: 403; reason: string });

const refuse = (facts: UpgradeFacts, reason: string): UpgradeCheck => ({ ...facts, accept: false, status: 403, reason });

/**
 * Whether the gateway lets this upgrade through, on its credentials alone (the session is the
 * caller's to look up). A presigned URL is checked on its query and must carry no Authorization
 * header besides; a signed one is checked as an API call is (verifySigV4, the same 15-minute skew),
 * for `ssmmessages` in the emulator's region; an unsigned one passes unless signatures are required.
 */
export function checkDataChannelUpgrade(request: UpgradeRequest, config: EmulatorConfig, now: number): UpgradeCheck {
  const queryAt = request.url.indexOf('?');
  const path = queryAt < 0 ? request.url : request.url.slice(0, queryAt);
  const query = queryAt < 0 ? '' : request.url.slice(queryAt + 1);
  const params = new URLSearchParams(query);
  const presigned = PRESIGNED_QUERY.some((name) => params.has(name));
  const authorization = headerValue(request.headers, 'authorization');
  const signed = authorization !== undefined;
  try {
    if (presigned) {
      const accessKeyId = params.get('X-Amz-Credential')?.split('/')[0];
      const amzDate = params.get('X-Amz-Date') ?? undefined;
      const facts: UpgradeFacts = { signed, presigned, ...(accessKeyId ? { accessKeyId } : {}), ...(amzDate ? { amzDate } : {}) };
      if (signed) return refuse(facts, 'InvalidRequest: Only one auth mechanism allowed: the presigned query or the Authorization header, not both.');
      const problem = presignedProblem({ method: request.method, path, query, params, headers: request.headers }, config, now);
      return problem ? refuse(facts, problem) : { ...facts, accept: true };
    }
    if (signed) {
      const accessKeyId = /Credential=([^/,\s]+)\//.exec(authorization)?.[1];
      const amzDate = headerValue(request.headers, 'x-amz-date');
      const facts: UpgradeFacts = { signed, presigned, ...(accessKeyId ? { accessKeyId } : {}), ...(amzDate ? { amzDate } : {}) };
      const result = verifySigV4(
        { method: request.method, url: request.url, headers: request.headers, body: Buffer.alloc(0) },
        { region: config.region, service: DATA_CHANNEL_SERVICE, now, secretFor: (id) => principalFor(config, id)?.secretAccessKey },
      );
      if (!result.ok) return refuse(facts, `${result.code}: ${result.message}`);
      const problem = credentialProblem(principalFor(config, result.accessKeyId)!, headerValue(request.headers, 'x-amz-security-token'));
      return problem ? refuse(facts, `${problem.code}: ${problem.message}`) : { ...facts, accept: true };
    }
  } catch (error) {
    // A malformed percent-escape in the query: nothing to sign it with.
    return refuse({ signed, presigned }, `InvalidRequest: ${(error as Error).message}`);
  }
  if (config.requireSignedDataChannel) {
    return refuse({ signed, presigned }, 'MissingAuthenticationTokenException: The data channel upgrade must be signed (Signature Version 4) or its URL presigned.');
  }
  return { signed, presigned, accept: true };
}

/**
 * SigV4's query form, over the GET with the query less X-Amz-Signature, the signed headers (host
 * at least) as received, and an empty payload; the credential scoped as a signed upgrade's is, the
 * date no more than the skew ahead and no more than X-Amz-Expires behind.
 */
function presignedProblem(
  request: { method: string; path: string; query: string; params: URLSearchParams; headers: IncomingHttpHeaders },
  config: EmulatorConfig,
  now: number,
): string | undefined {
  const { params } = request;
  const missing = PRESIGNED_REQUIRED.find((name) => !params.get(name));
  if (missing) return `AuthorizationQueryParametersError: A presigned URL must carry ${PRESIGNED_REQUIRED.join(', ')}; ${missing} is missing.`;
  if (params.get('X-Amz-Algorithm') !== SIGV4_ALGORITHM) return `AuthorizationQueryParametersError: X-Amz-Algorithm must be ${SIGV4_ALGORITHM}.`;
  const credential = params.get('X-Amz-Credential')!.split('/');
  if (credential.length !== 5 || credential[4] !== 'aws4_request') return 'AuthorizationQueryParametersError: X-Amz-Credential must be <key>/<date>/<region>/<service>/aws4_request.';
  const [accessKeyId, date, region, service] = credential as [string, string, string, string];
  const principal = principalFor(config, accessKeyId);
  if (!principal) return 'UnrecognizedClientException: The security token included in the request is invalid.';
  if (region !== config.region || service !== DATA_CHANNEL_SERVICE) {
    return `InvalidSignatureException: Credential should be scoped to a valid region and service: expected ${config.region}/${DATA_CHANNEL_SERVICE}, got ${region}/${service}.`;
  }
  const amzDate = params.get('X-Amz-Date')!;
  const signedAt = parseAmzDate(amzDate);
  if (Number.isNaN(signedAt) || !amzDate.startsWith(date)) return 'AuthorizationQueryParametersError: X-Amz-Date must be a date matching the credential scope date.';
  const expires = Number(params.get('X-Amz-Expires'));
  if (!Number.isInteger(expires) || expires < 1 || expires > MAX_EXPIRES_SECONDS) return `AuthorizationQueryParametersError: X-Amz-Expires must be 1 to ${MAX_EXPIRES_SECONDS} seconds.`;
  if (signedAt - now > MAX_SKEW_MS) return `InvalidSignatureException: Signature not yet current: ${amzDate} is more than 15 minutes ahead of the server's time.`;
  if (now > signedAt + expires * 1000) return `AccessDeniedException: Request has expired: signed at ${amzDate}, good for ${expires} seconds.`;
  const signedHeaders = params.get('X-Amz-SignedHeaders')!.split(';');
  if (!signedHeaders.includes('host')) return 'AuthorizationQueryParametersError: X-Amz-SignedHeaders must include host.';
  const unsignedQuery = request.query
    .split('&')
    .filter((part) => decodeURIComponent(part.split('=')[0]!) !== 'X-Amz-Signature')
    .join('&');
  const expected = signature({
    method: request.method,
    path: request.path,
    query: unsignedQuery,
    headers: signedHeaders.map((name) => [name, headerValue(request.headers, name) ?? ''] as [string, string]),
    payloadHash: EMPTY_PAYLOAD_HASH,
    amzDate,
    region,
    service,
    secretAccessKey: principal.secretAccessKey,
  });
  const given = Buffer.from(params.get('X-Amz-Signature')!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return 'SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided.';
  }
  const problem = credentialProblem(principal, params.get('X-Amz-Security-Token') ?? undefined);
  return problem ? `${problem.code}: ${problem.message}` : undefined;
}

/**
 * A StreamUrl presigned with the emulator's own keys (SigV4 query form: X-Amz-Algorithm,
 * X-Amz-Credential, X-Amz-Date, X-Amz-Expires, X-Amz-SignedHeaders=host, then X-Amz-Signature over
 * the rest), which checkDataChannelUpgrade verifies as any presigned URL.
 */
export function presignStreamUrl(
  streamUrl: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  region: string,
  now: number,
  expiresSeconds = PRESIGNED_EXPIRES_SECONDS,
): string {
  const url = new URL(streamUrl);
  const amzDate = amzDateOf(now);
  url.searchParams.append('X-Amz-Algorithm', SIGV4_ALGORITHM);
  url.searchParams.append('X-Amz-Credential', `${credentials.accessKeyId}/${amzDate.slice(0, 8)}/${region}/${DATA_CHANNEL_SERVICE}/aws4_request`);
  url.searchParams.append('X-Amz-Date', amzDate);
  url.searchParams.append('X-Amz-Expires', String(expiresSeconds));
  url.searchParams.append('X-Amz-SignedHeaders', 'host');
  const bytes = signature({
    method: 'GET',
    path: url.pathname,
    query: url.search.slice(1),
    headers: [['host', url.host]],
    payloadHash: EMPTY_PAYLOAD_HASH,
    amzDate,
    region,
    service: DATA_CHANNEL_SERVICE,
    secretAccessKey: credentials.secretAccessKey,
  });
  url.searchParams.append('X-Amz-Signature', bytes.toString('hex'));
  return url.toString();
}
