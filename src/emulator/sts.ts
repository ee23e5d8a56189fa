import { randomBytes } from 'node:crypto';
import { ApiError } from './api.js';
import type { EmulatorConfig, PrincipalConfig } from './config.js';
import { parseForm, xmlDocument } from './query.js';

const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';

/**
 * STS `AssumeRole` (query protocol): any role, for an hour; with an MFA serial number, only the
 * configured code passes. The credentials it issues are principals of the emulator from then on.
 */
export function assumeRole(body: Buffer, config: EmulatorConfig): string {
  const form = parseForm(body);
  const roleArn = form.get('RoleArn');
  const sessionName = form.get('RoleSessionName');
  if (!roleArn || !sessionName) throw new ApiError('ValidationError', 'RoleArn and RoleSessionName are required', 400);
  const serial = form.get('SerialNumber');
  if (serial !== undefined && form.get('TokenCode') !== config.mfaCode) {
    throw new ApiError('AccessDenied', `MultiFactorAuthentication failed with invalid MFA one time pass code.`, 403);
  }
  const principal: PrincipalConfig = {
    accessKeyId: `ASIA${randomBytes(8).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: randomBytes(60).toString('base64'),
  };
  config.principals.push(principal);
  const roleName = roleArn.split('/').pop() ?? 'role';
  return xmlDocument('AssumeRoleResponse', STS_NAMESPACE, {
    AssumeRoleResult: {
      Credentials: {
        AccessKeyId: principal.accessKeyId,
        SecretAccessKey: principal.secretAccessKey,
        SessionToken: principal.sessionToken!,
        Expiration: new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
      AssumedRoleUser: { AssumedRoleId: `AROAEMULATOR:${sessionName}`, Arn: `arn:aws:sts::123456789012:assumed-role/${roleName}/${sessionName}` },
    },
    ResponseMetadata: { RequestId: 'ssmx-emulator-request' },
  });
}

export function stsErrorXml(error: ApiError): string {
  const text = error.message.replace(/[<&>]/g, ' ');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${STS_NAMESPACE}"><Error><Type>Sender</Type><Code>${error.code}</Code><Message>${text}</Message></Error><RequestId>ssmx-emulator-request</RequestId></ErrorResponse>`;
}

/** STS `GetCallerIdentity`: who signed the request, as the service says it. */
export function getCallerIdentity(caller: string): string {
  return xmlDocument('GetCallerIdentityResponse', STS_NAMESPACE, {
    GetCallerIdentityResult: { Arn: caller, UserId: caller.split('/').pop() ?? caller, Account: '123456789012' },
    ResponseMetadata: { RequestId: 'ssmx-emulator-request' },
  });
}
