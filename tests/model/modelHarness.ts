// Model-based testing of the machines with @xstate/graph.
//
// 1. The machine's graph is explored (getAdjacencyMap / getShortestPaths) with the events each
//    state accepts (`__unsafe_getAllOwnEventDescriptors`) and sample payloads for them.
// 2. Paths are chosen so that, together, they reach every state node and take every transition of
//    the machine definition: the shortest path to each state node, and for each transition the
//    shortest path to a state where some event takes it, plus that event.
// 3. Each path is run against a real actor of the machine whose actors are fakes: invoked and
//    spawned actors are promises that the path resolves (`xstate.done.actor.<id>`) or rejects
//    (`xstate.error.actor.<id>`); delays run on a SimulatedClock (`xstate.after.*` fires the
//    scheduled timer). After every step the actor must be in the state the graph predicted.
// 4. Coverage is measured on those real runs (inspection microsteps) and compared with totals
//    computed from the machine definition.
import { getAdjacencyMap, getShortestPaths } from '@xstate/graph';
import {
  __unsafe_getAllOwnEventDescriptors,
  createActor,
  createEmptyActor,
  fromPromise,
  SimulatedClock,
  type AnyActorRef,
  type AnyEventObject,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type EventObject,
  type InspectionEvent,
} from 'xstate';
import { TestRunner } from 'vitest';
import { allNodes, type TransitionLike } from '../../scripts/docs.js';

export interface ModelSpec {
  name: string;
  /** The machine with its actions made harmless (reports to a parent, side effects). */
  machine: AnyStateMachine;
  input?: unknown;
  /** Payload variants by event type; an event type without samples is sent as `{ type }`. */
  samples?: Record<string, AnyEventObject[]>;
  /** The part of a snapshot that identifies a state of the model (value + context guards read). */
  serialize: (snapshot: AnyMachineSnapshot) => string;
  /** Bound on explored states (a guard against a model that never ends). */
  limit?: number;
  /** `false`: not a machine of the product (the harness's own tests); left out of the coverage table. */
  table?: boolean;
}

export interface ModelPath {
  /** Events after the initial state, each with the snapshot the graph predicts after it. */
  steps: Array<{ event: EventObject; state: AnyMachineSnapshot }>;
}

export interface Coverage {
  stateNodes: string[];
  transitions: string[];
  coveredStateNodes: Set<string>;
  coveredTransitions: Set<string>;
}

// ---------------------------------------------------------------------------------------------
// The definition: every state node and every transition.

function transitionKey(t: TransitionLike): string {
  const list = t.eventType === '' ? t.source.always ?? [] : t.source.transitions.get(t.eventType) ?? [];
  const index = list.indexOf(t);
  return `${t.source.id} --${t.eventType === '' ? '(always)' : t.eventType}${list.length > 1 ? `[${index}]` : ''}`;
}

export function definitionTotals(machine: AnyStateMachine): { stateNodes: string[]; transitions: string[] } {
  const nodes = allNodes(machine);
  const transitions: string[] = [];
  for (const node of nodes) {
    for (const list of node.transitions.values()) for (const t of list) transitions.push(transitionKey(t));
    for (const t of node.always ?? []) transitions.push(transitionKey(t));
  }
  return { stateNodes: nodes.map((n) => n.id), transitions };
}

// ---------------------------------------------------------------------------------------------
// Exploring the graph.

/** A fresh scope for each step: spawned actors register their systemIds in a system of their own. */
function freshScope(onMicrostep?: (transitions: TransitionLike[]) => void) {
  const self = createEmptyActor();
  if (onMicrostep) {
    self.system.inspect((event: InspectionEvent) => {
      if (event.type === '@xstate.microstep') onMicrostep((event as unknown as { _transitions: TransitionLike[] })._transitions);
    });
  }
  return {
    self,
    logger: () => {},
    id: '',
    sessionId: Math.random().toString(36).slice(2),
    defer: () => {},
    system: self.system,
    stopChild: () => {},
    emit: () => {},
    actionExecutor: () => {},
  };
}

function eventsFor(spec: ModelSpec) {
  return (snapshot: AnyMachineSnapshot): EventObject[] =>
    __unsafe_getAllOwnEventDescriptors(snapshot)
      // raised by the machine itself when a compound state completes: never an outside event
      .filter((type) => !type.startsWith('xstate.done.state.'))
      .flatMap((type) => spec.samples?.[type] ?? [{ type }]);
}

