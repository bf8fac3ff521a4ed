import type { ErrorInfo } from '../../machines/shared.js';
import { ErrorCode } from '../protocol/codes.js';
import { MediaInfraError } from './MediaInfraError.js';
import { TypedEmitter, type EventMap } from './TypedEmitter.js';
import { untilSnapshot, type Watchable } from './untilSnapshot.js';

/** What a manager reads of its actor's snapshots: whether it runs, its last error, what it can take. */
export interface TrackSnapshot<C> {
  status: string;
  context: { error: ErrorInfo | undefined };
  can(command: C): boolean;
}

/** The actor behind a manager. */
export interface TrackActor<S, C> extends Watchable<S> {
  send(command: C): void;
}

/**
 * What ProduceManager and ConsumeManager share: a `state` kept from the machine's status (its
 * tags, never its state names), and commands that check the state first (mediasoup-client style:
 * a closed manager throws its own closed error, a command that does not fit `INVALID_STATE`), then
 * send the event and await the state that answers it.
 */
export abstract class TrackManager<
  S extends TrackSnapshot<C>,
  C extends { type: string },
  State extends string,
  E extends EventMap & { state: [state: State] },
> extends TypedEmitter<E> {
  /** @internal */
  protected readonly actor: TrackActor<S, C>;
  readonly #status: (snapshot: S) => State;
  #state: State;

  constructor(actor: TrackActor<S, C>, status: (snapshot: S) => State) {
    super();
    this.actor = actor;
    this.#status = status;
    this.#state = status(actor.getSnapshot());
    const sync = () => this.sync();
    actor.subscribe({ next: sync, complete: sync, error: sync });
  }

  /** @internal The state as last synced (each manager shows it as its public `state`). */
  protected get current(): State {
    return this.#state;
  }

  /** @internal The error a manager of this kind rejects with once it is closed. */
  protected abstract closedError(): MediaInfraError;

  /** @internal States in which every command fails with `closedError()`. */
  protected isEnded(state: State): boolean {
    return state === 'closed';
  }

  /** @internal How `INVALID_STATE` names the manager and its state: `producer that is waiting`. */
  protected abstract describe(state: State, command: C): string;

  /**
   * @internal Brings `state` up to date. Machines emit their events after the new snapshot is in place but
   * before subscribers hear of it: managers sync first, so that a listener never sees a stale state.
   */
  protected sync(): void {
    const state = this.#status(this.actor.getSnapshot());
    if (state === this.#state) return;
    this.#state = state;
    this.emit('state', state);
    this.stateChanged(state);
  }

  /** @internal Called after every `state` event. */
  protected stateChanged(_state: State): void {}

  /** @internal Throws the closed error or `INVALID_STATE`; returns true when `command` has nothing to do (already `noOpIn`). */
  protected check(command: C, noOpIn?: State): boolean {
    const snapshot = this.actor.getSnapshot();
    const state = this.#status(snapshot);
    if (this.isEnded(state)) throw this.closedError();
    if (state === noOpIn) return true;
    if (!snapshot.can(command)) throw new MediaInfraError(ErrorCode.INVALID_STATE, `cannot ${command.type} a ${this.describe(state, command)}`);
    return false;
  }

  /** @internal Sends `command` and resolves with the first snapshot where `settled` holds (or the manager closed). */
  protected run(command: C, settled: (snapshot: S) => boolean): Promise<S> {
    this.actor.send(command);
    return untilSnapshot(this.actor, (s) => this.#status(s) === 'closed' || settled(s));
  }

  /** @internal A command that passes through `transient` to `done`: resolves there, rejects with why not. */
  protected async command(command: C, transient: State, done: State): Promise<void> {
    if (this.check(command, done)) return;
    const end = await this.run(command, (s) => this.#status(s) !== transient);
    if (this.#status(end) !== done) throw this.failure(end);
  }

  /** @internal Why a command did not get where it should: closed (or closing) meanwhile, or the machine's error. */
  protected failure(end: S): MediaInfraError {
    if (this.isEnded(this.#status(end))) return this.closedError();
    return MediaInfraError.fromInfo(end.context.error, ErrorCode.SERVER_ERROR);
  }
}
