import { createHash, randomBytes } from 'node:crypto';
import { open, seal } from '../protocol/crypto.js';
import { ProtocolError } from '../protocol/errors.js';
import { ApiError } from './api.js';
import type { EmulatorConfig } from './config.js';

/** The emulator's stand-in for a KMS key: a fixed AES key per key id, never leaving the emulator. */
const masterKey = (keyId: string) => createHash('sha256').update(`ssmx-emulator-kms:${keyId}`).digest();

const knownKeys = (config: EmulatorConfig): string[] => config.kmsKeys ?? (config.kmsKeyId ? [config.kmsKeyId] : []);

/**
 * KMS `GenerateDataKey` (JSON 1.1, TrentService): a random data key, and the same key wrapped
 * under the master key together with its key id and encryption context, which Decrypt checks.
 */
export function generateDataKey(input: Record<string, unknown>, config: EmulatorConfig): unknown {
  const keyId = typeof input.KeyId === 'string' ? input.KeyId : '';
  if (!keyId) throw new ApiError('ValidationException', 'KeyId is required.');
  if (!knownKeys(config).includes(keyId)) throw new ApiError('NotFoundException', `Key '${keyId}' does not exist`);
  const bytes = typeof input.NumberOfBytes === 'number' ? input.NumberOfBytes : 32;
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 1024) throw new ApiError('ValidationException', 'NumberOfBytes must be 1 to 1024.');
  const plaintext = randomBytes(bytes);
  const context = (input.EncryptionContext ?? {}) as Record<string, string>;
  const wrapped = seal(masterKey(keyId), Buffer.from(JSON.stringify({ keyId, context, key: plaintext.toString('base64') })));
  return {
    KeyId: `arn:aws:kms:${config.region}:123456789012:key/${keyId.replace(/^alias\//, '')}`,
    Plaintext: plaintext.toString('base64'),
    CiphertextBlob: Buffer.concat([Buffer.from(keyId.padEnd(64).slice(0, 64)), wrapped]).toString('base64'),
  };
}

/** The agent's `kms:Decrypt` of the wrapped key: only under the same encryption context. */
export function decryptDataKey(blob: Buffer, expectedContext: Record<string, string>): Buffer | string {
  const keyId = blob.subarray(0, 64).toString().trimEnd();
  const opened = open(masterKey(keyId), blob.subarray(64));
  if (opened instanceof ProtocolError) return 'InvalidCiphertextException: the data key does not decrypt';
  const { context, key } = JSON.parse(opened.toString()) as { context: Record<string, string>; key: string };
  const same = Object.keys(expectedContext).length === Object.keys(context).length && Object.entries(expectedContext).every(([k, v]) => context[k] === v);
  if (!same) return `InvalidCiphertextException: the encryption context ${JSON.stringify(context)} is not ${JSON.stringify(expectedContext)}`;
  return Buffer.from(key, 'base64');
}
