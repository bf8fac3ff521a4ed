// What the state panel shows, apart from any DOM: the live session (fed its inspection events) or
// a replayed trace, the replay step, the selected actor.
import type { LiveSource, RecordedEvent } from '../client/inspection.js';
import { applyTraceEvent, parseTrace, stateAt, traceOf, TraceWriter, type ActorView, type StateShape, type Trace, type TraceEvent } from './trace.js';

export class PanelState {
  mode: 'live' | 'replay' = 'live';
  step = 0;
  selected: string | undefined;
  #replay: Trace | undefined;
  readonly #writer: TraceWriter | undefined;
  #liveActors = new Map<string, ActorView>();

  constructor(readonly live: LiveSource | undefined) {
    this.#writer = live && new TraceWriter(live.secrets);
    for (const recorded of live?.recorded() ?? []) this.record(recorded);
  }

  /** One inspection event of the live session. */
  record(recorded: RecordedEvent): void {
    for (const e of this.#writer?.add(recorded) ?? []) this.#liveActors = applyTraceEvent(this.#liveActors, e);
  }

  loadTrace(input: Trace | string): void {
    this.#replay = parseTrace(input);
    this.mode = 'replay';
    this.step = 0;
    this.selected = undefined;
  }

  /** The step right after trace event `index` (clamped). */
  goTo(index: number): void {
    if (!this.#replay) throw new Error('no trace loaded');
    this.step = Math.max(0, Math.min(index, this.#replay.events.length - 1));
  }

  /** Back to the live session; false when there is none. */
  goLive(): boolean {
    if (!this.live) return false;
    this.mode = 'live';
    return true;
  }

  select(actor: string): void {
    this.selected = actor;
  }

  /** The trace being replayed, in replay mode. */
  get replaying(): Trace | undefined {
    return this.mode === 'replay' ? this.#replay : undefined;
  }

  /** The live session's trace so far, or the trace being replayed. */
  trace(): Trace {
    return this.replaying ?? traceOf({ machines: { ...this.machines() }, events: [...this.events()] }, this.live?.dropped ?? 0);
  }

  actors(): Map<string, ActorView> {
    const replay = this.replaying;
    return replay ? stateAt(replay, this.step) : this.#liveActors;
  }

  machines(): Record<string, StateShape> {
    return (this.replaying ?? this.#writer)?.machines ?? {};
  }

  /** The live session's events, or the replayed trace's up to the step. */
  events(): readonly TraceEvent[] {
    const replay = this.replaying;
    return replay ? replay.events.slice(0, this.step + 1) : (this.#writer?.events ?? []);
  }

  /** In replay: the seq of the event at the step (what it changed is marked). */
  changedSeq(): number | undefined {
    return this.replaying?.events[this.step]?.seq;
  }
}

/**
 * Feeds the live client's events to `state`, then calls `changed`. A microtask late: an actor gets
 * its systemId right after its creation is inspected, so its name is read a bit later.
 */
export function followLive(source: LiveSource, state: PanelState, changed: () => void): () => void {
  const pending: RecordedEvent[] = [];
  const drain = (): void => {
    for (const recorded of pending.splice(0)) state.record(recorded);
    changed();
  };
  return source.subscribe((recorded) => {
    pending.push(recorded);
    if (pending.length === 1) queueMicrotask(drain);
  });
}
