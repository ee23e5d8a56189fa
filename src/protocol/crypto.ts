import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { PayloadType } from './constants.js';
import { ProtocolError } from './errors.js';
import { parseObject, stringField } from './json.js';

/** KMS session encryption (docs/protocol.md §5): AES-256-GCM, nonce ‖ ciphertext ‖ tag, no AAD. */
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const KEY_BYTES = 32;
/** GenerateDataKey's NumberOfBytes: two 32-byte keys. */
export const DATA_KEY_BYTES = 64;

/** Payload types encrypted when the session is: client → agent Output; agent → client Output, StdErr, ExitCode. */
export const CLIENT_ENCRYPTED_TYPES: ReadonlySet<number> = new Set([PayloadType.Output]);
export const AGENT_ENCRYPTED_TYPES: ReadonlySet<number> = new Set([PayloadType.Output, PayloadType.StdErr, PayloadType.ExitCode]);

export interface SessionKeys {
  encryptKey: Buffer;
  decryptKey: Buffer;
}

/**
 * The data key's two halves: the client decrypts with bytes 0–31 and encrypts with 32–63; the
 * agent the other way round.
 */
export function splitDataKey(plaintext: Uint8Array, side: 'client' | 'agent'): SessionKeys | ProtocolError {
  if (plaintext.length !== DATA_KEY_BYTES) return new ProtocolError('BAD_PAYLOAD', `the data key has ${plaintext.length} bytes, not ${DATA_KEY_BYTES}`);
  const first = Buffer.from(plaintext.subarray(0, KEY_BYTES));
  const second = Buffer.from(plaintext.subarray(KEY_BYTES));
  return side === 'client' ? { decryptKey: first, encryptKey: second } : { encryptKey: first, decryptKey: second };
}

export function seal(key: Buffer, plaintext: Uint8Array, nonce: Buffer = randomBytes(NONCE_BYTES)): Buffer {
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

export function open(key: Buffer, sealed: Uint8Array): Buffer | ProtocolError {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) return new ProtocolError('BAD_PAYLOAD', `an encrypted payload of ${sealed.length} bytes is too short`);
  const bytes = Buffer.from(sealed);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, NONCE_BYTES));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return new ProtocolError('BAD_PAYLOAD', 'an encrypted payload does not decrypt with the session key (wrong key, or altered)');
  }
}

/** EncChallengeRequest / EncChallengeResponse payloads: `{"Challenge":"<base64>"}`. */
export function encodeEncChallenge(challenge: Uint8Array): Buffer {
  return Buffer.from(JSON.stringify({ Challenge: Buffer.from(challenge).toString('base64') }));
}

export function decodeEncChallenge(payload: Uint8Array): Buffer | ProtocolError {
  const object = parseObject(payload, 'encryption challenge');
  if (object instanceof ProtocolError) return object;
  const text = stringField(object, 'Challenge');
  if (text === undefined || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return new ProtocolError('BAD_PAYLOAD', 'encryption challenge: Challenge is not base64');
  return Buffer.from(text, 'base64');
}

/**
 * One side's cipher for a session: built from the KMS data key, it seals what this side sends and
 * opens what the peer sends, each for the payload types that are encrypted that way (docs/protocol.md §5).
 */
export class SessionCipher {
  private constructor(
    private readonly keys: SessionKeys,
    private readonly sealed: ReadonlySet<number>,
    private readonly opened: ReadonlySet<number>,
  ) {}

  static fromDataKey(plaintext: Uint8Array, side: 'client' | 'agent'): SessionCipher | ProtocolError {
    const keys = splitDataKey(plaintext, side);
    if (keys instanceof ProtocolError) return keys;
    return side === 'client'
      ? new SessionCipher(keys, CLIENT_ENCRYPTED_TYPES, AGENT_ENCRYPTED_TYPES)
      : new SessionCipher(keys, AGENT_ENCRYPTED_TYPES, CLIENT_ENCRYPTED_TYPES);
  }

  /** A payload this side sends, as it goes on the wire. */
  outgoing(payloadType: number, payload: Buffer): Buffer {
    return this.sealed.has(payloadType) ? seal(this.keys.encryptKey, payload) : payload;
  }

  /** A payload from the peer, as the session sees it. */
  incoming(payloadType: number, payload: Buffer): Buffer | ProtocolError {
    return this.opened.has(payloadType) ? open(this.keys.decryptKey, payload) : payload;
  }

  /** The challenge's two halves (docs/protocol.md §5): open with our decryption key, seal with our encryption key. */
  openChallenge(sealed: Buffer): Buffer | ProtocolError {
    return open(this.keys.decryptKey, sealed);
  }

  sealChallenge(plain: Buffer, key: Buffer = this.keys.encryptKey): Buffer {
    return seal(key, plain);
  }
}
