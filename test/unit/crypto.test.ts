import { describe, expect, it } from 'vitest';
import { decodeEncChallenge, encodeEncChallenge, open, seal, splitDataKey } from '../../src/protocol/crypto.js';
import { ProtocolError } from '../../src/protocol/errors.js';

const dataKey = Buffer.from(Array.from({ length: 64 }, (_, i) => i));

describe('KMS session encryption (docs/protocol.md §5)', () => {
  it('splits the data key: the client decrypts with bytes 0–31 and encrypts with 32–63, the agent the other way', () => {
    const client = splitDataKey(dataKey, 'client');
    const agent = splitDataKey(dataKey, 'agent');
    if (client instanceof ProtocolError || agent instanceof ProtocolError) throw new Error('split failed');
    expect(client.decryptKey).toEqual(dataKey.subarray(0, 32));
    expect(client.encryptKey).toEqual(dataKey.subarray(32));
    expect(agent.encryptKey).toEqual(client.decryptKey);
    expect(agent.decryptKey).toEqual(client.encryptKey);
    expect(splitDataKey(dataKey.subarray(0, 32), 'client')).toBeInstanceOf(ProtocolError);
  });

  it('seals as nonce(12) ‖ ciphertext ‖ tag(16), AES-256-GCM without AAD, and opens it again', () => {
    const key = dataKey.subarray(32);
    const nonce = Buffer.alloc(12, 7);
    const sealed = seal(key, Buffer.from('hello'), nonce);
    expect(sealed.length).toBe(5 + 28);
    expect(sealed.subarray(0, 12)).toEqual(nonce);
    // The same key, nonce and text always give the same bytes (AES-GCM is deterministic for them).
    expect(sealed.toString('hex')).toBe(seal(key, Buffer.from('hello'), nonce).toString('hex'));
    expect(open(key, sealed)).toEqual(Buffer.from('hello'));
  });

  it('a fresh nonce each time; a wrong key, a flipped bit or a short payload is a typed error', () => {
    const key = dataKey.subarray(32);
    const a = seal(key, Buffer.from('x'));
    const b = seal(key, Buffer.from('x'));
    expect(a.subarray(0, 12).equals(b.subarray(0, 12))).toBe(false);
    expect(open(dataKey.subarray(0, 32), a)).toBeInstanceOf(ProtocolError);
    const flipped = Buffer.from(a);
    flipped[14]! ^= 1;
    expect(open(key, flipped)).toBeInstanceOf(ProtocolError);
    expect(open(key, Buffer.alloc(27))).toBeInstanceOf(ProtocolError);
  });

  it('the challenge payload is {"Challenge":"<base64>"}', () => {
    const payload = encodeEncChallenge(Buffer.from([0, 1, 2, 255]));
    expect(payload.toString()).toBe('{"Challenge":"AAEC/w=="}');
    expect(decodeEncChallenge(payload)).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(decodeEncChallenge(Buffer.from('{"Challenge":"not base64!"}'))).toBeInstanceOf(ProtocolError);
  });
});
