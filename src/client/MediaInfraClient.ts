import * as v from 'valibot';
import { createActor, type Actor } from 'xstate';
import { clientState, systemIds, type ClientSnapshot } from '../../machines/clientMachine.js';
import { consumerState } from '../../machines/consumerMachine.js';
import { producerState, type ProducerState } from '../../machines/producerMachine.js';
import { ErrorCode } from '../protocol/codes.js';
import { MediaKind } from '../protocol/media.js';
import { ConsumeManager } from './ConsumeManager.js';
import { defaults } from './defaults.js';
import { MediaDevice } from './MediaDevice.js';
import { createLoggers, type Logger } from './logger.js';
import { MediaInfraError } from './MediaInfraError.js';
import { MediaSignalingService } from './MediaSignalingService.js';
import { bindServices, providedClientMachine, type ProvidedClientMachine } from './machineImplementations.js';
import { ProduceManager } from './ProduceManager.js';
import type { SendSettings } from './simulcast.js';
import { ClientInspection } from './inspection.js';
import type { InspectorPanel } from '../inspector/index.js';
import { backoffPolicy, type ReconnectPolicy } from './ReconnectPolicy.js';
import { CallHealth, type ActiveSpeaker } from './callHealth.js';
import type { ClientStats } from './callStats.js';
import type { ConnectionQuality } from './connectionQuality.js';
import { TypedEmitter } from './TypedEmitter.js';
import type { ClientState, CloseReason, MediaClientOptions, MediaInfraClientEvents, ProduceOptions } from './types.js';
import { untilSnapshot } from './untilSnapshot.js';

/** Where `produceTrack` stops waiting. */
const produced: readonly ProducerState[] = ['live', 'paused', 'closed'];

function isPolicy(value: MediaClientOptions['reconnect']): value is ReconnectPolicy {
  return typeof (value as ReconnectPolicy | undefined)?.delay === 'function';
}

/**
 * The client of one user in one room. Created by `createMediaClient(url, token)`, it connects at
 * once, reconnects by itself when the connection is lost, and ends `closed` (see `closeReason`).
 * Its whole life is a tree of XState actors (machines/clientMachine.ts); this class sends them
 * events and awaits the states that answer.
 */
export class MediaInfraClient extends TypedEmitter<MediaInfraClientEvents> {
  readonly #actor: Actor<ProvidedClientMachine>;
  readonly #device: MediaDevice;
  readonly #connectTimeout: number;
  readonly #log: Logger;
  readonly #inspection: ClientInspection;
  readonly #health: CallHealth;
  #state: ClientState = 'connecting';
  #listener: ((consumer: ConsumeManager) => void) | undefined;
  #producerSeq = 0;

