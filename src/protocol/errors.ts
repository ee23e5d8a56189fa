import { SsmxError } from '../errors.js';

/** Codes a script can match; every wire-level failure carries one. */
export type ProtocolErrorCode =
  | 'FRAME_TOO_SHORT'
  | 'BAD_HEADER_LENGTH'
  | 'BAD_PAYLOAD_LENGTH'
  | 'BAD_DIGEST'
  | 'BAD_CREATED_DATE'
  | 'BAD_MESSAGE_TYPE'
  | 'BAD_MESSAGE_ID'
  | 'UNSAFE_INTEGER'
  | 'BAD_JSON'
  | 'BAD_PAYLOAD'
  | 'BAD_WEBSOCKET_FRAME';

export class ProtocolError extends SsmxError {
  override readonly name = 'ProtocolError';
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
  }
}
