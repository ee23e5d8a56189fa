import { SsmxError } from '../errors.js';

export type SessionErrorCode =
  /** The stream URL could not be reached or refused the WebSocket. */
  | 'STREAM_UNREACHABLE'
  /** The stream URL names a host ssmx does not send credentials to (src/aws/stream-url.ts). */
  | 'UNTRUSTED_ENDPOINT'
  /** The WebSocket closed or failed while the session was running. */
  | 'CONNECTION_LOST'
  /** The peer sent something the protocol does not allow. */
  | 'PROTOCOL'
  /** The agent's handshake could not be completed. */
  | 'HANDSHAKE'
  /** Messages went unacknowledged for too long. */
  | 'TIMEOUT'
  /** ssmx itself was told to stop (SIGTERM, SIGHUP). */
  | 'INTERRUPTED'
  /** A local address could not be used: port in use, no permission, bad socket path. */
  | 'LOCAL_ADDRESS'
  /** The service has ended the session: ResumeSession gave no token, or the target is gone. */
  | 'ENDED_BY_SERVICE'
  /** The instance could not connect to the port forwarding's destination (the agent's ConnectToPortError). */
  | 'DESTINATION_UNREACHABLE';

export class SessionError extends SsmxError {
  override readonly name = 'SessionError';
  constructor(
    readonly code: SessionErrorCode,
    message: string,
    override readonly hint?: string,
  ) {
    super(message);
  }
}
