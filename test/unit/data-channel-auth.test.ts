import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '../support/smithy-sha256.js';
import { describe, expect, it } from 'vitest';
import { sessionEncryptionContext } from '../../src/aws/kms.js';
import { isPresignedUrl, signDataChannelUpgrade, type Credentials } from '../../src/aws/sigv4.js';
import { checkStreamUrl } from '../../src/aws/stream-url.js';


const STREAM_URL = 'wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/alice-0123456789abcdef0?role=publish_subscribe&cell-number=AAEAAQ%3D%3D';
const WHEN = new Date(Date.UTC(2026, 11, 7, 9, 30, 15));
const LONG_TERM: Credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const TEMPORARY: Credentials = { ...LONG_TERM, accessKeyId: 'ASIAEXAMPLE', sessionToken: 'FwoGZXIvYXdzEXAMPLE//token+with/slashes=' };

/**
 * What @smithy/signature-v4 (the AWS SDK for JavaScript's signer, an independent implementation)
 * makes of the same GET: the plugin's signer signs the same fields (service ssmmessages, an empty
 * payload's hash, host and x-amz-date and the token), and adds no x-amz-content-sha256.
 */
async function oracle(streamUrl: string, credentials: Credentials, region: string) {
  const url = new URL(streamUrl);
  const signer = new SignatureV4({ credentials, region, service: 'ssmmessages', sha256: Sha256, applyChecksum: false });
  const signed = await signer.sign(
    {
      method: 'GET',
      protocol: url.protocol,
      hostname: url.hostname,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { host: url.host },
    },
    { signingDate: WHEN },
  );
  return Object.fromEntries(Object.entries(signed.headers).map(([name, value]) => [name.toLowerCase(), value]));
}

describe('the signed WebSocket upgrade of the data channel (docs/protocol.md §1)', () => {
  it('long-term keys: the headers the SDK signer computes for the same request, byte for byte', async () => {
    const headers = signDataChannelUpgrade(STREAM_URL, LONG_TERM, 'eu-west-1', WHEN);
    const expected = await oracle(STREAM_URL, LONG_TERM, 'eu-west-1');
    expect(headers).toEqual({ 'x-amz-date': '20261207T093015Z', authorization: expected.authorization });
    expect(headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261207\/eu-west-1\/ssmmessages\/aws4_request, SignedHeaders=host;x-amz-date, Signature=[0-9a-f]{64}$/);
    expect(expected['x-amz-content-sha256']).toBeUndefined();
  });

  it('temporary credentials: the session token travels and is signed', async () => {
    const headers = signDataChannelUpgrade(STREAM_URL, TEMPORARY, 'eu-west-1', WHEN);
    const expected = await oracle(STREAM_URL, TEMPORARY, 'eu-west-1');
    expect(headers['x-amz-security-token']).toBe(TEMPORARY.sessionToken);
    expect(headers.authorization).toBe(expected.authorization);
    expect(headers.authorization).toContain('SignedHeaders=host;x-amz-date;x-amz-security-token,');
  });

  it('the query, the host (with a port that is not the default) and the region are all in the signature', async () => {
    const other = 'ws://127.0.0.1:4566/v1/data-channel/bob-0fedcba987654321?role=publish_subscribe&cell-number=2';
    expect(signDataChannelUpgrade(other, LONG_TERM, 'us-east-1', WHEN).authorization).toBe((await oracle(other, LONG_TERM, 'us-east-1')).authorization);
    const signatureOf = (url: string, region = 'eu-west-1') => /Signature=(\w+)/.exec(signDataChannelUpgrade(url, LONG_TERM, region, WHEN).authorization!)![1];
    expect(signatureOf(STREAM_URL.replace('cell-number=AAEAAQ%3D%3D', 'cell-number=AAEAAg%3D%3D'))).not.toBe(signatureOf(STREAM_URL));
    expect(signatureOf(STREAM_URL, 'eu-west-2')).not.toBe(signatureOf(STREAM_URL));
  });

  it('a presigned URL is recognised by any of its query parameters, and only by those', () => {
    for (const name of ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature', 'X-Amz-Security-Token']) {
      expect(isPresignedUrl(`${STREAM_URL}&${name}=x`), name).toBe(true);
    }
    expect(isPresignedUrl(STREAM_URL)).toBe(false);
    expect(isPresignedUrl(`${STREAM_URL}&x-amz-signature-like=1`)).toBe(false);
  });
});

