// Model-based testing of the machines with @xstate/graph, against the implementation.
//
// 1. The machine's graph is explored (getAdjacencyMap / getShortestPaths) with the events each
//    state accepts (`__unsafe_getAllOwnEventDescriptors`) and sample payloads for them.
// 2. Paths are chosen so that, together, they reach every state node and take every transition of
//    the machine definition with every sample event that takes it: the shortest path to each state
//    node, and for each transition and sample the shortest path to a state where it takes it, plus it.
// 3. Each path is run against the implementation (tests/model/worlds.ts): the facades and the
//    real actors over the in-memory fake server, each event of the path done as what it stands
//    for (a call on a facade, a server answer or notification, a socket closing, a timer). After
//    every step, what a user or the server can see must be what the machine's oracle (a small
//    hand-written reference model, tests/model/*Oracle.ts) expects. The machine only chooses
//    the path: nothing it predicts is compared.
// 4. Coverage is measured on those real runs (inspection microsteps of the real actors) and
//    compared with totals computed from the machine definition.
import { getAdjacencyMap, getShortestPaths } from '@xstate/graph';
import { isDeepStrictEqual } from 'node:util';
import {
  __unsafe_getAllOwnEventDescriptors,
  createEmptyActor,
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
  /**
   * Path planning only: whether the implementation can be made to deliver `event` in a state of
   * the graph (e.g. a server answer needs a request that was really sent). Default: always.
   */
  realisable?: (snapshot: AnyMachineSnapshot, event: EventObject) => boolean;
  /**
   * Paths written by hand, run like the planned ones: for an effect that shows only later (the
   * planner takes each transition by its shortest path, which may never look at it again).
   */
  scenarios?: AnyEventObject[][];
  /** A fresh implementation in the machine's initial state, its actors inspected by `probe`, and a fresh oracle. */
  start: (probe: CoverageProbe) => Promise<{ run: Run; oracle: Oracle }>;
}

export interface ModelPath {
  /** Events after the initial state (with the graph's snapshot after each: for planning, never compared). */
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
    // a machine that is done takes no event (its root's handlers are still listed)
    (snapshot.status === 'active' ? __unsafe_getAllOwnEventDescriptors(snapshot) : [])
      // raised by the machine itself when a compound state completes: never an outside event
      .filter((type) => !type.startsWith('xstate.done.state.'))
      .flatMap((type) => spec.samples?.[type] ?? [{ type }])
      .filter((event) => spec.realisable?.(snapshot, event) ?? true);
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
  // every transition, with each sample: the shortest path to a state where the sample takes it, plus the sample
  const best = new Map<string, ModelPath>();
  for (const [from, { transitions }] of Object.entries(adjacency)) {
    const head = toState.get(from);
    if (!head) continue;
    for (const { event, state } of Object.values(transitions)) {
      const taken = takenByEdge.get(`${from} ## ${JSON.stringify(event)}`) ?? [];
      // Every transition with every sample payload that takes it (load with A and with B, ...).
      for (const key of taken.map((t) => `${t} ## ${JSON.stringify(event)}`)) {
        const current = best.get(key);
        if (!current || current.steps.length > head.steps.length + 1) best.set(key, { steps: [...head.steps, { event, state }] });
      }
    }
  }
  for (const path of best.values()) choose(path);
  return { paths: [...chosen.values()], explored: Object.keys(adjacency).length };
}

// ---------------------------------------------------------------------------------------------
// Running a path against the implementation, checked by an independent oracle.

/** The implementation (facades, real actors, fake server) set up in the machine's initial state. */
export interface Run {
  /** Does in the implementation what the graph's event stands for (a call, a server answer, a timer). */
  act(event: EventObject): Promise<void> | void;
  /** What a user or the server can see now, and what happened since the last look. */
  observe(): unknown;
  stop(): Promise<void>;
}

/** A hand-written reference model of what the user and the server see: never the machine. */
export interface Oracle {
  /** The observation it expects now. */
  expected(): unknown;
  /**
   * Takes a step of the path; returns false when that step cannot happen in the real system now
   * (the graph of the machine alone does not know its surroundings): the step is then skipped.
   */
  apply(event: EventObject): boolean;
}

