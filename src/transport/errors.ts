import { SsmxError } from '../errors.js';

export type TransportErrorCode =
  /** The stream URL could not be reached, or refused the WebSocket. */
  | 'STREAM_UNREACHABLE'
  /** The WebSocket closed or failed after it was open. */
  | 'CONNECTION_LOST';

/** A failure of the data channel's link, with a code the layers above map to their own. */
export class TransportError extends SsmxError {
  override readonly name = 'TransportError';
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    override readonly hint?: string,
  ) {
    super(message);
  }
}