describe('where the data channel may go (src/aws/stream-url.ts)', () => {
  const rule = { region: 'us-east-1', named: [] as string[] };
  const path = '/v1/data-channel/alice-0123456789abcdef0?role=publish_subscribe';

  it('accepts each AWS form of the Session Manager endpoint in the session\'s partition', () => {
    for (const host of [
      'ssmmessages.us-east-1.amazonaws.com',
      'ssmmessages.eu-west-3.amazonaws.com',
      'ssmmessages-fips.us-east-1.amazonaws.com',
      'ssmmessages.us-east-1.api.aws',
      'ssmmessages-fips.us-east-1.api.aws',
      'vpce-0123456789abcdef0-abcd1234.ssmmessages.us-east-1.vpce.amazonaws.com',
      'vpce-0123456789abcdef0-abcd1234-us-east-1a.ssmmessages.us-east-1.vpce.amazonaws.com',
      'ssmmessages.us-east-1.amazonaws.com:443',
    ]) {
      expect(checkStreamUrl(`wss://${host}${path}`, rule), host).toEqual({ trusted: true });
    }
    expect(checkStreamUrl(`wss://ssmmessages.cn-north-1.amazonaws.com.cn${path}`, { region: 'cn-northwest-1', named: [] })).toEqual({ trusted: true });
    expect(checkStreamUrl(`wss://ssmmessages.us-gov-west-1.amazonaws.com${path}`, { region: 'us-gov-east-1', named: [] })).toEqual({ trusted: true });
  });

  it('refuses look-alikes, other partitions, userinfo tricks, other ports and plain ws', () => {
    for (const url of [
      `wss://ssmmessages.us-east-1.amazonaws.com.evil.example${path}`,
      `wss://evil.example/ssmmessages.us-east-1.amazonaws.com${path}`,
      `wss://ssmmessages.us-east-1.amazonaws.com@evil.example${path}`,
      `wss://user:pass@ssmmessages.us-east-1.amazonaws.com${path}`,
      `wss://ssmmessages.us-east-1.amazonaws.com:8443${path}`,
      `ws://ssmmessages.us-east-1.amazonaws.com${path}`,
      `wss://xssmmessages.us-east-1.amazonaws.com${path}`,
      `wss://ssmmessages.us-east-1.amazonaws.co${path}`,
      `wss://ssm.us-east-1.amazonaws.com${path}`,
      `wss://ssmmessages.cn-north-1.amazonaws.com.cn${path}`,
      `wss://ssmmessages.us-gov-west-1.amazonaws.com${path}`,
      `wss://vpce-0123.ssmmessages.us-east-1.vpce.amazonaws.com.evil.example${path}`,
      `wss://127.0.0.1:4566${path}`,
      `https://ssmmessages.us-east-1.amazonaws.com${path}`,
      'not a url',
    ]) {
      const verdict = checkStreamUrl(url, rule);
      expect(verdict.trusted, url).toBe(false);
    }
    expect(checkStreamUrl(`wss://ssmmessages.us-east-1.amazonaws.com.evil.example${path}`, rule)).toMatchObject({ host: 'ssmmessages.us-east-1.amazonaws.com.evil.example' });
    expect(checkStreamUrl(`wss://ssmmessages.us-east-1.amazonaws.com@evil.example${path}`, rule)).toMatchObject({ host: 'evil.example', reason: expect.stringMatching(/user name/) });
  });

  it('an endpoint the user named is trusted at its host and port only, with its scheme', () => {
    const named = { region: 'us-east-1', named: ['http://127.0.0.1:4566', 'https://vpce-0abc-ssmmessages.example.internal'] };
    expect(checkStreamUrl(`ws://127.0.0.1:4566${path}`, named)).toEqual({ trusted: true });
    expect(checkStreamUrl(`wss://vpce-0abc-ssmmessages.example.internal${path}`, named)).toEqual({ trusted: true });
    expect(checkStreamUrl(`wss://vpce-0abc-ssmmessages.example.internal:443${path}`, named)).toEqual({ trusted: true });
    expect(checkStreamUrl(`ws://127.0.0.1:4567${path}`, named).trusted).toBe(false);
    expect(checkStreamUrl(`wss://127.0.0.1:4566${path}`, named).trusted).toBe(false);
    expect(checkStreamUrl(`ws://127.0.0.2:4566${path}`, named).trusted).toBe(false);
    expect(checkStreamUrl(`ws://vpce-0abc-ssmmessages.example.internal${path}`, named).trusted).toBe(false);
  });
});

describe('the KMS encryption context (docs/protocol.md §5)', () => {
  it('the session and target, and the agent\'s random challenge exactly as sent when there is one', () => {
    expect(sessionEncryptionContext({ sessionId: 'alice-0123', targetId: 'i-0123456789abcdef0' })).toEqual({ 'aws:ssm:SessionId': 'alice-0123', 'aws:ssm:TargetId': 'i-0123456789abcdef0' });
    expect(sessionEncryptionContext({ sessionId: 'alice-0123', targetId: 'i-0123456789abcdef0', challenge: 'q83vEjRWeJCrze8SNFZ4kA==' })).toEqual({
      'aws:ssm:SessionId': 'alice-0123',
      'aws:ssm:TargetId': 'i-0123456789abcdef0',
      'aws:ssm:RandomChallenge': 'q83vEjRWeJCrze8SNFZ4kA==',
    });
  });
});
