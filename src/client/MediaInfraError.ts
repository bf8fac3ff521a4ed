import { ErrorCode, isErrorCode } from '../protocol/codes.js';

/**
 * Every error the client library rejects or throws with. Switch on `code` (stable strings, see
 * `ErrorCode`), not on `message`.
 */
export class MediaInfraError extends Error {
  /** Always `'MediaInfraError'` (also across bundles, where `instanceof` may not hold). */
  override readonly name = 'MediaInfraError';
  /** Why it failed, a stable string of `ErrorCode`: the value to switch on. */
  readonly code: ErrorCode;

  /**
   * @param code - why it failed (what callers switch on).
   * @param message - for people (default: the code).
   * @param options - `cause`: the underlying error, kept as `error.cause`.
   */
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? code, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.code = code;
  }

  /** Wraps anything thrown into a MediaInfraError (keeping it as `cause`). */
  static from(error: unknown, fallback: ErrorCode = ErrorCode.SERVER_ERROR): MediaInfraError {
    if (error instanceof MediaInfraError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new MediaInfraError(fallback, message, { cause: error });
  }

  /** From an error as machines keep it (`{ code, message }`). */
  static fromInfo(info: { code: string; message: string } | undefined, fallback: ErrorCode): MediaInfraError {
    if (!info) return new MediaInfraError(fallback);
    return new MediaInfraError(isErrorCode(info.code) ? info.code : fallback, info.message);
  }
}

export { ErrorCode };
