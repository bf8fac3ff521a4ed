import type { Recording } from '../../machines/producerMachine.js';
import type { ProducerRef } from '../../machines/clientMachine.js';
import { ErrorCode } from '../protocol/codes.js';
import { MediaInfraError } from './MediaInfraError.js';
import { TypedEmitter } from './TypedEmitter.js';
import { untilSnapshot } from './untilSnapshot.js';

type ProducerSnapshot = ReturnType<ProducerRef['getSnapshot']>;

/**
 * `waiting`: for a (new) send transport — before the first connection and after a lost one;
 * `producing`: being produced; `live` / `paused`: sent / paused; `pausing` / `resuming`: waiting for
 * the server; `closing` / `closed`: ended for good.
 */
export type ProducerState = 'waiting' | 'producing' | 'live' | 'pausing' | 'paused' | 'resuming' | 'closing' | 'closed';

export type ProduceManagerEvents = {
  /** Every change of `state`. */
  state: [state: ProducerState];
  /** Produced (again, after a reconnect): `id` is the new server producer id. */
  produced: [id: string];
  paused: [];
  resumed: [];
  /** Recording started (`true`) or ended (`false`). */
  recording: [recording: boolean];
  /** A recording ended (by `stopRecord()` or by the server) and its file is complete. */
  recordingended: [recording: Recording];
  /** Closed for good; `error` says why when it was not `close()`. */
  closed: [error: MediaInfraError | undefined];
};

/** @internal */
export function producerState(snapshot: ProducerSnapshot): ProducerState {
  if (snapshot.status !== 'active' || snapshot.matches('closed')) return 'closed';
  if (snapshot.matches('closing')) return 'closing';
  const value = snapshot.value as { active?: { media?: string } };
  return (value.active?.media ?? 'waiting') as ProducerState;
}

function recordingState(snapshot: ProducerSnapshot): string {
  const value = snapshot.value as { active?: { recording?: string } };
  return value.active?.recording ?? 'idle';
}

/**
 * Calls `onStop` after every `track.stop()`, by giving this track object its own `stop` that calls
 * the original; returns the function that takes it away again (when still ours).
 */
function watchStop(track: MediaStreamTrack, onStop: () => void): () => void {
  const original = track.stop as (() => void) | undefined;
  if (typeof original !== 'function') return () => {};
  const hadOwn = Object.prototype.hasOwnProperty.call(track, 'stop');
  const stop = function (this: MediaStreamTrack): void {
    original.call(this);
    onStop();
  };
  try {
    Object.defineProperty(track, 'stop', { value: stop, configurable: true, writable: true, enumerable: false });
  } catch {
    return () => {};
  }
  return () => {
    if (track.stop !== stop) return;
    if (hadOwn) Object.defineProperty(track, 'stop', { value: original, configurable: true, writable: true, enumerable: false });
    else delete (track as { stop?: unknown }).stop;
  };
}

/**
 * One sent track. It survives a lost connection: after the reconnect the same object produces the
 * same track again (a new `id`), paused if it was paused. Every method checks the state first:
 * a call that does not fit rejects with `INVALID_STATE`, any call after close with
 * `PRODUCER_CLOSED` (except `close()`, which resolves). A track that ends closes it.
 */
export class ProduceManager extends TypedEmitter<ProduceManagerEvents> {
  readonly #ref: ProducerRef;
  readonly #track: MediaStreamTrack;
  #state: ProducerState;

  /** @internal Created by `MediaInfraClient.produceTrack`. */
  constructor(ref: ProducerRef, track: MediaStreamTrack) {
    super();
    this.#ref = ref;
    this.#track = track;
    this.#state = producerState(ref.getSnapshot());
    ref.subscribe({
      next: (snapshot) => this.#update(snapshot),
      complete: () => this.#update(ref.getSnapshot()),
      error: () => this.#update(ref.getSnapshot()),
    });
    // The machine emits these after its new snapshot is in place but before subscribers hear of
    // it: `state` is brought up to date first, so that a listener never sees a stale state.
    const sync = () => this.#update(ref.getSnapshot());
    ref.on('produced', ({ producerId }) => (sync(), this.emit('produced', producerId)));
    ref.on('paused', () => (sync(), this.emit('paused')));
    ref.on('resumed', () => (sync(), this.emit('resumed')));
    ref.on('recordingStarted', () => (sync(), this.emit('recording', true)));
    ref.on('recordingStopped', ({ recording }) => {
      sync();
      this.emit('recording', false);
      if (recording) this.emit('recordingended', recording);
    });
    ref.on('closed', ({ error }) => {
      sync();
      this.emit('closed', error ? MediaInfraError.fromInfo(error, ErrorCode.PRODUCER_CLOSED) : undefined);
    });
    // A track that ends closes its producer. `track.stop()` by the page fires no 'ended' (only a
    // source that ends by itself does), so this track's stop() is also watched while it is produced.
    const onEnded = () => void this.close().catch(() => undefined);
    track.addEventListener?.('ended', onEnded);
    const unwatchStop = watchStop(track, onEnded);
    this.once('closed', () => {
      track.removeEventListener?.('ended', onEnded);
      unwatchStop();
    });
  }

