// Traces: a session's inspection events as plain, redacted JSON, and their replay.
//
// A trace names every actor by its systemId (`client`, `signaling`, `producer.1`, ...) or, for an
// invoked actor without one, `<parent>/<id>` (`signaling/socket`). Payloads (events, contexts) are
// redacted: secret-looking keys, every secret string (the token), live objects (tracks, actor
// references, errors) turned into short descriptions, depth, arrays and strings bounded.
//
// Call health (no actor) is in `health` entries, each on the actor it is about: a producer's or
// consumer's score and stats summary on `producer.N` / `consumer.<id>`, the connection quality, the
// round-trip time and the current speaker on `client`. Version 2 added them; a version-1 trace
// (without them) still replays.
import type { HealthEvent, LiveSource, RecordedEvent } from '../client/inspection.js';

export const TRACE_FORMAT = 'media-infra-trace';
export const TRACE_VERSION = 2;
const READABLE_VERSIONS: readonly number[] = [1, 2];

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The state nodes of a machine, for drawing it (a trace carries one per machine it shows). */
export interface StateShape {
  key: string;
  type: string;
  states?: StateShape[];
}

/** The speaker: its user, its producer, and the actor here that sends or receives it (when one does). */
export interface SpeakerView {
  userId: string;
  producerId: string;
  actor?: string;
}

/** What call health said of one actor: only the fields an entry changes are in it (numbers rounded). */
export interface HealthView {
  /** 0-10, the server's. */
  score?: number | null;
  bitrateBps?: number | null;
  framesPerSecond?: number | null;
  /** 0-1. */
  lossFraction?: number | null;
  frameWidth?: number | null;
  frameHeight?: number | null;
  /** `client` only: */
  quality?: string;
  roundTripTimeMs?: number | null;
  speaker?: SpeakerView | null;
}

export type TraceEvent =
  | { seq: number; t: number; kind: 'actor'; actor: string; parent?: string; machine?: string }
  | { seq: number; t: number; kind: 'event'; actor: string; source?: string; event: Json }
  | { seq: number; t: number; kind: 'snapshot'; actor: string; status: string; value?: Json; context?: Json; cause: string }
  | { seq: number; t: number; kind: 'health'; actor: string; health: HealthView };

export interface Trace {
  format: typeof TRACE_FORMAT;
  /** 1: without health entries. */
  version: 1 | typeof TRACE_VERSION;
  createdAt: string;
  /** Always true: everything in a trace went through `redact`. */
  redacted: true;
  /** Events left out because the recording is bounded. */
  dropped: number;
  machines: Record<string, StateShape>;
  events: TraceEvent[];
}

// ---------------------------------------------------------------------------------------------
// Redaction.

const SECRET_KEY = /token|secret|password|passwd|authorization|api[-_]?key|credential|cookie/i;
const MAX_DEPTH = 6;
const MAX_ITEMS = 24;
const MAX_STRING = 400;
export const REDACTED = '[redacted]';

type ActorLike = { id: string; sessionId: string; systemId?: string; _parent?: ActorLike; send: unknown; logic?: unknown };

function isActorRef(value: unknown): value is ActorLike {
  return !!value && typeof value === 'object' && typeof (value as ActorLike).sessionId === 'string' && typeof (value as ActorLike).send === 'function';
}

/** `producer.1`, `signaling`, or `signaling/socket` for an invoked actor without a systemId. */
export function actorName(ref: ActorLike): string {
  if (ref.systemId) return ref.systemId;
  return ref._parent ? `${actorName(ref._parent)}/${ref.id}` : ref.id || 'client';
}

