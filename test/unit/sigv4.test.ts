import { describe, expect, it } from 'vitest';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '../support/smithy-sha256.js';
import { verifySigV4 } from '../../src/emulator/sigv4.js';

describe('SigV4 verification', () => {
  it('accepts the AWS test-suite vector get-vanilla', () => {
    const result = verifySigV4(
      {
        method: 'GET',
        url: '/',
        headers: {
          host: 'example.amazonaws.com',
          'x-amz-date': '20150830T123600Z',
          authorization:
            'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
        },
        body: Buffer.alloc(0),
      },
      {
        region: 'us-east-1', service: 'service', now: Date.UTC(2015, 7, 30, 12, 36),
        secretFor: (id) => (id === 'AKIDEXAMPLE' ? 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' : undefined),
      },
    );
    expect(result).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE', region: 'us-east-1', service: 'service' });
  });

  async function signed(secret: string, body = '{"Target":"i-1"}') {
    const signer = new SignatureV4({
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: secret },
      region: 'eu-west-1', service: 'ssm', sha256: Sha256,
    });
    const request = await signer.sign({
      method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: 4566, path: '/',
      headers: {
        host: '127.0.0.1:4566',
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'AmazonSSM.StartSession',
      },
      body,
    });
    const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
    return { method: 'POST', url: '/', headers, body: Buffer.from(body) };
  }
  const expected = { region: 'eu-west-1', service: 'ssm', now: Date.now(), secretFor: (id: string) => (id === 'AKIDTEST' ? 'right' : undefined) };

  it('accepts what the SDK signer signs', async () => {
    expect(verifySigV4(await signed('right'), expected)).toMatchObject({ ok: true });
  });

  it('rejects a wrong secret, a changed body, an unknown key, another region, and no signature', async () => {
    expect(verifySigV4(await signed('wrong'), expected)).toMatchObject({ ok: false, code: 'InvalidSignatureException' });
    const tampered = await signed('right');
    tampered.body = Buffer.from('{"Target":"i-2"}');
    expect(verifySigV4(tampered, expected)).toMatchObject({ ok: false, code: 'InvalidSignatureException' });
    expect(verifySigV4(await signed('right'), { ...expected, secretFor: () => undefined })).toMatchObject({ ok: false, code: 'UnrecognizedClientException' });
    expect(verifySigV4(await signed('right'), { ...expected, region: 'us-east-1' })).toMatchObject({ ok: false, code: 'InvalidSignatureException' });
    expect(verifySigV4({ method: 'POST', url: '/', headers: {}, body: Buffer.alloc(0) }, expected)).toMatchObject({ ok: false, code: 'MissingAuthenticationTokenException' });
  });

  it('rejects a signature older than 15 minutes', async () => {
    expect(verifySigV4(await signed('right'), { ...expected, now: Date.now() + 16 * 60_000 })).toMatchObject({ ok: false, code: 'InvalidSignatureException' });
  });
});
