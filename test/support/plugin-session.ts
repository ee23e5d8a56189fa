import { SSMClient, StartSessionCommand } from '@aws-sdk/client-ssm';
import type { EmulatorProcess } from './emulator.js';
import { freePort } from './redis.js';

/**
 * A port-forwarding session started as the AWS CLI starts one (StartSession on the emulator), and
 * the arguments the AWS CLI then gives session-manager-plugin for it: the response, the region,
 * StartSession, the profile (none), the request, the endpoint.
 */
export async function pluginPortSession(emulator: EmulatorProcess, target: string, destinationPort: number): Promise<{ args: string[]; sessionId: string; localPort: number }> {
  const { info } = emulator;
  const ssm = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
  const localPort = await freePort();
  const params = { Target: target, DocumentName: 'AWS-StartPortForwardingSession', Parameters: { portNumber: [String(destinationPort)], localPortNumber: [String(localPort)] } };
  try {
    const response = await ssm.send(new StartSessionCommand(params));
    const session = { SessionId: response.SessionId, TokenValue: response.TokenValue, StreamUrl: response.StreamUrl };
    return { args: [JSON.stringify(session), info.region, 'StartSession', '', JSON.stringify(params), info.endpoint], sessionId: response.SessionId!, localPort };
  } finally {
    ssm.destroy();
  }
}
