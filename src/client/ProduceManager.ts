import { producerState, recordingState, sourceState, type ProducerSnapshot, type ProducerState, type Recording } from '../../machines/producerMachine.js';
import type { ProducerRef } from '../../machines/clientMachine.js';
import type { MediaKind } from '../../machines/shared.js';
import { ErrorCode } from '../protocol/codes.js';
import { MediaInfraError } from './MediaInfraError.js';
import { TrackManager } from './TrackManager.js';
import { untilSnapshot } from './untilSnapshot.js';

export type { ProducerState };

type ProducerCommand = { type: 'pause' } | { type: 'resume' } | { type: 'startRecord' } | { type: 'stopRecord' } | { type: 'replaceTrack'; track: unknown };

/** The events of {@link ProduceManager} (`producer.on(name, listener)`): name → the listener's arguments. */
export type ProduceManagerEvents = {
  /** Every change of `state`. */
  state: [state: ProducerState];
  /** Produced (again, after a reconnect): `id` is the new server producer id. */
  produced: [id: string];
  /** `pause()` took effect: the server paused its producer (not fired for one produced paused). */
  paused: [];
  /** Resumed by `resume()`. */
  resumed: [];
  /** Recording started (`true`) or ended (`false`). */
  recording: [recording: boolean];
  /** A recording ended (by `stopRecord()` or by the server) and its file is complete. */
  recordingended: [recording: Recording];
  /** Closed for good; `error` says why when it was not `close()`. */
  closed: [error: MediaInfraError | undefined];
};

/** @internal */
export { producerState };

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
export class ProduceManager extends TrackManager<ProducerSnapshot, ProducerCommand, ProducerState, ProduceManagerEvents> {
  readonly #ref: ProducerRef;
  /** Stops watching the sent track's end (the track being sent changes with `replaceTrack`). */
  #unwatchTrack: () => void = () => {};

