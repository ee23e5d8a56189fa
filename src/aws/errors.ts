import { SsmxError } from '../errors.js';

/** The endpoint a failed request went to, kept on its error so the message can name it. */
export const ENDPOINT_OF_ERROR = Symbol('ssmx endpoint');

export type AwsErrorKind =
  | 'credentials'
  | 'permission'
  | 'target'
  | 'usage'
  | 'throttling'
  | 'service'
  /** The endpoint could not be reached, did not answer in time, or did not answer as AWS does. */
  | 'connection';

/** An AWS failure, said so a person understands it, with what to do next. */
export class AwsError extends SsmxError {
  override readonly name = 'AwsError';
  constructor(
    readonly kind: AwsErrorKind,
    readonly code: string,
    message: string,
    override readonly hint?: string,
  ) {
    super(message);
  }
}

const credentialCodes = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignatureException',
  'MissingAuthenticationTokenException',
  'ExpiredTokenException',
  'ExpiredToken',
  'InvalidClientTokenId',
]);

/** Maps whatever the SDK threw into an AwsError. */
export function toAwsError(error: unknown, operation: string): AwsError {
  if (error instanceof AwsError) return error;
  const e = error as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const code = e.Code ?? e.name ?? 'Error';
  const message = (e.message ?? String(error)).replace(/\s+/g, ' ').trim();
  const unreachable = connectionFailure(error, code, message, operation);
  if (unreachable) return unreachable;
  if (/sso/i.test(message) && /token|expired|login/i.test(message)) {
    return new AwsError('credentials', code, `the SSO session has no valid token: ${message}`, 'run `aws sso login` (with --profile for that profile), then try again');
  }
  if (code === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new AwsError(
      'credentials',
      code,
      `no usable AWS credentials: ${message}`,
      'set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, pass --profile, or run `aws sso login` for an SSO profile',
    );
  }
  if (code === 'ExpiredTokenException' || code === 'ExpiredToken') {
    return new AwsError('credentials', code, `the credentials have expired (${operation}: ${message})`, 'get fresh ones: `aws sso login` for an SSO profile, or a new session token');
  }
  if (credentialCodes.has(code)) {
    return new AwsError('credentials', code, `${operation} was refused: ${message}`, 'check the access key, secret and session token in use (and the clock of this machine)');
  }
  if (code === 'AccessDeniedException' || code === 'AccessDenied' || code === 'UnauthorizedOperation') {
    const action = /perform: ([\w-]+:\w+)/.exec(message)?.[1];
    const resource = /on resource: (\S+)/.exec(message)?.[1];
    return new AwsError(
      'permission',
      code,
      `${operation} is not allowed: ${message}`,
      action ? `the IAM identity needs ${action}${resource ? ` on ${resource}` : ''}` : `the IAM identity needs permission for ${operation}`,
    );
  }
  if (code === 'TargetNotConnected') {
    return new AwsError(
      'target',
      code,
      message,
      'the SSM agent on the target is not running or cannot reach Session Manager (agent stopped, no route to ssmmessages, or instance profile missing)',
    );
  }
  if (code === 'InvalidDocument') {
    return new AwsError('target', code, message, 'ssmx list shows the instances; aws ssm list-documents --filters Key=DocumentType,Values=Session the session documents');
  }
  if (code === 'InvalidTarget' || code === 'DoesNotExistException' || code === 'InvalidInstanceId' || code === 'ClusterNotFoundException') {
    return new AwsError('target', code, message);
  }
  if (code === 'TargetNotConnectedException') {
    return new AwsError('target', code, message, 'the ECS task needs enableExecuteCommand, a running SSM agent in the container, and a route to ssmmessages');
  }
  if (code === 'InvalidParameterException') {
    return new AwsError(/not found|does not exist/i.test(message) ? 'target' : 'usage', code, message);
  }
  if (code === 'ValidationException' || code === 'InvalidParameters' || code === 'SerializationException') {
    return new AwsError('usage', code, message);
  }
  if (code === 'ThrottlingException' || code === 'TooManyRequestsException') {
    return new AwsError('throttling', code, `${operation} was throttled: ${message}`, 'try again in a moment');
  }
  if (/Region is missing|Region not accepted: region="" /i.test(message)) {
    return new AwsError('usage', 'RegionMissing', 'no AWS region is set', 'pass --region, set AWS_REGION, or set a region in the profile');
  }
  return new AwsError('service', code, `${operation} failed: ${message}`);
}

