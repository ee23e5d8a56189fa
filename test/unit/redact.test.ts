import { describe, expect, it } from 'vitest';
import { redact } from '../../src/aws/redact.js';

describe('redaction for --debug', () => {
  it('hides tokens, keys, signatures and secrets by key, and long secret-like runs in text', () => {
    const token = 'n6lINlbRlKs46ys0YxSLck6JO/oGWJbCR9JM13FYpyg1OwqG3DpLjE4FMHP2Nksb40jucgnZ3dW9nq+k+abLwuMa';
    const out = redact({
      SessionId: 'user-0123456789abcdef0',
      TokenValue: token,
      Credentials: { AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: 'abc', SessionToken: 'def' },
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIA/…, Signature=0123' },
      message: `the token ${token} was refused`,
      NextToken: undefined,
      StreamUrl: 'wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/user-0123456789abcdef0?role=publish_subscribe',
      presigned: 'https://example.com/x?X-Amz-Signature=abcdef&X-Amz-Security-Token=ghij&part=1',
    });
    const text = JSON.stringify(out);
    expect(text).not.toContain(token);
    expect(text).not.toMatch(/ASIAEXAMPLE|"abc"|"def"|Signature=0123|Signature=abcdef|ghij/);
    expect(out.SessionId).toBe('user-0123456789abcdef0');
    expect(out.NextToken).toBeUndefined();
    expect(out.StreamUrl).toBe('wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/user-0123456789abcdef0?role=publish_subscribe');
    expect(out.presigned).toContain('part=1');
    expect(out.message).toBe('the token [redacted] was refused');
  });

  it('a KMS data key never shows, whatever its field is called: binary fields show only their size', () => {
    const key = new Uint8Array(64).fill(7);
    const out = redact({ Plaintext: key, CiphertextBlob: new Uint8Array(16), KeyId: 'alias/ssm-sessions', Other: { Blob: key } });
    expect(out).toEqual({ Plaintext: '[redacted]', CiphertextBlob: '[16 bytes]', KeyId: 'alias/ssm-sessions', Other: { Blob: '[64 bytes]' } });
  });
});
