import { clientConfig, instrumentClient, type AwsOptions } from './client-config.js';
import { toAwsError } from './errors.js';
import { DATA_KEY_BYTES } from '../protocol/crypto.js';

/**
 * The encryption context the agent decrypts the session's data key under (docs/protocol.md §5;
 * agent crypto/blockcipher.go, UpdateEncryptionKey): the session and the target, and the agent's
 * random challenge, exactly as it sent it, when the client acknowledges one.
 */
export function sessionEncryptionContext(context: { sessionId: string; targetId: string; challenge?: string | undefined }): Record<string, string> {
  return {
    'aws:ssm:SessionId': context.sessionId,
    'aws:ssm:TargetId': context.targetId,
    ...(context.challenge !== undefined ? { 'aws:ssm:RandomChallenge': context.challenge } : {}),
  };
}

/**
 * KMS `GenerateDataKey` for an encrypted session (docs/protocol.md §5): 64 bytes, under the key the agent
 * names, with the encryption context the agent checks when it decrypts. The KMS client loads only
 * for such a session.
 */
export async function generateSessionDataKey(
  options: AwsOptions,
  keyId: string,
  context: { sessionId: string; targetId: string; challenge?: string | undefined },
): Promise<{ plaintext: Uint8Array; ciphertextBlob: Uint8Array }> {
  const { KMSClient, GenerateDataKeyCommand } = await import('./sdk/kms.js');
  const client = instrumentClient(new KMSClient(clientConfig(options, 'kms')), options, 'kms');
  try {
    const output = await client.send(
      new GenerateDataKeyCommand({
        KeyId: keyId,
        NumberOfBytes: DATA_KEY_BYTES,
        EncryptionContext: sessionEncryptionContext(context),
      }),
    );
    if (!output.Plaintext || !output.CiphertextBlob) throw new Error('GenerateDataKey answered without a key');
    return { plaintext: output.Plaintext, ciphertextBlob: output.CiphertextBlob };
  } catch (error) {
    throw toAwsError(error, 'GenerateDataKey');
  } finally {
    client.destroy();
  }
}