const ENDPOINT_HINT = 'check --endpoint-url / AWS_ENDPOINT_URL (it must be the AWS API endpoint) and the network path (proxy, firewall, VPN)';

/**
 * An endpoint that could not be reached, did not answer in time, or answered in a way no AWS API
 * does (an HTML page, an empty 404, plain HTTP to an https:// URL): one line that names the
 * endpoint and what happened, never the SDK's internals. Undefined for an answer AWS gave.
 */
function connectionFailure(error: unknown, code: string, message: string, operation: string): AwsError | undefined {
  const endpoint = (error as { [ENDPOINT_OF_ERROR]?: string } | undefined)?.[ENDPOINT_OF_ERROR] ?? 'the AWS endpoint';
  const response = (error as { $response?: { statusCode?: number; headers?: Record<string, string> } }).$response;
  const status = response?.statusCode ?? (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const seconds = (ms: string | undefined) => (ms ? `${Number(ms) / 1000} s` : 'the time allowed');
  if (code === 'TimeoutError') {
    const connect = /establish a connection .* timeout of (\d+) ms/.exec(message);
    if (connect) return new AwsError('connection', code, `cannot reach ${endpoint}: no connection within ${seconds(connect[1])}`, `${ENDPOINT_HINT}; --connect-timeout sets how long to wait`);
    const idle = /after (\d+) ms of inactivity/.exec(message);
    return new AwsError('connection', code, `${endpoint} took the connection but did not answer ${operation} within ${seconds(idle?.[1])}`, `${ENDPOINT_HINT}; --read-timeout sets how long to wait`);
  }
  // A certificate that does not verify: a company's or a private endpoint's CA, not yet trusted.
  const certificate = /unable to verify the first certificate|unable to get local issuer certificate|self[- ]signed certificate[^,;]*|certificate has expired|Hostname\/IP does not match certificate's altnames[^\n]*/i.exec(message);
  if (certificate) return new AwsError('connection', code, `cannot trust ${endpoint}: ${certificate[0]}`, 'to trust a private CA: AWS_CA_BUNDLE, the profile\'s ca_bundle, or NODE_EXTRA_CA_CERTS');
  // A proxy URL ssmx cannot use (src/net/proxy.ts): the user's setting to fix, not the network.
  const badProxy = /the proxy \S+ is not (?:an http:\/\/ proxy|a URL)[^\n]*/.exec(message);
  if (badProxy) return new AwsError('usage', 'ProxyConfig', badProxy[0], 'give --proxy or HTTPS_PROXY as http://[user:password@]host:port');
  // A proxy's own answer or failure, said as it is (src/net/proxy-agent.ts): it names the proxy.
  const proxy = /the proxy \S+ (answered|cannot be reached|closed|did not|sent)[^\n]*/.exec(message);
  if (proxy) return new AwsError('connection', code, `cannot reach ${endpoint}: ${proxy[0]}`, 'check --proxy / HTTPS_PROXY, and no_proxy for endpoints to reach directly');
  const network = /ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|socket hang up/i.exec(message);
  if (network) return new AwsError('connection', code, `cannot reach ${endpoint}: ${network[0]}`, ENDPOINT_HINT);
  if (/wrong version number|packet length too long|EPROTO/i.test(message)) {
    return new AwsError('connection', code, `${endpoint} does not speak TLS (is it an http:// endpoint?)`, ENDPOINT_HINT);
  }
  if (/Deserialization error|Unexpected token|is not valid JSON|Unexpected end of JSON/i.test(message)) {
    const type = response?.headers?.['content-type'];
    return new AwsError('connection', code, `${endpoint} answered ${operation} with something that is not an AWS response (HTTP ${status ?? '?'}${type ? `, ${type.split(';')[0]}` : ''})`, ENDPOINT_HINT);
  }
  if ((code === 'UnknownError' || code === 'Unknown' || /^UnknownError/.test(message)) && status !== undefined) {
    return new AwsError('connection', code, `${endpoint} answered ${operation} with HTTP ${status} and no AWS error in it`, ENDPOINT_HINT);
  }
  return undefined;
}
