import type { ConsumerRef } from '../../machines/clientMachine.js';
import { consumerState, layersState, type ConsumerLayers, type ConsumerSnapshot, type ConsumerState } from '../../machines/consumerMachine.js';
import type { MediaKind } from '../../machines/shared.js';
import { ErrorCode } from '../protocol/codes.js';
import type { CallHealth } from './callHealth.js';
import type { ConsumerStats } from './callStats.js';
import { ElementAdapter } from './ElementAdapter.js';
import type { Size } from './layerChoice.js';
import { MediaInfraError } from './MediaInfraError.js';
import { TrackManager } from './TrackManager.js';

export type { ConsumerLayers, ConsumerState };

type ConsumerCommand = { type: 'pause' } | { type: 'resume' } | { type: 'setPreferredLayers'; layers: ConsumerLayers };

const isLayerIndex = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0;

/** The events of {@link ConsumeManager} (`consumer.on(name, listener)`): name → the listener's arguments. */
export type ConsumeManagerEvents = {
  /** Every change of `state`. */
  state: [state: ConsumerState];
  /** Paused by this client (`pause()`). */
  paused: [];
  /** Resumed by this client (`resume()`). */
  resumed: [];
  /** Paused by its sender (its producer was paused). */
  producerpaused: [];
  /** Resumed by its sender (its producer was resumed). */
  producerresumed: [];
  /** The layers received changed (`layers`): the server switched, or stopped forwarding (`null`). */
  layerschange: [layers: ConsumerLayers | null];
  /** Closed for good: its producer closed, the server refused to send it, or the connection was lost (a new one will come). */
  closed: [error: MediaInfraError];
  /** What reaches this client changed (`score`). */
  scorechange: [score: number];
  /** An audio track's level on the server changed (`audioLevel`, dBov). */
  audiolevel: [dBov: number];
};

/** @internal */
export { consumerState };

/**
 * One received track. It does not survive a lost connection: it closes, and a new
 * ConsumeManager for the same remote track arrives through `listenTrack`'s callback after the
 * reconnect. Once closed, every method rejects with `CONSUMER_CLOSED`.
 */
export class ConsumeManager extends TrackManager<ConsumerSnapshot, ConsumerCommand, ConsumerState, ConsumeManagerEvents> {
  readonly #ref: ConsumerRef;
  readonly #track: MediaStreamTrack;
  readonly #frameSize: () => Promise<Size | undefined>;
  #adapter: ElementAdapter | undefined;
  readonly #health: CallHealth | undefined;

  /** @internal Created by the client for `listenTrack`'s callback; `frameSize` reads the receiver's decoded size. */
  constructor(ref: ConsumerRef, track: MediaStreamTrack, frameSize: () => Promise<Size | undefined> = async () => undefined, health?: CallHealth) {
    super(ref, consumerState);
    this.#ref = ref;
    this.#track = track;
    this.#frameSize = frameSize;
    this.#health = health;
    const detach = health?.attachConsumer(
      this,
      (score) => this.emit('scorechange', score),
      (dBov) => this.emit('audiolevel', dBov),
    );
    if (detach) this.once('closed', detach);
    ref.on('layersChanged', ({ layers }) => {
      this.sync();
      this.emit('layerschange', layers);
      this.#adapter?.layersChanged();
    });
    ref.on('paused', () => (this.sync(), this.emit('paused')));
    ref.on('resumed', () => (this.sync(), this.emit('resumed')));
    ref.on('producerPaused', () => (this.sync(), this.emit('producerpaused')));
    ref.on('producerResumed', () => (this.sync(), this.emit('producerresumed')));
  }

  /** The server's consumer id. */
  get id(): string {
    return this.#ref.getSnapshot().context.id;
  }

  /** The server's id of the producer this track comes from (the sender's `ProduceManager.id`). */
  get producerId(): string {
    return this.#ref.getSnapshot().context.producerId;
  }

