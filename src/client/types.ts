import type { InspectionEvent, Observer } from 'xstate';
import type { Device } from 'mediasoup-client';
import type { ClientState, CloseReason } from '../../machines/clientMachine.js';
import type { BackoffOptions, ReconnectPolicy } from './ReconnectPolicy.js';
import type { MediaInfraError } from './MediaInfraError.js';
import type { LogLevel, LogSink } from './logger.js';
import type { WebSocketFactory } from './MediaSignalingService.js';
import type { SendSettings } from './simulcast.js';
import type { ActiveSpeaker } from './callHealth.js';
import type { ConnectionQuality } from './connectionQuality.js';

export type { ClientState, CloseReason };

/** The events of {@link MediaInfraClient} (`client.on(name, listener)`): name → the listener's arguments. */
export type MediaInfraClientEvents = {
  /** Every change of `client.state`. */
  state: [state: ClientState];
  /**
   * Something went wrong that no call of the page is waiting for: a remote track this client will
   * not receive (`UNSUPPORTED_CODEC`: no common codec; `INVALID_STATE`: it receives the most tracks
   * it may), `listen` failing, or a newer connection of the same token replacing this one
   * (`REPLACED`; the client then ends `closed` with `closeReason` `'replaced'`).
   */
  error: [error: MediaInfraError];
  /** `connectionQuality` changed. */
  connectionquality: [quality: ConnectionQuality];
  /** The room's dominant speaker changed: who, or `null` when nobody speaks (or the speaker paused or left). */
  activespeaker: [speaker: ActiveSpeaker];
};

/** `createMediaClient`'s options; every one is optional and its default is in {@link defaults}. */
export interface MediaClientOptions {
  /**
   * A function or observer receives every XState inspection event of every actor of the client, as
   * `createActor(machine, { inspect })` does (actors are named by their systemId: the tree is in
   * docs/machines/README.md). `true` shows them live
   * in the Stately inspector (loaded lazily; it opens stately.ai/inspect). The token never appears in
   * anything inspected. `true` also records the session for `exportTrace()` and `showPanel()`.
   */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void) | boolean;
  /** Record the session's inspection events from the start for `exportTrace()` and `showPanel()`. */
  trace?: boolean;
  /** Request timeout (ms). */
  requestTimeout?: number;
  /** How long `startRecord()` and `stopRecord()` wait for the server's answer (ms); default `defaults.recordingTimeout`. */
  recordingTimeout?: number;
  /** How long `produceTrack` waits for the client to be connected (ms). */
  connectTimeout?: number;
  /** A heartbeat `ping` every ... (ms). */
  pingInterval?: number;
  /** A `ping` unanswered this long means the socket is lost: the client reconnects (ms). */
  pingTimeout?: number;
  /** Time allowed between the socket opening and the server's `welcome` before the attempt fails (ms). */
  welcomeTimeout?: number;
  /** `close()` waits this long for `leave` to be answered and the socket closed, then resolves anyway (ms). */
  closeTimeout?: number;
  /** ICE `disconnected` this long → ICE restart (ms). */
  iceDisconnectedTimeout?: number;
  /** Time for an ICE restart to connect again (ms). */
  iceRestartTimeout?: number;
  /** ICE restarts in a row before the transport is given up (then a full reconnect). */
  maxIceRestarts?: number;
  /** Backoff settings, or a whole ReconnectPolicy. */
  reconnect?: Partial<BackoffOptions> | ReconnectPolicy;
  /**
   * What the client logs (default `'warn'`: warnings only). `'debug'` adds the signaling flow (each
   * request's method, id, outcome and time; never its data, never the token), state changes and
   * reconnection attempts. Lines come from named loggers: `[media-infra:client]`,
   * `[media-infra:signaling]`, `[media-infra:device]`, `[media-infra:inspector]`.
   */
  logLevel?: LogLevel;
  /** Where log lines go (default: the console): an object with any of `debug`, `info`, `warn`, `error`. */
  logger?: LogSink;
  /** Opens the WebSocket (default: the browser's `WebSocket`). For tests and unusual environments. */
  webSocketFactory?: WebSocketFactory;
  /** Creates the mediasoup-client Device (default: `new Device()`). For tests and unusual environments. */
  deviceFactory?: () => Device;
  /**
   * STUN/TURN servers given to every transport's RTCPeerConnection, e.g.
   * `[{ urls: 'turn:turn.example.com:3478?transport=tcp', username, credential }]`, for networks
   * that block UDP and direct TCP to the server. Default: none (the server's own UDP and TCP candidates).
   */
  iceServers?: RTCIceServer[];
  /** `'relay'` sends everything through the TURN servers of `iceServers`; default `'all'`. */
  iceTransportPolicy?: RTCIceTransportPolicy;
}

/** `produceTrack`'s options; `simulcast` and `encodings` are kept for every production, after a reconnect or `replaceTrack` too. */
export interface ProduceOptions extends SendSettings {
  /** Sent with the `produce` request; the server keeps it with the producer. */
  appData?: Record<string, unknown>;
  /** Start paused. */
  paused?: boolean;
}
