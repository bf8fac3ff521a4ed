import type { ConsumerRef } from '../../machines/clientMachine.js';
import { consumerState, type ConsumerSnapshot, type ConsumerState } from '../../machines/consumerMachine.js';
import type { MediaKind } from '../../machines/shared.js';
import { ErrorCode } from '../protocol/codes.js';
import { MediaInfraError } from './MediaInfraError.js';
import { TrackManager } from './TrackManager.js';

export type { ConsumerState };

type ConsumerCommand = { type: 'pause' } | { type: 'resume' };

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
  /** Closed for good: its producer closed, or the connection was lost (a new one will come). */
  closed: [error: MediaInfraError];
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

  /** @internal Created by the client for `listenTrack`'s callback. */
  constructor(ref: ConsumerRef, track: MediaStreamTrack) {
    super(ref, consumerState);
    this.#ref = ref;
    this.#track = track;
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

  /** @internal */
  protected override stateChanged(state: ConsumerState): void {
    if (state === 'closed') this.emit('closed', this.closedError());
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