export function planPaths(spec: ModelSpec): { paths: ModelPath[]; explored: number } {
  const { machine, serialize } = spec;
  const takenByEdge = new Map<string, string[]>();
  const edgeId = (snapshot: AnyMachineSnapshot, event: EventObject) => `${serialize(snapshot)} ## ${JSON.stringify(event)}`;
  const logic = {
    transition: (snapshot: AnyMachineSnapshot, event: EventObject) => {
      const taken: string[] = [];
      const scope = freshScope((ts) => taken.push(...ts.map(transitionKey)));
      const next = machine.transition(snapshot, event, scope as never);
      takenByEdge.set(edgeId(snapshot, event), taken);
      return next;
    },
    getInitialSnapshot: (_scope: unknown, input: unknown) => machine.getInitialSnapshot(freshScope() as never, input),
  };
  const options = {
    input: spec.input,
    events: eventsFor(spec),
    serializeState: (s: AnyMachineSnapshot) => serialize(s),
    limit: spec.limit ?? 20_000,
  };
  const adjacency = getAdjacencyMap(logic as never, options as never) as Record<
    string,
    { state: AnyMachineSnapshot; transitions: Record<string, { event: EventObject; state: AnyMachineSnapshot }> }
  >;
  const shortest = getShortestPaths(logic as never, options as never) as Array<{
    state: AnyMachineSnapshot;
    steps: Array<{ state: AnyMachineSnapshot; event: EventObject }>;
  }>;
  const toState = new Map<string, ModelPath>();
  for (const p of shortest) {
    toState.set(serialize(p.state), { steps: p.steps.slice(1).map((s) => ({ event: s.event, state: s.state })) });
  }

  const chosen = new Map<string, ModelPath>();
  const choose = (path: ModelPath) => chosen.set(path.steps.map((s) => JSON.stringify(s.event)).join(' > '), path);

  // every state node: the shortest path to a state containing it
  const totals = definitionTotals(machine);
  const byLength = [...toState.values()].sort((a, b) => a.steps.length - b.steps.length);
  for (const id of totals.stateNodes) {
    const path = byLength.find((p) => {
      const last = p.steps.at(-1)?.state ?? logic.getInitialSnapshot(undefined, spec.input);
      return (last._nodes as Array<{ id: string }>).some((n) => n.id === id);
    });
    if (path) choose(path);
  }
  // every transition: the shortest path to a state where an event takes it, plus that event
  const best = new Map<string, ModelPath>();
  for (const [from, { transitions }] of Object.entries(adjacency)) {
    const head = toState.get(from);
    if (!head) continue;
    for (const { event, state } of Object.values(transitions)) {
      const taken = takenByEdge.get(`${from} ## ${JSON.stringify(event)}`) ?? [];
      for (const key of taken) {
        const current = best.get(key);
        if (!current || current.steps.length > head.steps.length + 1) best.set(key, { steps: [...head.steps, { event, state }] });
      }
    }
  }
  for (const path of best.values()) choose(path);
  return { paths: [...chosen.values()], explored: Object.keys(adjacency).length };
}

// ---------------------------------------------------------------------------------------------
// Running a path against a real actor.

