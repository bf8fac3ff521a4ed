// Stable codes shared by client and server. Customers switch on these strings: never rename one.

/** Codes carried by `MediaInfraError.code` and by error responses on the socket. */
export const ErrorCode = {
  /** The token is unknown, forged or revoked. Never retried. */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** The token was valid once but its session has expired. Never retried. */
  EXPIRED: 'EXPIRED',
  /** The call is not allowed in the current state (of the client, a producer or a consumer). */
  INVALID_STATE: 'INVALID_STATE',
  /** The consumer is closed: every method of a closed ConsumeManager rejects with this. */
  CONSUMER_CLOSED: 'CONSUMER_CLOSED',
  /** The producer is closed: every method of a closed ProduceManager rejects with this. */
  PRODUCER_CLOSED: 'PRODUCER_CLOSED',
  /** The browser or the router lacks a codec needed to send or receive this track. */
  UNSUPPORTED_CODEC: 'UNSUPPORTED_CODEC',
  /** A request got no answer in time. */
  TIMEOUT: 'TIMEOUT',
  /** The server failed to do what was asked. */
  SERVER_ERROR: 'SERVER_ERROR',
  /** The message is malformed, of the wrong type, or fails validation. */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The method is not one the server knows. */
  UNKNOWN_METHOD: 'UNKNOWN_METHOD',
  /** The id names no transport, producer or consumer of this peer (another user's ids included). */
  NOT_FOUND: 'NOT_FOUND',
  /** The message is larger than the server accepts. */
  TOO_LARGE: 'TOO_LARGE',
  /** Too many messages in too short a time. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The signaling connection closed before the request was answered. */
  CONNECTION_CLOSED: 'CONNECTION_CLOSED',
  /** The client was closed (by `close()` or for good); nothing more can be done with it. */
  CLIENT_CLOSED: 'CLIENT_CLOSED',
  /**
   * A newer connection with the same token took this client's session over (close code 4003): the
   * client ends `closed` with `closeReason` `'replaced'` and never retries.
   */
  REPLACED: 'REPLACED',
  /**
   * Client and server speak protocol versions that do not overlap (an older client and a newer
   * server, or the reverse): update the client package (or the server). Never retried.
   */
  UNSUPPORTED_PROTOCOL: 'UNSUPPORTED_PROTOCOL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const errorCodes: readonly ErrorCode[] = Object.values(ErrorCode);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (errorCodes as readonly string[]).includes(value);
}

/**
 * WebSocket close codes the gateway uses (4000-4999 is the range for applications). The client
 * maps the refusals to `closeReason` and never retries them.
 */
export const CloseCode = {
  /** Normal close after the client's `leave`. */
  NORMAL: 1000,
  /** The server is shutting down (SIGTERM). The client may reconnect to a new server. */
  GOING_AWAY: 1001,
  /** The server failed to set this client up. The client reconnects. */
  SERVER_ERROR: 1011,
  /** MR dropped the peer (its media worker died). The client reconnects. */
  SERVICE_RESTART: 1012,
  /**
   * The token cannot be checked right now (the session store is down): not a refusal. The client
   * retries with backoff, as after any lost connection, and is never told `unauthorized`.
   */
  TRY_AGAIN_LATER: 1013,
  /** The token is unknown or forged. Final. */
  UNAUTHORIZED: 4001,
  /** The token's session has expired. Final. */
  EXPIRED: 4002,
  /** The same session opened a newer socket; this one is replaced. */
  REPLACED: 4003,
  /** The client broke the protocol (too large, flood). */
  POLICY_VIOLATION: 4008,
  /** The client speaks a protocol version this server no longer supports: update the client. Final. */
  UNSUPPORTED_PROTOCOL: 4010,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