export function redactString(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join(REDACTED);
  // a URL's token parameter, whatever its value
  out = out.replace(/([?&](?:token|access_token|key)=)[^&#\s"']+/gi, `$1${REDACTED}`);
  return out.length > MAX_STRING ? `${out.slice(0, MAX_STRING)}…` : out;
}

/** A JSON-safe, redacted copy of `value`. */
export function redact(value: unknown, secrets: readonly string[], depth = 0): Json {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
      return redactString(value, secrets);
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return String(value);
    case 'function':
    case 'symbol':
      return null;
  }
  if (isActorRef(value)) return `[actor ${actorName(value)}]`;
  if (depth >= MAX_DEPTH) return '[…]';
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ITEMS).map((v) => redact(v, secrets, depth + 1));
    if (value.length > MAX_ITEMS) items.push(`[${value.length - MAX_ITEMS} more]`);
    return items;
  }
  const obj = value as Record<string, unknown>;
  if (value instanceof Error || (typeof obj.message === 'string' && typeof obj.stack === 'string')) {
    const e = value as { name?: string; code?: unknown; message: string };
    return { name: String(e.name ?? 'Error'), ...(typeof e.code === 'string' && { code: e.code }), message: redactString(e.message, secrets) };
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    const name = (proto?.constructor?.name as string | undefined) ?? 'object';
    // a MediaStreamTrack (or anything like one): its kind only, never its device label
    if (typeof obj.kind === 'string' && typeof obj.readyState === 'string') return `[${name} ${obj.kind}]`;
    if (value instanceof Map) return redact(Object.fromEntries(value), secrets, depth);
    if (value instanceof Set) return redact([...value], secrets, depth);
    if (value instanceof Date) return value.toISOString();
    return `[${name}]`;
  }
  const out: Record<string, Json> = {};
  let count = 0;
  for (const [key, v] of Object.entries(obj)) {
    if (typeof v === 'function' || v === undefined) continue;
    if (++count > MAX_ITEMS * 2) {
      out['…'] = 'more keys';
      break;
    }
    out[key] = SECRET_KEY.test(key) ? REDACTED : redact(v, secrets, depth + 1);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// From inspection events to trace events.

function shapeOf(node: { key: string; type: string; states?: Record<string, unknown> }): StateShape {
  const children = Object.values(node.states ?? {}) as Array<{ key: string; type: string; states?: Record<string, unknown> }>;
  return { key: node.key, type: node.type, ...(children.length > 0 && { states: children.map(shapeOf) }) };
}

/** Call health's events are no inspection events: they name no actor. */
export function isHealthEvent(event: RecordedEvent['event']): event is HealthEvent {
  return event.type === HEALTH_TYPE;
}
const HEALTH_TYPE: HealthEvent['type'] = '@media-infra.health';

type HealthRecord = HealthEvent['record'];
type StreamStats = Extract<HealthRecord, { kind: 'stats' }>['stats']['producers' | 'consumers'][number];

const rounded = (value: number | null | undefined, digits: number): number | null => (typeof value === 'number' ? Math.round(value * 10 ** digits) / 10 ** digits : null);

function streamHealth(s: StreamStats): HealthView {
  return {
    score: s.score,
    bitrateBps: rounded(s.bitrateBps, 0),
    framesPerSecond: rounded(s.framesPerSecond, 1),
    lossFraction: rounded(s.lossFraction, 3),
    frameWidth: s.frameWidth,
    frameHeight: s.frameHeight,
  };
}

/** Turns inspection events into trace events, numbering them and collecting machine shapes. */
export class TraceWriter {
  readonly events: TraceEvent[] = [];
  readonly machines: Record<string, StateShape> = {};
  #t0: number | undefined;
  #seq = 0;
  /** Each actor's last context as written: an unchanged one is left out (replay keeps it). */
  readonly #lastContext = new Map<string, string>();
  /** Which actor call health's ids are about, from the actors' contexts. */
  readonly #machineOf = new Map<string, string>();
  readonly #producerActor = new Map<string, string>();
  readonly #consumerActor = new Map<string, string>();
  /** A server producer id → the consumer actor here that receives it. */
  readonly #consumedBy = new Map<string, string>();
  #root = 'client';

  constructor(readonly secrets: readonly string[]) {}

  /** The trace events of one recorded event: none, one, or (a stats summary) one per actor it is about. */
  add({ at, event }: RecordedEvent): TraceEvent[] {
    this.#t0 ??= at;
    const t = at - this.#t0;
    if (isHealthEvent(event)) {
      return this.#healthOf(event.record).map(({ actor, health }) => this.#push({ seq: this.#seq, t, kind: 'health', actor, health: redact(health, this.secrets) as HealthView }));
    }
    const e = event as unknown as { type: string; actorRef: ActorLike; sourceRef?: ActorLike; event?: unknown; snapshot?: unknown };
    if (!e.actorRef) return [];
    const base = { seq: this.#seq, t, actor: actorName(e.actorRef) };
    if (e.type === '@xstate.actor') {
      this.#lastContext.delete(base.actor);
      const logic = e.actorRef.logic as { id?: string; root?: { key: string; type: string; states?: Record<string, unknown> } } | undefined;
      const machine = logic?.root ? logic.id : undefined;
      if (machine && logic?.root && !this.machines[machine]) this.machines[machine] = shapeOf(logic.root);
      if (machine) this.#machineOf.set(base.actor, machine);
      if (!e.actorRef._parent) this.#root = base.actor;
      return [this.#push({ ...base, kind: 'actor', ...(e.actorRef._parent && { parent: actorName(e.actorRef._parent) }), ...(machine && { machine }) })];
    }
    if (e.type === '@xstate.event') {
      return [this.#push({ ...base, kind: 'event', ...(e.sourceRef && { source: actorName(e.sourceRef) }), event: redact(e.event, this.secrets) })];
    }
    if (e.type === '@xstate.snapshot') {
      const s = (e.snapshot ?? {}) as { status?: string; value?: unknown; context?: unknown };
      this.#learnIds(base.actor, s.context);
      const context = s.context === undefined ? undefined : redact(s.context, this.secrets);
      const contextText = JSON.stringify(context);
      const changed = context !== undefined && this.#lastContext.get(base.actor) !== contextText;
      if (changed) this.#lastContext.set(base.actor, contextText);
      return [
        this.#push({
          ...base,
          kind: 'snapshot',
          status: String(s.status ?? 'active'),
          ...(s.value !== undefined && { value: redact(s.value, this.secrets) }),
          ...(changed && { context }),
          cause: redactString(String((e.event as { type?: unknown } | undefined)?.type ?? ''), this.secrets),
        }),
      ];
    }
    return [];
  }

  #push(event: TraceEvent): TraceEvent {
    this.#seq++;
    this.events.push(event);
    return event;
  }

  /** A producer's server id and a consumer's id (and the producer it receives) name their actor. */
  #learnIds(actor: string, context: unknown): void {
    const c = (context ?? {}) as { id?: unknown; producerId?: unknown };
    const machine = this.#machineOf.get(actor);
    if (machine === 'producer' && typeof c.producerId === 'string') this.#producerActor.set(c.producerId, actor);
    if (machine === 'consumer' && typeof c.id === 'string') {
      this.#consumerActor.set(c.id, actor);
      if (typeof c.producerId === 'string') this.#consumedBy.set(c.producerId, actor);
    }
  }

  /** What a health record says, actor by actor (a stream no actor here is known for is left out). */
  #healthOf(record: HealthRecord): Array<{ actor: string; health: HealthView }> {
    const on = (actor: string | undefined, health: HealthView) => (actor ? [{ actor, health }] : []);
    switch (record.kind) {
      case 'producerScore':
        return on(this.#producerActor.get(record.producerId), { score: record.score });
      case 'consumerScore':
        return on(this.#consumerActor.get(record.consumerId), { score: record.score });
      case 'connectionQuality':
        return on(this.#root, { quality: record.quality });
      case 'activeSpeaker': {
        const speaker = record.speaker;
        const actor = speaker && (this.#producerActor.get(speaker.producerId) ?? this.#consumedBy.get(speaker.producerId));
        return on(this.#root, { speaker: speaker && { userId: speaker.userId, producerId: speaker.producerId, ...(actor && { actor }) } });
      }
      case 'stats': {
        const { stats } = record;
        return [
          ...on(this.#root, { quality: stats.connectionQuality, roundTripTimeMs: rounded(stats.roundTripTimeMs, 1) }),
          ...stats.producers.flatMap((p) => on(this.#producerActor.get(p.producerId), streamHealth(p))),
          ...stats.consumers.flatMap((c) => on(this.#consumerActor.get(c.consumerId), streamHealth(c))),
        ];
      }
    }
  }
}

/** A trace of these machines and events, created now. */
export function traceOf({ machines, events }: Pick<Trace, 'machines' | 'events'>, dropped: number): Trace {
  return { format: TRACE_FORMAT, version: TRACE_VERSION, createdAt: new Date().toISOString(), redacted: true, dropped, machines, events };
}

export function createTrace(source: LiveSource): Trace {
  const writer = new TraceWriter(source.secrets);
  for (const recorded of source.recorded()) writer.add(recorded);
  return traceOf(writer, source.dropped);
}

/** The trace as a file's text (one event a line); secrets are checked once more on the whole text. */
export function traceToJson(trace: Trace, secrets: readonly string[] = []): string {
  const { machines, events, ...head } = trace;
  const lines = (entries: string[]) => entries.join(',\n');
  let text =
    `${JSON.stringify(head, null, 1).replace(/\n\}$/, ',')}\n` +
    ` "machines": {\n${lines(Object.entries(machines).map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v)}`))}\n },\n` +
    ` "events": [\n${lines(events.map((e) => `  ${JSON.stringify(e)}`))}\n ]\n}\n`;
  for (const secret of secrets) if (secret) text = text.split(secret).join(REDACTED);
  return text;
}

export function parseTrace(input: string | Trace): Trace {
  const trace = (typeof input === 'string' ? JSON.parse(input) : input) as Trace;
  if (!trace || trace.format !== TRACE_FORMAT || !Array.isArray(trace.events)) throw new Error('not a media-infra trace');
  if (!READABLE_VERSIONS.includes(trace.version)) throw new Error(`unsupported trace version ${String(trace.version)}`);
  return trace;
}

// ---------------------------------------------------------------------------------------------
// Replay.

export interface ActorView {
  name: string;
  parent: string | undefined;
  machine: string | undefined;
  status: string;
  value: Json | undefined;
  context: Json | undefined;
  /** What call health said of it last, field by field (`undefined` before anything). */
  health: HealthView | undefined;
  /** seq of the event that last changed its state or context. */
  changedAt: number;
}

/** `{ active: { media: 'paused', recording: 'idle' } }` → `['active.media.paused', 'active.recording.idle']`. */
export function statePaths(value: Json | undefined): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (typeof value !== 'object' || Array.isArray(value)) return [String(value)];
  return Object.entries(value).flatMap(([key, child]) => {
    const below = statePaths(child);
    return below.length ? below.map((p) => `${key}.${p}`) : [key];
  });
}

/** The actors after applying one trace event (a new Map; the input is left alone). */
export function applyTraceEvent(actors: Map<string, ActorView>, e: TraceEvent): Map<string, ActorView> {
  if (e.kind === 'event') return actors;
  const next = new Map(actors);
  if (e.kind === 'actor') {
    next.set(e.actor, { name: e.actor, parent: e.parent, machine: e.machine, status: 'active', value: undefined, context: undefined, health: undefined, changedAt: e.seq });
  } else if (e.kind === 'health') {
    const current = next.get(e.actor);
    if (!current) return actors;
    next.set(e.actor, { ...current, health: { ...current.health, ...e.health } });
  } else {
    const current = next.get(e.actor) ?? { name: e.actor, parent: undefined, machine: undefined, status: 'active', value: undefined, context: undefined, health: undefined, changedAt: e.seq };
    // a snapshot without a context: the context did not change
    next.set(e.actor, { ...current, status: e.status, value: e.value, context: 'context' in e ? e.context : current.context, changedAt: e.seq });
  }
  return next;
}

/** Every actor as it was right after the trace event at `step` (0-based; -1: before any). */
export function stateAt(trace: Trace, step: number): Map<string, ActorView> {
  let actors = new Map<string, ActorView>();
  const end = Math.min(step, trace.events.length - 1);
  for (let i = 0; i <= end; i++) actors = applyTraceEvent(actors, trace.events[i]!);
  return actors;
}

/** `active.media.paused, active.recording.idle` or the status of an actor without states. */
export function describeState(view: ActorView): string {
  const paths = statePaths(view.value);
  if (view.status !== 'active') return paths.length ? `${view.status}: ${paths.join(', ')}` : view.status;
  return paths.length ? paths.join(', ') : 'active';
}

/** `score 10 · 1.24 Mb/s · 30 fps · loss 0%` (a stream), `good · rtt 12 ms` (the client): what is known. */
export function describeHealth(h: HealthView | undefined): string {
  if (!h) return '';
  const parts: string[] = [];
  if (h.quality !== undefined) parts.push(h.quality);
  if (typeof h.roundTripTimeMs === 'number') parts.push(`rtt ${Math.round(h.roundTripTimeMs)} ms`);
  if (typeof h.score === 'number') parts.push(`score ${h.score}`);
  if (typeof h.bitrateBps === 'number') parts.push(h.bitrateBps >= 1e6 ? `${(h.bitrateBps / 1e6).toFixed(2)} Mb/s` : `${Math.round(h.bitrateBps / 1e3)} kb/s`);
  if (typeof h.framesPerSecond === 'number') parts.push(`${h.framesPerSecond} fps`);
  if (typeof h.frameWidth === 'number' && typeof h.frameHeight === 'number') parts.push(`${h.frameWidth}×${h.frameHeight}`);
  if (typeof h.lossFraction === 'number') parts.push(`loss ${Math.round(h.lossFraction * 1000) / 10}%`);
  return parts.join(' · ');
}

/** `alice (producer.1)`, `bob (consumer.3f…)`, or `nobody`. */
export function describeSpeaker(speaker: SpeakerView | null | undefined): string {
  if (!speaker) return 'nobody';
  return `${speaker.userId} (${speaker.actor ?? `producer ${speaker.producerId}`})`;
}
