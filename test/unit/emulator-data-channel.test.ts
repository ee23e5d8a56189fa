import { describe, expect, it } from 'vitest';
import { signDataChannelUpgrade } from '../../src/aws/sigv4.js';
import { agentDecryptContext, encrypts, kmsActionParameters } from '../../src/emulator/agent/agent-session.js';
import { defaultConfig } from '../../src/emulator/config.js';
import { checkDataChannelUpgrade, presignStreamUrl } from '../../src/emulator/data-channel-auth.js';

const config = { ...defaultConfig(), region: 'eu-west-1' };
const URL_ = 'ws://127.0.0.1:4566/v1/data-channel/alice-0123?role=publish_subscribe&cell-number=1';
const NOW = Date.UTC(2026, 11, 7, 9, 30, 15);
const keys = { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey };

/** The request the gateway sees for an upgrade ssmx signed. */
function upgrade(url: string, headers: Record<string, string>) {
  const parsed = new URL(url);
  return { method: 'GET', url: `${parsed.pathname}${parsed.search}`, headers: { host: parsed.host, ...headers } };
}

describe("the emulator's gateway checks the data channel's upgrade", () => {
  it('takes what ssmx signs, and refuses another secret, region or an old signature', () => {
    const good = signDataChannelUpgrade(URL_, keys, 'eu-west-1', new Date(NOW));
    expect(checkDataChannelUpgrade(upgrade(URL_, good), config, NOW)).toMatchObject({ accept: true, signed: true, presigned: false, accessKeyId: config.accessKeyId, amzDate: '20261207T093015Z' });
    const wrongSecret = signDataChannelUpgrade(URL_, { ...keys, secretAccessKey: 'nope' }, 'eu-west-1', new Date(NOW));
    expect(checkDataChannelUpgrade(upgrade(URL_, wrongSecret), config, NOW)).toMatchObject({ accept: false, status: 403, reason: expect.stringMatching(/^InvalidSignatureException/) });
    const otherRegion = signDataChannelUpgrade(URL_, keys, 'us-east-1', new Date(NOW));
    expect(checkDataChannelUpgrade(upgrade(URL_, otherRegion), config, NOW)).toMatchObject({ accept: false });
    expect(checkDataChannelUpgrade(upgrade(URL_, good), config, NOW + 16 * 60_000)).toMatchObject({ accept: false });
    // Another query than the one signed (another cell): the signature no longer matches.
    expect(checkDataChannelUpgrade(upgrade(URL_.replace('cell-number=1', 'cell-number=2'), good), config, NOW)).toMatchObject({ accept: false });
  });

  it('an unsigned upgrade passes unless signatures are required', () => {
    expect(checkDataChannelUpgrade(upgrade(URL_, {}), config, NOW)).toMatchObject({ accept: true, signed: false });
    expect(checkDataChannelUpgrade(upgrade(URL_, {}), { ...config, requireSignedDataChannel: true }, NOW)).toMatchObject({ accept: false, status: 403 });
  });

  it('a presigned StreamUrl it issued passes unsigned in both modes, and not once changed or expired', () => {
    const presigned = presignStreamUrl(URL_, keys, 'eu-west-1', NOW);
    expect(new URL(presigned).searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    const strict = { ...config, requireSignedDataChannel: true };
    expect(checkDataChannelUpgrade(upgrade(presigned, {}), strict, NOW + 1000)).toMatchObject({ accept: true, presigned: true, signed: false });
    expect(checkDataChannelUpgrade(upgrade(presigned.replace('alice-0123', 'alice-0124'), {}), strict, NOW)).toMatchObject({ accept: false });
    expect(checkDataChannelUpgrade(upgrade(presigned, {}), strict, NOW + 301_000)).toMatchObject({ accept: false, reason: expect.stringMatching(/expired/) });
  });
});

describe("the emulator's agent and KMS (agent 3.3.1142.0)", () => {
  it('never encrypts a Port session (sessionplugin.go isEncryptionEnabled)', () => {
    expect(encrypts('alias/k', 'Port')).toBe(false);
    expect(encrypts('alias/k', 'Standard_Stream')).toBe(true);
    expect(encrypts('alias/k', 'NonInteractiveCommands')).toBe(true);
    expect(encrypts(undefined, 'Standard_Stream')).toBe(false);
  });

  it('sends a 16-byte base64 challenge from 3.3.808.0 on, none before', () => {
    const sixteen = (size: number) => Buffer.alloc(size, 0xab);
    expect(kmsActionParameters('alias/k', '3.3.808.0', sixteen)).toEqual({ KMSKeyId: 'alias/k', Challenge: Buffer.alloc(16, 0xab).toString('base64') });
    expect(kmsActionParameters('alias/k', '3.3.1142.0').Challenge).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(kmsActionParameters('alias/k', '3.2.582.0')).toEqual({ KMSKeyId: 'alias/k' });
  });

  it('decrypts under the challenge only when the client acknowledged it (blockcipher.go UpdateEncryptionKey)', () => {
    expect(agentDecryptContext('s', 'i-1', 'q83v', true)).toEqual({ 'aws:ssm:SessionId': 's', 'aws:ssm:TargetId': 'i-1', 'aws:ssm:RandomChallenge': 'q83v' });
    expect(agentDecryptContext('s', 'i-1', 'q83v', false)).toEqual({ 'aws:ssm:SessionId': 's', 'aws:ssm:TargetId': 'i-1' });
    expect(agentDecryptContext('s', 'i-1', undefined, true)).toEqual({ 'aws:ssm:SessionId': 's', 'aws:ssm:TargetId': 'i-1' });
  });
});