class Deferreds {
  readonly pending = new Map<string, { resolve(value: unknown): void; reject(error: unknown): void }>();
  actor() {
    return fromPromise<unknown, unknown>(
      ({ self }) =>
        new Promise((resolve, reject) => {
          this.pending.set(self.id, { resolve, reject });
        }),
    );
  }
  settle(id: string, ok: boolean, value: unknown): void {
    const entry = this.pending.get(id);
    if (!entry) throw new Error(`no running actor '${id}' to ${ok ? 'resolve' : 'reject'}`);
    this.pending.delete(id);
    if (ok) entry.resolve(value);
    else entry.reject(value);
  }
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

async function fire(actor: AnyActorRef, event: EventObject, deferreds: Deferreds): Promise<void> {
  const done = /^xstate\.done\.actor\.(.+)$/.exec(event.type);
  const error = /^xstate\.error\.actor\.(.+)$/.exec(event.type);
  if (done) deferreds.settle(done[1]!, true, (event as { output?: unknown }).output);
  else if (error) deferreds.settle(error[1]!, false, (event as { error?: unknown }).error);
  else if (event.type.startsWith('xstate.after.')) {
    const system = actor.system as unknown as {
      _snapshot: { _scheduledEvents: Record<string, { source: AnyActorRef; target: AnyActorRef; event: EventObject; id: string }> };
      scheduler: { cancel(source: AnyActorRef, id: string): void };
    };
    const scheduled = Object.values(system._snapshot._scheduledEvents).find((s) => s.event.type === event.type);
    if (!scheduled) throw new Error(`no timer scheduled for '${event.type}'`);
    // The time passes for this timer: it fires now.
    system.scheduler.cancel(scheduled.source, scheduled.id);
    scheduled.target.send(scheduled.event);
  } else actor.send(event);
  await flush();
}

export interface RunResult {
  transitions: Set<string>;
  stateNodes: Set<string>;
}

/** Runs one path; throws when the actor is not where the graph says after some step. */
export async function runPath(spec: ModelSpec, path: ModelPath): Promise<RunResult> {
  const deferreds = new Deferreds();
  const actors = Object.fromEntries(Object.keys(spec.machine.implementations.actors).map((name) => [name, deferreds.actor()]));
  const machine = spec.machine.provide({ actors } as never);
  const transitions = new Set<string>();
  const stateNodes = new Set<string>();
  let root: AnyActorRef | undefined;
  const actor = createActor(machine, {
    input: spec.input,
    clock: new SimulatedClock(),
    inspect: (event) => {
      if (event.type === '@xstate.microstep' && (root === undefined || event.actorRef === root)) {
        for (const t of (event as unknown as { _transitions: TransitionLike[] })._transitions) transitions.add(transitionKey(t));
        // states passed through within a macrostep (e.g. a final child left at once) count too
        for (const n of (event.snapshot as AnyMachineSnapshot)._nodes as Array<{ id: string }>) stateNodes.add(n.id);
      }
    },
  });
  root = actor;
  const record = () => {
    for (const n of (actor.getSnapshot() as AnyMachineSnapshot)._nodes as Array<{ id: string }>) stateNodes.add(n.id);
  };
  actor.start();
  await flush();
  record();
  try {
    for (const [index, step] of path.steps.entries()) {
      await fire(actor, step.event, deferreds);
      const snapshot = actor.getSnapshot() as AnyMachineSnapshot;
      if (snapshot.status === 'error') throw snapshot.error;
      record();
      const actual = spec.serialize(snapshot);
      const expected = spec.serialize(step.state);
      if (actual !== expected) {
        throw new Error(`step ${index + 1} (${step.event.type}): expected ${expected}, got ${actual}`);
      }
    }
  } finally {
    actor.stop();
  }
  return { transitions, stateNodes };
}

/** Plans the paths, runs them all, and returns the coverage reached. */
export async function testModel(spec: ModelSpec): Promise<Coverage & { paths: number; explored: number }> {
  const { paths, explored } = planPaths(spec);
  const totals = definitionTotals(spec.machine);
  const coveredStateNodes = new Set<string>();
  const coveredTransitions = new Set<string>();
  for (const path of paths) {
    const result = await runPath(spec, path);
    result.stateNodes.forEach((n) => coveredStateNodes.add(n));
    result.transitions.forEach((t) => coveredTransitions.add(t));
  }
  const coverage = { ...totals, coveredStateNodes, coveredTransitions, paths: paths.length, explored };
  if (spec.table !== false) recordCoverage(spec.name, coverage);
  return coverage;
}

/** What the coverage table of `npm run test:model` shows for one machine (see coverageReporter.ts). */
export interface CoverageRecord {
  machine: string;
  explored: number;
  paths: number;
  stateNodes: { covered: number; total: number; uncovered: string[] };
  transitions: { covered: number; total: number; uncovered: string[] };
}

export function coverageRecord(name: string, c: Coverage & { paths: number; explored: number }): CoverageRecord {
  const missing = uncovered(c);
  return {
    machine: name,
    explored: c.explored,
    paths: c.paths,
    stateNodes: { covered: c.stateNodes.length - missing.stateNodes.length, total: c.stateNodes.length, uncovered: missing.stateNodes },
    transitions: { covered: c.transitions.length - missing.transitions.length, total: c.transitions.length, uncovered: missing.transitions },
  };
}

/** Keeps the coverage in the running test's meta, where the coverage reporter reads it. */
function recordCoverage(name: string, c: Coverage & { paths: number; explored: number }): void {
  const test = TestRunner.getCurrentTest();
  if (!test) return;
  const meta = test.meta as { modelCoverage?: CoverageRecord[] };
  (meta.modelCoverage ??= []).push(coverageRecord(name, c));
}

export function uncovered(coverage: Coverage): { stateNodes: string[]; transitions: string[] } {
  return {
    stateNodes: coverage.stateNodes.filter((n) => !coverage.coveredStateNodes.has(n)),
    transitions: coverage.transitions.filter((t) => !coverage.coveredTransitions.has(t)),
  };
}

/** One row of the coverage table printed by `npm run test:model`. */
export function coverageRow(name: string, c: Coverage & { paths: number; explored: number }) {
  const count = (all: string[], covered: Set<string>) => `${all.filter((x) => covered.has(x)).length}/${all.length}`;
  return {
    machine: name,
    'graph states': c.explored,
    paths: c.paths,
    'state nodes': count(c.stateNodes, c.coveredStateNodes),
    transitions: count(c.transitions, c.coveredTransitions),
  };
}
