import { clientConfig, instrumentClient, type AwsOptions } from './client-config.js';
import { toAwsError } from './errors.js';
import { DATA_KEY_BYTES } from '../protocol/crypto.js';

/**
 * KMS `GenerateDataKey` for an encrypted session (docs/protocol.md §5): 64 bytes, under the key the agent
 * names, with the encryption context the agent checks when it decrypts. The KMS client loads only
 * for such a session.
 */
export async function generateSessionDataKey(
  options: AwsOptions,
  keyId: string,
  context: { sessionId: string; targetId: string },
): Promise<{ plaintext: Uint8Array; ciphertextBlob: Uint8Array }> {
  const { KMSClient, GenerateDataKeyCommand } = await import('./sdk/kms.js');
  const client = instrumentClient(new KMSClient(clientConfig(options, 'kms')), options, 'kms');
  try {
    const output = await client.send(
      new GenerateDataKeyCommand({
        KeyId: keyId,
        NumberOfBytes: DATA_KEY_BYTES,
        EncryptionContext: { 'aws:ssm:SessionId': context.sessionId, 'aws:ssm:TargetId': context.targetId },
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