  /** The server's producer id (a new one after every reconnect); '' while not produced. */
  get id(): string {
    return this.#ref.getSnapshot().context.producerId ?? '';
  }

  get kind(): 'audio' | 'video' {
    return this.#ref.getSnapshot().context.kind;
  }

  get track(): MediaStreamTrack {
    return this.#track;
  }

  get state(): ProducerState {
    return this.#state;
  }

  get paused(): boolean {
    return this.#ref.getSnapshot().context.paused;
  }

  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** A recording of this track is running, being stopped, or waiting to go on in a new segment after a reconnect. */
  get recording(): boolean {
    const state = recordingState(this.#ref.getSnapshot());
    return state === 'recording' || state === 'stopping' || state === 'suspended';
  }

  /** Pauses sending; resolves once the server paused its producer. Resolves at once if paused. */
  async pause(): Promise<void> {
    if (this.#check('pause') === 'paused') return;
    const end = await this.#run({ type: 'pause' }, (s) => producerState(s) !== 'pausing');
    if (producerState(end) !== 'paused') throw this.#failure(end);
  }

  /** Resumes sending; resolves once the server resumed its producer. Resolves at once if live. */
  async resume(): Promise<void> {
    if (this.#check('resume') === 'live') return;
    const end = await this.#run({ type: 'resume' }, (s) => producerState(s) !== 'resuming');
    if (producerState(end) !== 'live') throw this.#failure(end);
  }

  /** Stops sending for good (the track itself is left to the page). */
  async close(): Promise<void> {
    const snapshot = this.#ref.getSnapshot();
    if (snapshot.status === 'active' && !snapshot.matches('closed') && !snapshot.matches('closing')) this.#ref.send({ type: 'close' });
    await untilSnapshot(this.#ref, (s) => producerState(s) === 'closed');
  }

  /** Starts recording this track on the server. */
  async startRecord(): Promise<void> {
    this.#check('startRecord');
    const end = await this.#run({ type: 'startRecord' }, (s) => recordingState(s) !== 'starting');
    if (producerState(end) === 'closed') throw this.#closedError();
    if (recordingState(end) !== 'recording') throw MediaInfraError.fromInfo(end.context.recordingError, ErrorCode.SERVER_ERROR);
  }

  /** Stops the recording; resolves with the finished recording's id and file path. */
  async stopRecord(): Promise<Recording> {
    this.#check('stopRecord');
    const end = await this.#run({ type: 'stopRecord' }, (s) => recordingState(s) !== 'stopping');
    if (producerState(end) === 'closed') throw this.#closedError();
    if (recordingState(end) !== 'idle' || !end.context.lastRecording) {
      throw MediaInfraError.fromInfo(end.context.recordingError, ErrorCode.SERVER_ERROR);
    }
    return end.context.lastRecording;
  }

  /** Throws PRODUCER_CLOSED / INVALID_STATE; returns the state when the command is a no-op there. */
  #check(command: 'pause' | 'resume' | 'startRecord' | 'stopRecord'): ProducerState | undefined {
    const snapshot = this.#ref.getSnapshot();
    const state = producerState(snapshot);
    if (state === 'closed' || state === 'closing') throw this.#closedError();
    if ((command === 'pause' && state === 'paused') || (command === 'resume' && state === 'live')) return state;
    if (!snapshot.can({ type: command })) {
      throw new MediaInfraError(
        ErrorCode.INVALID_STATE,
        `cannot ${command} a producer that is ${state}${command.endsWith('Record') ? ` (recording: ${recordingState(snapshot)})` : ''}`,
      );
    }
    return undefined;
  }

  async #run(event: { type: 'pause' | 'resume' | 'startRecord' | 'stopRecord' }, settled: (s: ProducerSnapshot) => boolean): Promise<ProducerSnapshot> {
    this.#ref.send(event);
    return untilSnapshot(this.#ref, (s) => producerState(s) === 'closed' || settled(s));
  }

  #failure(end: ProducerSnapshot): MediaInfraError {
    if (producerState(end) === 'closed') return this.#closedError();
    return MediaInfraError.fromInfo(end.context.error, ErrorCode.SERVER_ERROR);
  }

  #closedError(): MediaInfraError {
    return new MediaInfraError(ErrorCode.PRODUCER_CLOSED, 'the producer is closed');
  }

  #update(snapshot: ProducerSnapshot): void {
    const state = producerState(snapshot);
    if (state === this.#state) return;
    this.#state = state;
    this.emit('state', state);
  }
}
