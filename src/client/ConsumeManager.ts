import type { ConsumerRef } from '../../machines/clientMachine.js';
import { ErrorCode } from '../protocol/codes.js';
import { MediaInfraError } from './MediaInfraError.js';
import { TypedEmitter } from './TypedEmitter.js';
import { untilSnapshot } from './untilSnapshot.js';

type ConsumerSnapshot = ReturnType<ConsumerRef['getSnapshot']>;

export type ConsumerState = 'creating' | 'live' | 'pausing' | 'paused' | 'resuming' | 'closed';

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
export function consumerState(snapshot: ConsumerSnapshot): ConsumerState {
  if (snapshot.status !== 'active') return 'closed';
  return snapshot.value as ConsumerState;
}

/**
 * One received track. It does not survive a lost connection: it closes, and a new
 * ConsumeManager for the same remote track arrives through `listenTrack`'s callback after the
 * reconnect. Once closed, every method rejects with `CONSUMER_CLOSED`.
 */
export class ConsumeManager extends TypedEmitter<ConsumeManagerEvents> {
  readonly #ref: ConsumerRef;
  readonly #track: MediaStreamTrack;
  #state: ConsumerState;

  /** @internal Created by the client for `listenTrack`'s callback. */
  constructor(ref: ConsumerRef, track: MediaStreamTrack) {
    super();
    this.#ref = ref;
    this.#track = track;
    this.#state = consumerState(ref.getSnapshot());
    ref.subscribe({
      next: (snapshot) => this.#update(snapshot),
      complete: () => this.#update(ref.getSnapshot()),
      error: () => this.#update(ref.getSnapshot()),
    });
    // The machine emits these after its new snapshot is in place but before subscribers hear of
    // it: `state` is brought up to date first, so that a listener never sees a stale state.
    const sync = () => this.#update(ref.getSnapshot());
    ref.on('paused', () => (sync(), this.emit('paused')));
    ref.on('resumed', () => (sync(), this.emit('resumed')));
    ref.on('producerPaused', () => (sync(), this.emit('producerpaused')));
    ref.on('producerResumed', () => (sync(), this.emit('producerresumed')));
  }

  /** The server's consumer id. */
  get id(): string {
    return this.#ref.getSnapshot().context.id;
  }

  get producerId(): string {
    return this.#ref.getSnapshot().context.producerId;
  }

  get kind(): 'audio' | 'video' {
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
    return this.#state;
  }

  /** Paused by this client. */
  get paused(): boolean {
    return this.#ref.getSnapshot().context.paused;
  }

  /** Paused by its sender. */
  get producerPaused(): boolean {
    return this.#ref.getSnapshot().context.producerPaused;
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** Asks the server to stop sending this track; resolves when it did. */
  async pause(): Promise<void> {
    const state = this.#check('pause');
    if (state === 'paused') return;
    this.#ref.send({ type: 'pause' });
    const end = await untilSnapshot(this.#ref, (s) => consumerState(s) !== 'pausing');
    if (consumerState(end) === 'paused') return;
    throw this.#failure(end);
  }

  /** Asks the server to send this track again; resolves when it does. */
  async resume(): Promise<void> {
    const state = this.#check('resume');
    if (state === 'live') return;
    this.#ref.send({ type: 'resume' });
    const end = await untilSnapshot(this.#ref, (s) => consumerState(s) !== 'resuming');
    if (consumerState(end) === 'live') return;
    throw this.#failure(end);
  }

  #check(command: 'pause' | 'resume'): ConsumerState {
    const snapshot = this.#ref.getSnapshot();
    const state = consumerState(snapshot);
    if (state === 'closed') throw this.#closedError();
    if ((command === 'pause' && state === 'paused') || (command === 'resume' && state === 'live')) return state;
    if (!snapshot.can({ type: command })) throw new MediaInfraError(ErrorCode.INVALID_STATE, `cannot ${command} a consumer that is ${state}`);
    return state;
  }

  #failure(end: ConsumerSnapshot): MediaInfraError {
    if (consumerState(end) === 'closed') return this.#closedError();
    return MediaInfraError.fromInfo(end.context.error, ErrorCode.SERVER_ERROR);
  }

  #closedError(): MediaInfraError {
    const reason = this.#ref.getSnapshot().context.error?.message;
    return new MediaInfraError(ErrorCode.CONSUMER_CLOSED, reason ? `the consumer is closed: ${reason}` : 'the consumer is closed');
  }

  #update(snapshot: ConsumerSnapshot): void {
    const state = consumerState(snapshot);
    if (state === this.#state) return;
    this.#state = state;
    this.emit('state', state);
    if (state === 'closed') this.emit('closed', this.#closedError());
  }
}
