export type AwsErrorKind = 'credentials' | 'permission' | 'target' | 'usage' | 'throttling' | 'service';

/** An AWS failure, said so a person understands it, with what to do next. */
export class AwsError extends Error {
  override readonly name = 'AwsError';
  constructor(
    readonly kind: AwsErrorKind,
    readonly code: string,
    message: string,
    readonly hint?: string,
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
  if (code === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new AwsError(
      'credentials',
      code,
      `no usable AWS credentials: ${message}`,
      'set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, pass --profile, or run `aws sso login` for an SSO profile',
    );
  }
  if (credentialCodes.has(code)) {
    return new AwsError('credentials', code, `${operation} was refused: ${message}`, 'check the access key, secret and session token in use (and the clock of this machine)');
  }
  if (code === 'AccessDeniedException' || code === 'AccessDenied') {
    return new AwsError('permission', code, `${operation} is not allowed: ${message}`, `the IAM identity needs ssm:${operation} on the target`);
  }
  if (code === 'TargetNotConnected') {
    return new AwsError(
      'target',
      code,
      message,
      'the SSM agent on the target is not running or cannot reach Session Manager (agent stopped, no route to ssmmessages, or instance profile missing)',
    );
  }
  if (code === 'InvalidDocument' || code === 'InvalidTarget' || code === 'DoesNotExistException' || code === 'InvalidInstanceId') {
    return new AwsError('target', code, message);
  }
  if (code === 'ValidationException' || code === 'InvalidParameters' || code === 'SerializationException') {
    return new AwsError('usage', code, message);
  }
  if (code === 'ThrottlingException' || code === 'TooManyRequestsException') {
    return new AwsError('throttling', code, `${operation} was throttled: ${message}`, 'try again in a moment');
  }
  if (/Region is missing/i.test(message)) {
    return new AwsError('usage', 'RegionMissing', 'no AWS region is set', 'pass --region, set AWS_REGION, or set a region in the profile');
  }
  if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|socket hang up/i.test(message)) {
    return new AwsError('service', code, `cannot reach the SSM endpoint: ${message}`, 'check --endpoint-url / AWS_ENDPOINT_URL and the network');
  }
  return new AwsError('service', code, `${operation} failed: ${message}`);
}
