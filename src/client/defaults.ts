// Every default of the client in one place. Each can be overridden through `createMediaClient`'s
// options (see `MediaClientOptions`).

/**
 * The client's defaults (times in ms), read-only. Override any of them per client through
 * `createMediaClient`'s options ({@link MediaClientOptions}); `reconnect` through `reconnect`.
 */
export const defaults = {
  /** A request without an answer after this long rejects with `TIMEOUT` (ms). */
  requestTimeout: 10_000,
  /**
   * `startRecord` and `stopRecord` wait for the server's recorder (ffmpeg ready, the file finalized
   * and probed), which takes seconds on a busy server: they get this long instead (ms).
   */
  recordingTimeout: 60_000,
  /** `produceTrack` called before the client is connected waits this long for it (ms). */
  connectTimeout: 30_000,
  /** A heartbeat `ping` every ... (ms). */
  pingInterval: 5_000,
  /** A `ping` without an answer after this long means the socket is lost (ms). */
  pingTimeout: 5_000,
  /** Time allowed between the socket opening and the server's `welcome` (ms). */
  welcomeTimeout: 10_000,
  /** `close()` waits this long for `leave` to be answered and the socket closed (ms). */
  closeTimeout: 5_000,
  /** A transport whose ICE connection stays `disconnected` this long asks the server for an ICE restart (ms). */
  iceDisconnectedTimeout: 3_000,
  /** After an ICE restart the transport must be connected again within this, or it restarts again (ms). */
  iceRestartTimeout: 8_000,
  /** ICE restarts in a row before giving up on the transport and reconnecting from scratch. */
  maxIceRestarts: 2,
  /** Reconnection: capped exponential backoff with jitter. */
  reconnect: {
    /** Failed attempts in a row before giving up (`closed`, `closeReason` `'failed'`). */
    maxAttempts: 8,
    /** Delay before the first attempt (ms). */
    initialDelay: 500,
    /** No delay is longer than this (ms). */
    maxDelay: 10_000,
    /** Each delay is the previous one times this. */
    multiplier: 2,
    /** Each delay is randomised by ± this fraction. */
    jitter: 0.3,
  },
} as const;