/** Counts, per machine, the transitions and state nodes the real actors took (inspection). */
export class CoverageProbe {
  readonly transitions = new Set<string>();
  readonly stateNodes = new Set<string>();
  constructor(readonly machineId: string) {}
  /** The `inspect` option for the actors under test. */
  readonly inspect = (event: InspectionEvent): void => {
    if (event.type !== '@xstate.microstep' && event.type !== '@xstate.snapshot') return;
    if ((event.actorRef as unknown as { logic?: { id?: string } }).logic?.id !== this.machineId) return;
    // every snapshot the actor had (its first included), and the states it passed within a macrostep
    for (const n of (event.snapshot as AnyMachineSnapshot)._nodes as Array<{ id: string }>) this.stateNodes.add(n.id);
    if (event.type === '@xstate.microstep') {
      for (const t of (event as unknown as { _transitions: TransitionLike[] })._transitions) this.transitions.add(transitionKey(t));
    }
  };
  /** The state nodes of a snapshot that was never reached by a transition (the initial one). */
  see(snapshot: AnyMachineSnapshot): void {
    for (const n of snapshot._nodes as Array<{ id: string }>) this.stateNodes.add(n.id);
  }
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
/** Lets every reaction to a step happen: socket frames, answers, actors (no timer is waited for). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 8; i++) await flush();
}

const show = (value: unknown) => JSON.stringify(value);

/** Runs one path; throws at the first step where the implementation is not what the oracle expects. */
export async function runPath(spec: ModelSpec, path: ModelPath, probe = new CoverageProbe(spec.machine.id)): Promise<{ steps: number; skipped: number }> {
  const { run, oracle } = await spec.start(probe);
  let skipped = 0;
  const names = path.steps.map((s) => s.event.type.replace(/^xstate\.(done|error)\.actor\./, '$1:').replace(/^xstate\.after\.([^.]+)\..*$/, 'after:$1'));
  try {
    await settle();
    const compare = (at: string) => {
      const actual = run.observe();
      const expected = oracle.expected();
      if (!isDeepStrictEqual(actual, expected)) {
        throw new Error(`${spec.name} path [${names.join(' > ')}], ${at}:\n  expected ${show(expected)}\n  actual   ${show(actual)}\n  path ${show(path.steps.map((s) => s.event))}`);
      }
    };
    compare('at the start');
    for (const [index, step] of path.steps.entries()) {
      if (!oracle.apply(step.event)) {
        skipped++;
        continue;
      }
      await run.act(step.event);
      await settle();
      compare(`after step ${index + 1} (${names[index]} ${show(step.event)})`);
    }
  } finally {
    await run.stop();
  }
  return { steps: path.steps.length, skipped };
}

/** Plans the paths, runs them all against the implementation, and returns the coverage the real actors reached. */
export async function testModel(spec: ModelSpec): Promise<Coverage & { paths: number; explored: number; steps: number; skipped: number }> {
  const { paths, explored } = planPaths(spec);
  // Scenarios the graph need not choose (an effect seen only steps later), run and checked the same way.
  for (const events of spec.scenarios ?? []) paths.push({ steps: events.map((event) => ({ event, state: undefined as never })) });
  const totals = definitionTotals(spec.machine);
  const probe = new CoverageProbe(spec.machine.id);
  let steps = 0;
  let skipped = 0;
  for (const path of paths) {
    const result = await runPath(spec, path, probe);
    steps += result.steps;
    skipped += result.skipped;
  }
  const coverage = { ...totals, coveredStateNodes: probe.stateNodes, coveredTransitions: probe.transitions, paths: paths.length, explored, steps, skipped };
  if (spec.table !== false) recordCoverage(spec.name, coverage);
  return coverage;
}

/** What the coverage table of `npm run test:model` shows for one machine (see coverageReporter.ts). */
export interface CoverageRecord {
  machine: string;
  explored: number;
  paths: number;
  /** Steps of those paths done against the implementation, and steps the oracle said cannot happen there. */
  steps?: number;
  skipped?: number;
  stateNodes: { covered: number; total: number; uncovered: string[] };
  transitions: { covered: number; total: number; uncovered: string[] };
}

export function coverageRecord(name: string, c: Coverage & { paths: number; explored: number; steps?: number; skipped?: number }): CoverageRecord {
  const missing = uncovered(c);
  return {
    machine: name,
    explored: c.explored,
    paths: c.paths,
    steps: c.steps,
    skipped: c.skipped,
    stateNodes: { covered: c.stateNodes.length - missing.stateNodes.length, total: c.stateNodes.length, uncovered: missing.stateNodes },
    transitions: { covered: c.transitions.length - missing.transitions.length, total: c.transitions.length, uncovered: missing.transitions },
  };
}

/** Keeps the coverage in the running test's meta, where the coverage reporter reads it. */
function recordCoverage(name: string, c: Coverage & { paths: number; explored: number; steps?: number; skipped?: number }): void {
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
export function coverageRow(name: string, c: Coverage & { paths: number; explored: number; steps?: number; skipped?: number }) {
  const count = (all: string[], covered: Set<string>) => `${all.filter((x) => covered.has(x)).length}/${all.length}`;
  return {
    machine: name,
    'graph states': c.explored,
    paths: c.paths,
    steps: c.steps,
    skipped: c.skipped,
    'state nodes': count(c.stateNodes, c.coveredStateNodes),
    transitions: count(c.transitions, c.coveredTransitions),
  };
}