  /** `'audio'` or `'video'`. */
  get kind(): MediaKind {
    return this.#ref.getSnapshot().context.kind;
  }

  /** The user who sends this track. */
  get userId(): string {
    return this.#ref.getSnapshot().context.userId;
  }

  /** What the sender gave as `appData` to `produceTrack` (`{}` when nothing). */
  get appData(): Record<string, unknown> {
    return this.#ref.getSnapshot().context.appData ?? {};
  }

  /** The received track, to attach to a media element. It ends when the consumer closes. */
  get track(): MediaStreamTrack {
    return this.#track;
  }

  /** Where it is in its life: `creating | live | pausing | paused | resuming | closed`. */
  get state(): ConsumerState {
    return this.current;
  }

  /** `state` is `closed`: for good, every method rejects with `CONSUMER_CLOSED`. */
  get closed(): boolean {
    return this.current === 'closed';
  }

  /** Paused by this client. */
  get paused(): boolean {
    return this.#ref.getSnapshot().context.paused;
  }

  /** Paused by its sender. */
  get producerPaused(): boolean {
    return this.#ref.getSnapshot().context.producerPaused;
  }

  /**
   * What reaches this client of the track (0-10, 10 perfect): the worse of the server's scores of
   * what it receives from the sender and of what it sends here; `null` before the server said.
   */
  get score(): number | null {
    return this.#health?.consumerScore(this.id) ?? null;
  }