  /**
   * Same as {@link createMediaClient}, which is the documented way to create one.
   * @throws {@link MediaInfraError} `BAD_REQUEST` when `url` or `token` is not a non-empty string.
   */
  constructor(url: string, token: string, options: MediaClientOptions = {}) {
    super();
    if (typeof url !== 'string' || !url) throw new MediaInfraError(ErrorCode.BAD_REQUEST, 'createMediaClient: url must be a non-empty string');
    if (typeof token !== 'string' || !token) throw new MediaInfraError(ErrorCode.BAD_REQUEST, 'createMediaClient: token must be a non-empty string');
    const logger = createLoggers(options.logLevel, options.logger);
    const log = { client: logger('client'), signaling: logger('signaling'), device: logger('device') };
    this.#log = log.client;
    this.#connectTimeout = options.connectTimeout ?? defaults.connectTimeout;
    const signaling = new MediaSignalingService(url, token, {
      requestTimeout: options.requestTimeout ?? defaults.requestTimeout,
      ...(options.webSocketFactory && { webSocketFactory: options.webSocketFactory }),
      logger: log.signaling,
    });
    // The handshake runs while the machines are set up; the signaling machine's first connect takes it over.
    signaling.preopen();
    const ice = { ...(options.iceServers && { iceServers: options.iceServers }), ...(options.iceTransportPolicy && { iceTransportPolicy: options.iceTransportPolicy }) };
    this.#device = new MediaDevice((method, data) => signaling.request(method, data), options.deviceFactory, ice);
    this.#device.probeCapabilities();
    this.#health = new CallHealth(signaling, this.#device);
    this.#health.on('quality', (quality) => this.emit('connectionquality', quality));
    this.#health.on('speaker', (speaker) => this.emit('activespeaker', speaker));
    const policy = isPolicy(options.reconnect) ? options.reconnect : backoffPolicy(options.reconnect);
    // The token goes to the inspection only to be redacted wherever it would appear.
    this.#inspection = new ClientInspection({ inspect: options.inspect, trace: options.trace, token, logger: logger('inspector'), health: this.#health });
    const inspect = this.#inspection.observer;
    this.#actor = createActor(providedClientMachine, {
      systemId: systemIds.client,
      input: {
        url,
        maxAttempts: policy.maxAttempts,
        timing: {
          pingInterval: options.pingInterval ?? defaults.pingInterval,
          welcomeTimeout: options.welcomeTimeout ?? defaults.welcomeTimeout,
          closeTimeout: options.closeTimeout ?? defaults.closeTimeout,
        },
        ice: {
          iceDisconnectedTimeout: options.iceDisconnectedTimeout ?? defaults.iceDisconnectedTimeout,
          iceRestartTimeout: options.iceRestartTimeout ?? defaults.iceRestartTimeout,
          maxIceRestarts: options.maxIceRestarts ?? defaults.maxIceRestarts,
        },
      },
      ...(inspect && { inspect }),
    });
    bindServices(this.#actor.system, {
      signaling,
      device: this.#device,
      policy,
      pingTimeout: options.pingTimeout ?? defaults.pingTimeout,
      recordingTimeout: options.recordingTimeout ?? defaults.recordingTimeout,
      log,
    });
    this.#actor.subscribe({
      next: (snapshot) => this.#update(snapshot),
      error: (error) => {
        this.#log.error('the client failed', error);
        this.#update(this.#actor.getSnapshot());
      },
      complete: () => this.#update(this.#actor.getSnapshot()),
    });
    this.#actor.on('consumerAdded', ({ consumerId }) => this.#onConsumerAdded(consumerId));
    this.#actor.on('error', ({ error }) => {
      this.#log.warn(`${error.code}: ${error.message}`);
      this.emit('error', MediaInfraError.fromInfo(error, ErrorCode.SERVER_ERROR));
    });
    this.#actor.start();
    this.#inspection.started(this.#actor, options.inspect);
  }

  /** `connecting` → `connected` ⇄ `reconnecting` → `closed` (final). */
  get state(): ClientState {
    return this.#state;
  }

  /**
   * Why the client is closed: `'client'` (close()), `'unauthorized'`, `'expired'`, `'replaced'` (a
   * newer connection with the same token took over), `'failed'`.
   */
  get closeReason(): CloseReason | undefined {
    return this.#actor.getSnapshot().context.closeReason ?? (this.#state === 'closed' ? 'failed' : undefined);
  }

  /**
   * How well this client's media goes, from the server's scores of what it sends and receives, the
   * loss the server reports and the round-trip time (thresholds: `connectionQuality.ts`), sampled
   * every second and debounced: `'lost'` at once when not connected.
   */
  get connectionQuality(): ConnectionQuality {
    return this.#health.quality;
  }

  /** Who the server hears most in the room now (`activespeaker` tells each change); `null` when nobody. */
  get activeSpeaker(): ActiveSpeaker {
    return this.#health.speaker;
  }

  /**
   * Every sent and received track's stats (as their managers' `getStats()`), the connection's
   * round-trip time and quality.
   * @throws {@link MediaInfraError} (as a rejection) `CLIENT_CLOSED` when closed.
   */
  async getStats(): Promise<ClientStats> {
    if (this.#state === 'closed') throw new MediaInfraError(ErrorCode.CLIENT_CLOSED, 'the client is closed');
    return this.#health.clientStats();
  }

  /**
   * Sends `track`; resolves with its ProduceManager once the server produces it (`live`, or `paused`
   * with `options.paused`). Waits for the connection when called while connecting or reconnecting.
   * @throws {@link MediaInfraError} (as a rejection) `BAD_REQUEST` when `track` is not an audio or
   * video MediaStreamTrack; `CLIENT_CLOSED` when the client is (or gets) closed; `TIMEOUT` when not
   * produced within `connectTimeout` (the attempt is then closed); `UNSUPPORTED_CODEC` when this
   * browser cannot send this kind to the router; `PRODUCER_CLOSED` when the track ended or the
   * server closed the producer first; `SERVER_ERROR` (or the server's own code) when the server
   * refuses it. `BAD_REQUEST` too when `simulcast` is not a boolean or `encodings` not an array.
   */
  async produceTrack(track: MediaStreamTrack, options: ProduceOptions = {}): Promise<ProduceManager> {
    if (this.#state === 'closed') throw new MediaInfraError(ErrorCode.CLIENT_CLOSED, 'the client is closed');
    const kind = track?.kind;
    if (!v.is(MediaKind, kind)) throw new MediaInfraError(ErrorCode.BAD_REQUEST, 'produceTrack needs an audio or video MediaStreamTrack');
    const { simulcast, encodings } = options;
    if (simulcast !== undefined && typeof simulcast !== 'boolean') throw new MediaInfraError(ErrorCode.BAD_REQUEST, 'produceTrack: simulcast must be a boolean');
    if (encodings !== undefined && !Array.isArray(encodings)) throw new MediaInfraError(ErrorCode.BAD_REQUEST, 'produceTrack: encodings must be an array');
    const key = systemIds.producer(++this.#producerSeq);
    const send: SendSettings = { ...(simulcast !== undefined && { simulcast }), ...(encodings && { encodings: [...encodings] }) };
    this.#actor.send({ type: 'produceTrack', key, track, kind, appData: { ...options.appData }, paused: options.paused ?? false, send });
    const ref = this.#actor.getSnapshot().context.producers[key];
    if (!ref) throw new MediaInfraError(ErrorCode.CLIENT_CLOSED, 'the client is closed');
    const manager = new ProduceManager(ref, this.#health);
    let end;
    try {
      end = await untilSnapshot(ref, (s) => produced.includes(producerState(s)), this.#connectTimeout);
    } catch (error) {
      ref.send({ type: 'close' });
      throw error;
    }
    if (producerState(end) === 'closed') {
      if ((this.#state as ClientState) === 'closed') throw new MediaInfraError(ErrorCode.CLIENT_CLOSED, 'the client was closed');
      throw MediaInfraError.fromInfo(end.context.error, ErrorCode.PRODUCER_CLOSED);
    }
    return manager;
  }

  /**
   * Starts receiving: `callback` is called with a ConsumeManager for every remote track, now and
   * later, including the new ones after a reconnect. Calling it again replaces the callback
   * (consumers already delivered are not delivered again; the server is asked only once). Each
   * comes `live` as the server is asked to send it, so its first frames can follow at once; one
   * the server then refuses closes (`closed`, `CONSUMER_CLOSED`, saying why).
   * @throws {@link MediaInfraError} (synchronously) `BAD_REQUEST` when `callback` is not a
   * function; `CLIENT_CLOSED` once the client is closed. Tracks this client will not receive are
   * `error` events (`UNSUPPORTED_CODEC`, `INVALID_STATE`), never exceptions.
   */
  listenTrack(callback: (consumer: ConsumeManager) => void): void {
    if (typeof callback !== 'function') throw new MediaInfraError(ErrorCode.BAD_REQUEST, 'listenTrack needs a callback');
    if (this.#state === 'closed') throw new MediaInfraError(ErrorCode.CLIENT_CLOSED, 'the client is closed');
    this.#listener = callback;
    this.#actor.send({ type: 'listenTrack' });
  }

  /**
   * This session's inspection events as a redacted JSON trace (a file to attach to a bug report;
   * the panel replays it). Recorded from the start with `{ inspect: true }` or `{ trace: true }`,
   * otherwise from the first call of `exportTrace()` or `showPanel()` on.
   * @throws Rejects only when the inspector file (loaded on first use) cannot be loaded: the
   * browser's or bundler's import error, not a MediaInfraError.
   */
  exportTrace(): Promise<string> {
    return this.#inspection.exportTrace();
  }

  /**
   * Shows the built-in state panel (loaded on first use): live actors, states, events; trace replay.
   * @throws Rejects only when the inspector file cannot be loaded (the import's own error, not a
   * MediaInfraError).
   */
  showPanel(options?: { container?: HTMLElement }): Promise<InspectorPanel> {
    return this.#inspection.showPanel(options);
  }

  /**
   * Leaves: resolves once the server released this client (or after `closeTimeout`), at once if
   * already closed. Never rejects; a client it closes ends `closed` with `closeReason` `'client'`.
   */
  async close(): Promise<void> {
    const snapshot = this.#actor.getSnapshot();
    if (snapshot.status === 'active' && snapshot.can({ type: 'close' })) this.#actor.send({ type: 'close' });
    await untilSnapshot(this.#actor, (s) => s.status !== 'active');
  }

  #onConsumerAdded(consumerId: string): void {
    const ref = this.#actor.getSnapshot().context.consumers[consumerId];
    if (!ref) return;
    void untilSnapshot(ref, (s) => consumerState(s) !== 'creating').then((end) => {
      if (consumerState(end) === 'closed') {
        const error = end.context.error;
        if (error && error.code !== ErrorCode.CONSUMER_CLOSED) this.#log.warn(`could not consume ${consumerId}: ${error.message}`);
        return;
      }
      const track = this.#device.consumerTrack(consumerId);
      if (!track) return;
      const manager = new ConsumeManager(ref, track, () => this.#device.consumerFrameSize(consumerId), this.#health);
      try {
        this.#listener?.(manager);
      } catch (error) {
        this.#log.warn('the listenTrack callback threw', error);
      }
    });
  }

  #update(snapshot: ClientSnapshot): void {
    const state = clientState(snapshot);
    if (state === this.#state) return;
    this.#log.debug(`${this.#state} → ${state}${state === 'closed' ? ` (${this.closeReason})` : ''}`);
    this.#state = state;
    this.#health.stateChanged(state);
    this.emit('state', state);
  }
}

/**
 * Creates a client and starts connecting at once (watch `state`, or just call `produceTrack`,
 * which waits for the connection). What goes wrong later is in `state`, `closeReason` and the
 * `error` event, not an exception here.
 * @param url - the server's WebSocket URL, e.g. `wss://media.example.com/v1/ws`.
 * @param token - this user's token for one room (from your backend); never logged.
 * @throws {@link MediaInfraError} (synchronously) `BAD_REQUEST` when `url` or `token` is not a
 * non-empty string.
 */
export function createMediaClient(url: string, token: string, options?: MediaClientOptions): MediaInfraClient {
  return new MediaInfraClient(url, token, options);
}
