import type { ConsumerRef } from '../../machines/clientMachine.js';
import { consumerState, type ConsumerSnapshot, type ConsumerState } from '../../machines/consumerMachine.js';
import type { MediaKind } from '../../machines/shared.js';
import { ErrorCode } from '../protocol/codes.js';
import { MediaInfraError } from './MediaInfraError.js';
import { TrackManager } from './TrackManager.js';

export type { ConsumerState };

type ConsumerCommand = { type: 'pause' } | { type: 'resume' };

export type ConsumeManagerEvents = {
  state: [state: ConsumerState];
  /** Paused by this client (`pause()`). */
  paused: [];
  resumed: [];
  /** Paused / resumed by its sender. */
  producerpaused: [];
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

  get producerId(): string {
    return this.#ref.getSnapshot().context.producerId;
  }

  get kind(): MediaKind {
    return this.#ref.getSnapshot().context.kind;
  }

  /** The user who sends this track. */
  get userId(): string {
    return this.#ref.getSnapshot().context.userId;
  }

  get appData(): Record<string, unknown> {
    return this.#ref.getSnapshot().context.appData ?? {};
  }

  get track(): MediaStreamTrack {
    return this.#track;
  }

  get state(): ConsumerState {
    return this.current;
  }

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

  /** Asks the server to stop sending this track; resolves when it did. */
  pause(): Promise<void> {
    return this.command({ type: 'pause' }, 'pausing', 'paused');
  }

  /** Asks the server to send this track again; resolves when it does. */
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