  /** An audio track's level in the server's last interval (dBov, -127 silent … 0 loudest); `null` for video. */
  get audioLevel(): number | null {
    return this.kind === 'audio' ? (this.#health?.audioLevel(this.producerId) ?? -127) : null;
  }

  /**
   * What this track's receiver gets now and what the server sends on it (call health).
   * @throws {@link MediaInfraError} (as a rejection) `CONSUMER_CLOSED` when closed.
   */
  async getStats(): Promise<ConsumerStats> {
    if (this.closed) throw this.closedError();
    if (!this.#health) throw new MediaInfraError(ErrorCode.INVALID_STATE, 'this consumer has no client');
    return this.#health.consumerStats(this);
  }

  /**
   * Asks the server to stop sending this track; resolves when it did. Resolves at once if paused.
   * @throws {@link MediaInfraError} (as a rejection) `CONSUMER_CLOSED` when closed, before or
   * meanwhile (its producer closed, or the connection was lost); `INVALID_STATE` while a pause or resume is in flight;
   * `TIMEOUT` after `requestTimeout`; `CONNECTION_CLOSED` when the connection drops before the
   * answer; `SERVER_ERROR` (or the server's own code) when the server fails.
   */
  pause(): Promise<void> {
    return this.command({ type: 'pause' }, 'pausing', 'paused');
  }

  /**
   * Asks the server to send this track again; resolves when it does. Resolves at once if live.
   * @throws {@link MediaInfraError} (as a rejection) `CONSUMER_CLOSED` when closed, before or
   * meanwhile (its producer closed, or the connection was lost); `INVALID_STATE` while a pause or resume is in flight;
   * `TIMEOUT` after `requestTimeout`; `CONNECTION_CLOSED` when the connection drops before the
   * answer; `SERVER_ERROR` (or the server's own code) when the server fails.
   */
  resume(): Promise<void> {
    return this.command({ type: 'resume' }, 'resuming', 'live');
  }

  /**
   * The layers the server forwards now (a simulcast track: `spatialLayer` 0 is the smallest), or
   * `null` when it forwards none (paused, not simulcast, or before the server said).
   */
  get layers(): ConsumerLayers | null {
    return this.#ref.getSnapshot().context.layers;
  }

  /** How many spatial layers the sender sends (1 when it is not simulcast). */
  get spatialLayers(): number {
    return this.#ref.getSnapshot().context.spatialLayers?.length ?? 1;
  }

  /**
   * Asks the server to forward this spatial layer (and temporal layer: all by default) when it
   * can: resolves once the server applied it. What arrives then is in `layers` and `layerschange`
   * (a layer the bandwidth cannot carry comes later, or a lower one meanwhile).
   * @throws {@link MediaInfraError} (as a rejection) `BAD_REQUEST` when a layer is not an integer
   * ≥ 0, or is more than the sender sends (said by the server); `CONSUMER_CLOSED` when closed,
   * before or meanwhile; `INVALID_STATE` while another `setPreferredLayers` is in flight;
   * `TIMEOUT` after `requestTimeout`; `CONNECTION_CLOSED` when the connection drops first.
   */
  async setPreferredLayers(layers: ConsumerLayers): Promise<void> {
    const { spatialLayer, temporalLayer } = layers ?? {};
    if (!isLayerIndex(spatialLayer) || (temporalLayer !== undefined && !isLayerIndex(temporalLayer))) {
      throw new MediaInfraError(ErrorCode.BAD_REQUEST, 'setPreferredLayers needs { spatialLayer, temporalLayer? } as integers ≥ 0');
    }
    const command = { type: 'setPreferredLayers', layers: { spatialLayer, ...(temporalLayer !== undefined && { temporalLayer }) } } as const;
    this.check(command);
    const end = await this.run(command, (s) => layersState(s) === 'idle');
    if (this.isEnded(consumerState(end))) throw this.closedError();
    if (end.context.layersError) throw MediaInfraError.fromInfo(end.context.layersError, ErrorCode.SERVER_ERROR);
  }

  /**
   * Adapts this track to the element it is shown in (a `<video>` playing `track`): the preferred
   * spatial layer is kept at the smallest whose frames cover the element's size on screen (CSS size
   * × devicePixelRatio), and the consumer is paused on the server while the element is out of view
   * or the page hidden, resumed when it shows again. `adaptTo(null)` stops it (a consumer it paused
   * is resumed). While it runs it makes the `setPreferredLayers`, `pause` and `resume` calls itself
   * (a consumer the page paused is left paused). A track that is not simulcast only pauses and resumes.
   * @throws {@link MediaInfraError} (synchronously) `CONSUMER_CLOSED` when closed; `BAD_REQUEST`
   * when `element` is neither an element nor `null`.
   */
  adaptTo(element: HTMLElement | null): void {
    if (this.closed) throw this.closedError();
    if (element !== null && typeof (element as Partial<HTMLElement>)?.addEventListener !== 'function') {
      throw new MediaInfraError(ErrorCode.BAD_REQUEST, 'adaptTo needs an element or null');
    }
    this.#adapter?.stop();
    this.#adapter = undefined;
    if (!element) return;
    const spatial = this.#ref.getSnapshot().context.spatialLayers;
    this.#adapter = new ElementAdapter(element, {
      scales: spatial && spatial.length > 1 ? spatial.map((l) => l.scaleResolutionDownBy) : undefined,
      receivedLayer: () => this.layers?.spatialLayer,
      frameSize: () => this.#frameSize(),
      isPaused: () => this.paused,
      setLayer: (spatialLayer) => this.setPreferredLayers({ spatialLayer }),
      pause: () => this.pause(),
      resume: () => this.resume(),
    });
  }

  /** @internal */
  protected override stateChanged(state: ConsumerState): void {
    if (state === 'closed') {
      this.#adapter?.stop();
      this.#adapter = undefined;
      this.emit('closed', this.closedError());
    }
  }

  /** @internal */
  protected override describe(state: ConsumerState): string {
    return `consumer that is ${state}`;
  }

  /** @internal */
  protected override closedError(): MediaInfraError {
    const reason = this.#ref.getSnapshot().context.error?.message;
    return new MediaInfraError(ErrorCode.CONSUMER_CLOSED, reason ? `the consumer is closed: ${reason}` : 'the consumer is closed');
  }
}
