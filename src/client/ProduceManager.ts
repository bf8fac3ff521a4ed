import { producerState, recordingState, sourceState, type ProducerSnapshot, type ProducerState, type Recording, type RecordingState } from '../../machines/producerMachine.js';
import type { ProducerRef } from '../../machines/clientMachine.js';
import type { MediaKind } from '../../machines/shared.js';
import { ErrorCode } from '../protocol/codes.js';
import type { CallHealth } from './callHealth.js';
import type { ProducerStats } from './callStats.js';
import { MediaInfraError } from './MediaInfraError.js';
import { TrackManager } from './TrackManager.js';
import { untilSnapshot } from './untilSnapshot.js';

export type { ProducerState };

/** Where a pause/resume intent is applied (or the producer ended). */
const settledMedia: readonly ProducerState[] = ['live', 'paused', 'closing', 'closed'];
/** Where a recording rests: no request in flight, nothing waiting for the producer. */
const restingRecording: readonly RecordingState[] = ['idle', 'failed', 'recording'];

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
  /** The server's score of what it receives of this track changed (`score`). */
  scorechange: [score: number];
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

  readonly #health: CallHealth | undefined;

  /** @internal Created by `MediaInfraClient.produceTrack`. */
  constructor(ref: ProducerRef, health?: CallHealth) {
    super(ref, producerState);
    this.#ref = ref;
    this.#health = health;
    const detach = health?.attachProducer(this, (score) => this.emit('scorechange', score));
    if (detach) this.once('closed', detach);
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

  /** The page's last word: true from a `pause()` call on (also while reconnecting), false from a `resume()` call on (or produced paused); kept across a reconnect. */
  get paused(): boolean {
    return this.#ref.getSnapshot().context.paused;
  }

  /** A recording of this track is running, being stopped, or waiting to go on in a new segment after a reconnect. */
  get recording(): boolean {
    const state = recordingState(this.#ref.getSnapshot());
    return state === 'recording' || state === 'stopping' || state === 'suspended';
  }

  /** The server's score (0-10, 10 perfect) of what it receives of this track, as it last said; `null` before it did (or while not produced). */
  get score(): number | null {
    return this.#health?.producerScore(this.id) ?? null;
  }

  /**
   * What this track's sender does now and what the server receives of it (call health).
   * @throws {@link MediaInfraError} (as a rejection) `PRODUCER_CLOSED` when closed.
   */
  async getStats(): Promise<ProducerStats> {
    if (this.isEnded(this.current)) throw this.closedError();
    if (!this.#health) throw new MediaInfraError(ErrorCode.INVALID_STATE, 'this producer has no client');
    return this.#health.producerStats(this);
  }

  /**
   * Pauses sending: the browser stops sending this track at once (not one packet leaves after the
   * call, whatever the connection is doing) and `paused` is true at once; resolves once the server
   * paused its producer. Called while reconnecting (or while another pause/resume is in flight) it is
   * kept as the intent and applied once produced again: the track is then produced paused. The last
   * call wins: a pause superseded by a later `resume()` resolves when that one is applied.
   * Resolves at once if paused.
   * @throws {@link MediaInfraError} (as a rejection) `PRODUCER_CLOSED` when closed, before or
   * meanwhile; the server's refusal (`SERVER_ERROR` or its own code, `TIMEOUT` after
   * `requestTimeout`): the producer then sends again and `paused` is false.
   */
  pause(): Promise<void> {
    return this.#intent({ type: 'pause' }, 'paused');
  }

  /**
   * Resumes sending; resolves once the server resumed its producer (the browser sends again then).
   * Called while reconnecting (or while another pause/resume is in flight) it is kept as the intent
   * and applied once produced again; the last call wins. Resolves at once if live.
   * @throws {@link MediaInfraError} (as a rejection) `PRODUCER_CLOSED` when closed, before or
   * meanwhile; the server's refusal (`SERVER_ERROR` or its own code, `TIMEOUT` after
   * `requestTimeout`): the producer then stays paused.
   */
  resume(): Promise<void> {
    return this.#intent({ type: 'resume' }, 'live');
  }

  /** Records a pause/resume intent and awaits the state where it settles: `done`, or the other one (superseded or refused). */
  async #intent(command: { type: 'pause' | 'resume' }, done: 'paused' | 'live'): Promise<void> {
    const snapshot = this.#ref.getSnapshot();
    const state = producerState(snapshot);
    if (this.isEnded(state)) throw this.closedError();
    if (state === done && snapshot.context.paused === (done === 'paused')) return;
    const end = await this.run(command, (s) => settledMedia.includes(producerState(s)));
    if (this.isEnded(producerState(end))) throw this.closedError();
    // Superseded by a later call: resolved with it. Refused by the server: its reason.
    if (producerState(end) !== done && end.context.error) throw MediaInfraError.fromInfo(end.context.error, ErrorCode.SERVER_ERROR);
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
   * Starts recording this track on the server; resolves once the recording runs, and `recording`
   * is true at once. Called while reconnecting (or before the track is first produced, or while a
   * stopRecord() is in flight) it is kept as the intent and applied once produced; called while
   * another startRecord() is in flight it resolves with that one.
   * @throws {@link MediaInfraError} (as a rejection) `INVALID_STATE` when a recording is already
   * running, or a later stopRecord() came before it started; `PRODUCER_CLOSED` when closed, before
   * or meanwhile; `UNSUPPORTED_CODEC` when the server cannot record this track's codec;
   * `SERVER_ERROR` when the recorder fails (ffmpeg missing or crashing: the reason is in the
   * message); `TIMEOUT` after `recordingTimeout`.
   */
  async startRecord(): Promise<void> {
    const state = this.#recordingCall('startRecord', ['idle', 'failed', 'stopping'], ['starting', 'suspended']);
    const end = await this.#settledRecording(state, { type: 'startRecord' });
    if (recordingState(end) !== 'recording') {
      throw MediaInfraError.fromInfo(end.context.recordingError, ErrorCode.INVALID_STATE);
    }
  }

  /**
   * Stops the recording; resolves with the finished recording's id and file path once the file is
   * complete. Called while reconnecting, no new segment starts: it resolves at once with the segment
   * the server finalized when the connection was lost. Called while the recording is starting, it
   * is stopped once started; while another stopRecord() is in flight, it resolves with that one.
   * @throws {@link MediaInfraError} (as a rejection) `INVALID_STATE` when no recording is running
   * or wanted (or none had run yet when it was called); `PRODUCER_CLOSED` when closed, before or
   * meanwhile; `SERVER_ERROR` when the file could not be finished (or no media arrived before it
   * stopped: the recording ends `failed`); `TIMEOUT` after `recordingTimeout`.
   */
  async stopRecord(): Promise<Recording> {
    const state = this.#recordingCall('stopRecord', ['recording', 'starting', 'suspended'], ['stopping']);
    const end = await this.#settledRecording(state, { type: 'stopRecord' });
    const recording = end.context.lastRecording;
    if (!recording) throw MediaInfraError.fromInfo(end.context.recordingError, ErrorCode.INVALID_STATE);
    return recording;
  }

  /** Checks a recording call: `send` the states where it is a new intent, `join` those where one like it is in flight. */
  #recordingCall(name: 'startRecord' | 'stopRecord', send: RecordingState[], join: RecordingState[]): 'send' | 'join' {
    const snapshot = this.#ref.getSnapshot();
    if (this.isEnded(producerState(snapshot))) throw this.closedError();
    const state = recordingState(snapshot);
    if (send.includes(state)) return 'send';
    if (join.includes(state)) return 'join';
    throw new MediaInfraError(ErrorCode.INVALID_STATE, `cannot ${name} a producer whose recording is ${state}`);
  }

  /** The first snapshot where the recording rests (nothing in flight, nothing waiting for the producer), or it closed. */
  async #settledRecording(call: 'send' | 'join', command: { type: 'startRecord' | 'stopRecord' }): Promise<ProducerSnapshot> {
    const settled = (s: ProducerSnapshot) => restingRecording.includes(recordingState(s));
    const end = call === 'send' ? await this.run(command, settled) : await untilSnapshot(this.#ref, (s) => producerState(s) === 'closed' || settled(s));
    if (this.isEnded(producerState(end))) throw this.closedError();
    return end;
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