  /** @internal Created by `MediaInfraClient.produceTrack`. */
  constructor(ref: ProducerRef) {
    super(ref, producerState);
    this.#ref = ref;
    ref.on('produced', ({ producerId }) => (this.sync(), this.emit('produced', producerId)));
    ref.on('paused', () => (this.sync(), this.emit('paused')));
    ref.on('resumed', () => (this.sync(), this.emit('resumed')));
    ref.on('recordingStarted', () => (this.sync(), this.emit('recording', true)));
    ref.on('recordingStopped', ({ recording }) => {
      this.sync();
      this.emit('recording', false);
      if (recording) this.emit('recordingended', recording);
    });
    ref.on('closed', ({ error }) => {
      this.sync();
      this.emit('closed', error ? MediaInfraError.fromInfo(error, ErrorCode.PRODUCER_CLOSED) : undefined);
    });
    this.#watchTrack(this.track);
    this.once('closed', () => this.#unwatchTrack());
  }

  /**
   * A track that ends closes its producer. `track.stop()` by the page fires no 'ended' (only a
   * source that ends by itself does), so the sent track's stop() is also watched while it is produced.
   */
  #watchTrack(track: MediaStreamTrack): void {
    this.#unwatchTrack();
    const onEnded = () => void this.close().catch(() => undefined);
    track.addEventListener?.('ended', onEnded);
    const unwatchStop = watchStop(track, onEnded);
    this.#unwatchTrack = () => {
      track.removeEventListener?.('ended', onEnded);
      unwatchStop();
    };
  }

  /** The server's producer id (a new one after every reconnect); '' while not produced. */
  get id(): string {
    return this.#ref.getSnapshot().context.producerId ?? '';
  }

  /** `'audio'` or `'video'`, the track's kind. */
  get kind(): MediaKind {
    return this.#ref.getSnapshot().context.kind;
  }

  /** The track being sent: the one given to `produceTrack`, or to the last `replaceTrack` (never stopped by the client: the page owns it). */
  get track(): MediaStreamTrack {
    return this.#ref.getSnapshot().context.track as MediaStreamTrack;
  }

  /** Where it is in its life: `waiting | producing | live | pausing | paused | resuming | closing | closed`. */
  get state(): ProducerState {
    return this.current;
  }

  /** `state` is `closed`: for good, every method but `close()` rejects with `PRODUCER_CLOSED`. */
  get closed(): boolean {
    return this.current === 'closed';
  }

  /** Paused by `pause()` (or produced paused); kept across a reconnect. */
  get paused(): boolean {
    return this.#ref.getSnapshot().context.paused;
  }

  /** A recording of this track is running, being stopped, or waiting to go on in a new segment after a reconnect. */
  get recording(): boolean {
    const state = recordingState(this.#ref.getSnapshot());
    return state === 'recording' || state === 'stopping' || state === 'suspended';
  }

  /**
   * Pauses sending; resolves once the server paused its producer. Resolves at once if paused.
   * @throws {@link MediaInfraError} (as a rejection) `INVALID_STATE` when not `live` (e.g. `waiting`
   * while reconnecting, or resuming); `PRODUCER_CLOSED` when closed, before or meanwhile;
   * `CONNECTION_CLOSED` when the connection drops before the answer; `TIMEOUT` after
   * `requestTimeout`; `SERVER_ERROR` (or the server's own code) when the server fails.
   */
  pause(): Promise<void> {
    return this.command({ type: 'pause' }, 'pausing', 'paused');
  }

  /**
   * Resumes sending; resolves once the server resumed its producer. Resolves at once if live.
   * @throws {@link MediaInfraError} (as a rejection) `INVALID_STATE` when not `paused` (e.g.
   * `waiting` while reconnecting, or pausing); `PRODUCER_CLOSED` when closed, before or meanwhile;
   * `CONNECTION_CLOSED` when the connection drops before the answer; `TIMEOUT` after
   * `requestTimeout`; `SERVER_ERROR` (or the server's own code) when the server fails.
   */
  resume(): Promise<void> {
    return this.command({ type: 'resume' }, 'resuming', 'live');
  }

  /**
   * Stops sending for good (the track itself is left to the page); resolves once `closed`, at once
   * if already closed. Applies at once in any state, reconnecting included. Never rejects.
   */
  async close(): Promise<void> {
    const snapshot = this.#ref.getSnapshot();
    if (snapshot.status === 'active' && snapshot.can({ type: 'close' })) this.#ref.send({ type: 'close' });
    await untilSnapshot(this.#ref, (s) => producerState(s) === 'closed');
  }

  /**
   * Starts recording this track on the server; resolves once the recording runs.
   * @throws {@link MediaInfraError} (as a rejection) `INVALID_STATE` when not produced (`waiting`,
   * `producing`) or a recording is already running or stopping; `PRODUCER_CLOSED` when closed,
   * before or meanwhile; `UNSUPPORTED_CODEC` when the server cannot record this track's codec;
   * `SERVER_ERROR` when the recorder fails (ffmpeg missing or crashing: the reason is in the
   * message); `CONNECTION_CLOSED` when the connection drops first (the recording then starts again by
   * itself once produced again); `TIMEOUT` after `recordingTimeout`.
   */
  async startRecord(): Promise<void> {
    this.check({ type: 'startRecord' });
    const end = await this.run({ type: 'startRecord' }, (s) => recordingState(s) !== 'starting');
    if (this.isEnded(producerState(end))) throw this.closedError();
    if (recordingState(end) !== 'recording') throw MediaInfraError.fromInfo(end.context.recordingError, ErrorCode.SERVER_ERROR);
  }

  /**
   * Stops the recording; resolves with the finished recording's id and file path once the file is
   * complete.
   * @throws {@link MediaInfraError} (as a rejection) `INVALID_STATE` when no recording is running;
   * `PRODUCER_CLOSED` when closed, before or meanwhile; `SERVER_ERROR` when the file could not be
   * finished (or no media arrived before it stopped: the recording ends `failed`);
   * `CONNECTION_CLOSED` when the connection drops before the answer (the server finalizes the file
   * anyway); `TIMEOUT` after `recordingTimeout`.
   */
  async stopRecord(): Promise<Recording> {
    this.check({ type: 'stopRecord' });
    const end = await this.run({ type: 'stopRecord' }, (s) => recordingState(s) !== 'stopping');
    if (this.isEnded(producerState(end))) throw this.closedError();
    if (recordingState(end) !== 'idle' || !end.context.lastRecording) {
      throw MediaInfraError.fromInfo(end.context.recordingError, ErrorCode.SERVER_ERROR);
    }
    return end.context.lastRecording;
  }

  /**
   * Sends `track` instead of the current one, from the same producer: its `id` stays and every
   * receiver keeps its ConsumeManager (a new size or frame rate just arrives). Resolves once the new
   * track is being sent; called while reconnecting, once it is produced again (the replaced track is
   * the one produced after every reconnect, with the same `simulcast` / `encodings`). The new
   * track's end closes the producer, as the first one's did; the old track is left to the page.
   * @throws {@link MediaInfraError} (as a rejection) `BAD_REQUEST` when `track` is not a live
   * MediaStreamTrack of this producer's kind; `INVALID_STATE` when the browser refuses the track;
   * `PRODUCER_CLOSED` when closed, before or meanwhile. A second call before the first resolved
   * wins: both resolve once its track is sent.
   */
  async replaceTrack(track: MediaStreamTrack): Promise<void> {
    if (track?.kind !== this.kind) throw new MediaInfraError(ErrorCode.BAD_REQUEST, `replaceTrack needs a ${this.kind} MediaStreamTrack`);
    if (track.readyState === 'ended') throw new MediaInfraError(ErrorCode.BAD_REQUEST, 'replaceTrack: the track has ended');
    if (this.check({ type: 'replaceTrack', track }) || track === this.track) return;
    this.#watchTrack(track);
    const end = await this.run({ type: 'replaceTrack', track }, (s) => sourceState(s) === 'current');
    if (this.isEnded(producerState(end))) throw this.closedError();
    if (end.context.sourceError) throw MediaInfraError.fromInfo(end.context.sourceError, ErrorCode.INVALID_STATE);
  }

  /** @internal */
  protected override isEnded(state: ProducerState): boolean {
    return state === 'closed' || state === 'closing';
  }

  /** @internal */
  protected override describe(state: ProducerState, command: ProducerCommand): string {
    const recording = command.type.endsWith('Record') ? ` (recording: ${recordingState(this.#ref.getSnapshot())})` : '';
    return `producer that is ${state}${recording}`;
  }

  /** @internal */
  protected override closedError(): MediaInfraError {
    return new MediaInfraError(ErrorCode.PRODUCER_CLOSED, 'the producer is closed');
  }
}
