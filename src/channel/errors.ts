export type ChannelErrorCode = 'RESEND_TIMEOUT' | 'MALFORMED_FRAME' | 'UNEXPECTED_MESSAGE';

export class ChannelError extends Error {
  override readonly name = 'ChannelError';
  constructor(
    readonly code: ChannelErrorCode,
    message: string,
  ) {
    super(message);
  }
}
