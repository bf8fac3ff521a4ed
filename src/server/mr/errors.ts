// A refusal the client is meant to read: its code and message go on the wire as they are.
// Anything else thrown inside MR is a bug or a mediasoup failure and becomes a generic SERVER_ERROR.
import type { ErrorCode } from '../../protocol/codes.js';

export class MediaError extends Error {
  override name = 'MediaError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}
