// Model-based paths in Chromium: the paths are generated with @xstate/graph (as in tests/model) from
// producerMachine and consumerMachine themselves, restricted to what a user can do (pause, resume,
// close, startRecord, stopRecord on a ProduceManager; pause, resume on a ConsumeManager), and each
// path is run against a real manager in Chromium on the real server. After every step the
// manager's `state`, `paused` and `recording` must be the model's, the states it passed through
// must be the model's, and the other page must receive what the step means (frames stop while the
// producer is paused, come back on resume; its consumer closes on close).
//
// The model of a user step: the user's event, then the server answers every request the machine
// makes (the invoked actor's done event, or its error when the server refuses). The server's
// answer is part of the model, like the machine: it refuses to stop a recording into which no
// media ever came (ffmpeg cannot write a file without a single frame), which is what happens
// to a recording started while paused and stopped before any resume.
import { getAdjacencyMap, getShortestPaths } from '@xstate/graph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { transition, initialTransition, type AnyMachineSnapshot, type AnyStateMachine, type EventObject } from 'xstate';
import { consumerMachine } from '../../machines/consumerMachine.js';
import { producerMachine } from '../../machines/producerMachine.js';
import { consumerState } from '../../src/client/ConsumeManager.js';
import { producerState } from '../../src/client/ProduceManager.js';
import { launchBrowser } from '../support/browser.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';
import { definitionTotals } from '../model/modelHarness.js';
import { answered, framesAndPacketsOver, keyFramesSent, pair, recordingHasMedia, type Traced } from './lifecycleHelpers.js';
import { consumerOf, waitForFrames, waitForNoFrames, watchFrames } from './pageHelpers.js';

// ---------------------------------------------------------------------------------------------
// The user-level model.

interface ModelState {
  snapshot: AnyMachineSnapshot;
  /** The running recording has received media (the environment's part of the state). */
  media: boolean;
}

interface Step {
  event: string;
  /** The model state after the step. */
  state: ModelState;
  /** The manager call resolves (`ok`) or rejects with this code. */
  outcome: 'ok' | string;
  /** The manager states passed through during the step, in order. */
  states: string[];
  /** The definition's transitions this step takes, `source --event` as in tests/model. */
  transitions: string[];
}

interface UserModel {
  machine: AnyStateMachine;
  events: string[];
  initial: ModelState;
  /** The manager-visible state of a snapshot. */
  visible: (s: AnyMachineSnapshot) => string;
  /** The server's answer to the request a state makes, if it makes one. */
  answer: (s: AnyMachineSnapshot, media: boolean) => EventObject | undefined;
  /** How the environment's part changes with a step. */
  media: (before: ModelState, event: string, after: AnyMachineSnapshot) => boolean;
  /** A call the manager answers at once without telling its machine (pause when paused): no step. */
  atOnce?: (s: AnyMachineSnapshot, event: string) => boolean;
}

/** `source --type` of the transition an event takes in a snapshot (the deepest handler), as tests/model names it. */
function takenBy(snapshot: AnyMachineSnapshot, type: string): string | undefined {
  const nodes = (snapshot._nodes as Array<{ id: string; transitions: Map<string, unknown[]> }>).filter((n) => n.transitions.has(type));
  const node = nodes.at(-1);
  return node && `${node.id} --${type}`;
}

function step(model: UserModel, from: ModelState, event: string): Step {
  const transitions: string[] = [];
  const states: string[] = [];
  const see = (s: AnyMachineSnapshot) => {
    const v = model.visible(s);
    if (states.at(-1) !== v && !(states.length === 0 && v === model.visible(from.snapshot))) states.push(v);
  };
  let snapshot = from.snapshot;
  transitions.push(takenBy(snapshot, event)!);
  [snapshot] = transition(model.machine, snapshot, { type: event });
  see(snapshot);
  let outcome = 'ok';
  for (let answer = model.answer(snapshot, from.media); answer; answer = model.answer(snapshot, from.media)) {
    transitions.push(takenBy(snapshot, answer.type)!);
    if (answer.type.startsWith('xstate.error.actor.')) outcome = (answer as unknown as { error: { code: string } }).error.code;
    [snapshot] = transition(model.machine, snapshot, answer);
    see(snapshot);
  }
  return { event, outcome, states, transitions, state: { snapshot, media: model.media(from, event, snapshot) } };
}

const serialize = (s: ModelState) => JSON.stringify({ value: s.snapshot.value, paused: s.snapshot.context.paused, media: s.media, status: s.snapshot.status });

/**
 * Paths that together reach every state of the user-level graph and take every transition of the
 * definition that the user steps can take: the shortest path to each state, and for each
 * transition the shortest path to a state where a step takes it, plus that step. Each path then
 * ends with `close` (so its producer ends and the other page sees that too), and paths that reach
 * nothing the others do not are dropped.
 */
function planUserPaths(model: UserModel): Step[][] {
  const logic = {
    transition: (s: ModelState, e: EventObject) => step(model, s, e.type).state,
    getInitialSnapshot: () => model.initial,
  };
  const options = {
    events: (s: ModelState) =>
      s.snapshot.status === 'active' ? model.events.filter((type) => s.snapshot.can({ type }) && !(model.atOnce?.(s.snapshot, type) ?? false)).map((type) => ({ type })) : [],
    serializeState: serialize,
  };
  const shortest = getShortestPaths(logic as never, options as never) as unknown as Array<{ state: ModelState; steps: Array<{ event: EventObject }> }>;
  const adjacency = getAdjacencyMap(logic as never, options as never) as unknown as Record<string, { state: ModelState; transitions: Record<string, { event: EventObject }> }>;
  const replay = (events: string[]) => {
    let state = model.initial;
    return events.map((e) => {
      const s = step(model, state, e);
      state = s.state;
      return s;
    });
  };
  const best = new Map<string, string[]>();
  for (const p of shortest) {
    const head = p.steps.slice(1).map((s) => s.event.type);
    best.set(`state ${serialize(p.state)}`, head);
    const from = adjacency[serialize(p.state)]!;
    for (const { event } of Object.values(from.transitions)) {
      const events = [...head, event.type];
      for (const t of step(model, p.state, event.type).transitions) {
        if (!best.has(t) || best.get(t)!.length > events.length) best.set(t, events);
      }
    }
  }
  let paths = [...new Map([...best.values()].map((events) => {
    const last = replay(events).at(-1)?.state ?? model.initial;
    const full = last.snapshot.status === 'active' && model.events.includes('close') ? [...events, 'close'] : events;
    return [full.join(' > '), replay(full)] as const;
  })).values()].sort((x, y) => y.length - x.length);
  // Shortest first: drop a path when the others already reach its states and take its transitions.
  const covers = (path: Step[]) => [`state ${serialize(model.initial)}`, ...path.flatMap((s) => [...s.transitions, `state ${serialize(s.state)}`])];
  for (const path of [...paths].reverse()) {
    const others = new Set(paths.filter((p) => p !== path).flatMap(covers));
    if (covers(path).every((c) => others.has(c))) paths = paths.filter((p) => p !== path);
  }
  return paths;
}

const done = (id: string, output?: unknown): EventObject => ({ type: `xstate.done.actor.${id}`, output }) as EventObject;
const refused = (id: string, code: string): EventObject => ({ type: `xstate.error.actor.${id}`, error: { code, message: 'refused' } }) as EventObject;

function produced(machine: AnyStateMachine, input: unknown, events: EventObject[]): AnyMachineSnapshot {
  let [snapshot] = initialTransition(machine, input);
  for (const e of events) [snapshot] = transition(machine, snapshot, e);
  return snapshot as AnyMachineSnapshot;
}

const recordingOf = (s: AnyMachineSnapshot) => (s.value as { active?: { recording?: string } }).active?.recording;

// The machines as they are, with their reports to a parent (there is none here) and their local
// side effects made harmless, as in tests/model.
const producerLogic = producerMachine.provide({ actions: { releaseProducer: () => {}, stopSending: () => {}, startSending: () => {}, reportClosed: () => {} } });
const consumerLogic = consumerMachine.provide({ actions: { releaseConsumer: () => {}, reportClosed: () => {} } });

const producerModel: UserModel = {
  machine: producerLogic,
  events: ['pause', 'resume', 'close', 'startRecord', 'stopRecord'],
  // As `produceTrack` resolves: produced, live.
  initial: {
    snapshot: produced(producerLogic, { key: 'producer.1', track: {}, kind: 'video', appData: {}, paused: false }, [
      { type: 'produce' },
      done('produce', { producerId: 'p1' }),
    ]),
    media: false,
  },
  visible: (s) => producerState(s as never),
  atOnce: (s, event) =>
    (event === 'pause' && producerState(s as never) === 'paused' && s.context.paused) || (event === 'resume' && producerState(s as never) === 'live' && !s.context.paused),
  answer: (s, media) => {
    if (s.status !== 'active') return undefined;
    if (s.matches('closing')) return done('closeProducer');
    if (s.matches({ active: { media: 'pausing' } })) return done('pauseProducer');
    if (s.matches({ active: { media: 'resuming' } })) return done('resumeProducer');
    if (s.matches({ active: { recording: 'starting' } })) return done('startRecord', { recordingId: 'r1' });
    if (s.matches({ active: { recording: 'stopping' } })) return media ? done('stopRecord', { id: 'r1', path: '/r1' }) : refused('stopRecord', 'SERVER_ERROR');
    return undefined;
  },
  media: (before, event, after) => {
    const recording = recordingOf(after) === 'recording';
    const live = producerState(after as never) === 'live';
    if (event === 'startRecord') return recording && live;
    if (event === 'resume') return recording && (before.media || live);
    return recording && before.media;
  },
};

const consumerModel: UserModel = {
  machine: consumerLogic,
  events: ['pause', 'resume'],
  initial: {
    snapshot: produced(
      consumerLogic,
      { id: 'c1', producerId: 'p1', kind: 'video', rtpParameters: {}, userId: 'alice', producerPaused: false },
      [done('consume')],
    ),
    media: false,
  },
  visible: (s) => consumerState(s as never),
  answer: (s) => {
    if (s.status !== 'active') return undefined;
    if (s.matches({ ready: { media: 'pausing' } })) return done('pauseConsumer');
    if (s.matches({ ready: { media: 'resuming' } })) return done('resumeConsumer');
    return undefined;
  },
  media: () => false,
};

const producerPaths = planUserPaths(producerModel);
const consumerPaths = planUserPaths(consumerModel);
const name = (path: Step[]) => path.map((s) => (s.outcome === 'ok' ? s.event : `${s.event}!${s.outcome}`)).join(' > ');

/** The request a step's manager call makes to the server. */
const request: Record<string, string> = { pause: 'pauseProducer', resume: 'resumeProducer', close: 'closeProducer', startRecord: 'startRecord', stopRecord: 'stopRecord' };

// ---------------------------------------------------------------------------------------------
// The plan itself.

describe('the user-level paths', () => {
  it('take every transition of the definition that a user event starts', () => {
    for (const [model, paths] of [
      [producerModel, producerPaths],
      [consumerModel, consumerPaths],
    ] as const) {
      const userTransitions = definitionTotals(model.machine).transitions.filter((t) => model.events.some((e) => t.endsWith(` --${e}`)));
      // Intents a user gives while a request is in flight or the track waits for a connection (a
      // pause recorded at the media region, stopRecord while starting, ...): the server answers at
      // once here, so no step starts in those states. tests/model takes them all (100%), and
      // intentWhileDown.test.ts proves a pause while the server is down in Chromium.
      const betweenAnswers = (t: string) => /^producer\.active\.(media --|recording\.(starting|stopping|suspended) --)/.test(t);
      const taken = new Set(paths.flatMap((p) => p.flatMap((s) => s.transitions)));
      expect(userTransitions.filter((t) => !taken.has(t) && !betweenAnswers(t))).toEqual([]);
      // ...and every server answer to them, including the refused stop of an empty recording.
      expect(taken.size).toBeGreaterThan(userTransitions.length);
    }
    expect(producerPaths.map(name)).toContain('pause > startRecord > stopRecord!SERVER_ERROR > startRecord > close');
    console.log(`producer paths:\n  ${producerPaths.map(name).join('\n  ')}\nconsumer paths:\n  ${consumerPaths.map(name).join('\n  ')}`);
  });
});

// ---------------------------------------------------------------------------------------------
// Running them in Chromium.

/** See lifecycle.test.ts: drain for QUIET_MS, then not one frame or packet for NOTHING_MS. */
const QUIET_MS = 300;
const NOTHING_MS = 400;

describe('the paths in Chromium', () => {
  let server: ServerProcess;
  let browser: Browser;
  let a: Page;
  let b: Page;
  const roomId = 'paths';

  beforeAll(async () => {
    [server, browser] = await Promise.all([startServerProcess(), launchBrowser()]);
    ({ a, b } = await pair(browser, server, roomId));
    await a.evaluate(async () => {
      const w = globalThis as any;
      w.camera = (await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } })).getVideoTracks()[0];
      w.producers = [];
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A new producer of (a clone of) A's camera, and B's consumer of it, decoding. */
  async function newProducer(): Promise<{ producerId: string; consumerId: string }> {
    const producerId = await a.evaluate(async () => {
      const w = globalThis as any;
      const p = await w.client.produceTrack(w.camera.clone());
      w.producers.push(p);
      w.producer = p;
      return p.id as string;
    });
    const consumerId = await consumerOf(b, producerId);
    await watchFrames(b, consumerId);
    await waitForFrames(b, consumerId, 10);
    return { producerId, consumerId };
  }

  async function expectStopped(consumerId: string): Promise<void> {
    await waitForNoFrames(b, consumerId, QUIET_MS);
    expect(await framesAndPacketsOver(b, consumerId, NOTHING_MS)).toEqual({ frames: 0, packets: 0 });
  }

  const count = (page: Page, consumerId: string, entry: string) =>
    page.evaluate(([id, entry]) => ((globalThis as any).consumerEvents[id] as string[]).filter((e) => e === entry).length, [consumerId, entry] as const);
  const untilCount = (page: Page, consumerId: string, entry: string, n: number) =>
    page.waitForFunction(([id, entry, n]) => ((globalThis as any).consumerEvents[id] as string[]).filter((e) => e === entry).length >= n, [consumerId, entry, n] as const, {
      timeout: 10_000,
    });

  for (const path of producerPaths) {
    it(`producer: ${name(path)}`, async () => {
      const { producerId, consumerId } = await newProducer();
      expect(await a.evaluate(() => [(globalThis as any).producer.state, (globalThis as any).producer.paused, (globalThis as any).producer.recording])).toEqual([
        producerModel.visible(producerModel.initial.snapshot),
        false,
        false,
      ]);
      for (const [index, s] of path.entries()) {
        const at = `step ${index + 1} (${s.event})`;
        const keyFrames = await keyFramesSent(a, producerId);
        const [pausedBefore, resumedBefore] = [await count(b, consumerId, 'producerpaused'), await count(b, consumerId, 'producerresumed')];
        const traced = (await a.evaluate(async (event) => {
          const w = globalThis as any;
          const p = w.producer;
          const states: string[] = [];
          const on = (st: string) => states.push(st);
          p.on('state', on);
          const traced = await w.trace(() => p[event]());
          p.off('state', on);
          return { ...traced, states, after: { state: p.state, paused: p.paused, recording: p.recording } };
        }, s.event)) as Traced & { states: string[]; after: { state: string; paused: boolean; recording: boolean } };

        // The call, the server's answer, and the manager: as the model says.
        expect(traced.ok ? 'ok' : traced.code, at).toBe(s.outcome);
        expect(answered(traced, request[s.event]!), at).toMatchObject({ ok: s.outcome === 'ok' });
        const m = s.state.snapshot;
        expect(traced.after, at).toEqual({
          state: producerModel.visible(m),
          paused: m.context.paused,
          recording: ['recording', 'stopping'].includes(recordingOf(m) ?? ''),
        });
        expect(traced.states, at).toEqual(s.states);

        // What the other page receives, and what the server recorded.
        if (s.event === 'pause') {
          await untilCount(b, consumerId, 'producerpaused', pausedBefore + 1);
          await expectStopped(consumerId);
        } else if (s.event === 'resume') {
          await untilCount(b, consumerId, 'producerresumed', resumedBefore + 1);
          await waitForFrames(b, consumerId, 10);
        } else if (s.event === 'close') {
          await untilCount(b, consumerId, 'closed:CONSUMER_CLOSED', 1);
        } else if (s.event === 'stopRecord') {
          const rows = await server.recordings(roomId);
          if (s.outcome === 'ok') expect(rows.find((r) => r.id === (traced.value as { id: string }).id), at).toMatchObject({ producerId, state: 'finished' });
          else expect(rows.filter((r) => r.producerId === producerId).at(-1), at).toMatchObject({ state: 'failed' });
        }
        const consumer = await b.evaluate((id) => {
          const cm = (globalThis as any).consumers.find((c: any) => c.id === id);
          return { state: cm.state, paused: cm.paused, producerPaused: cm.producerPaused };
        }, consumerId);
        // B's consumer reports A's pause as A's manager reports it (closed too: as it was at the close).
        expect(consumer, at).toEqual({ state: producerModel.visible(m) === 'closed' ? 'closed' : 'live', paused: false, producerPaused: traced.after.paused });
        // The model's recording has media from here on: so must the real one (see recordingHasMedia).
        if (s.state.media && !(index > 0 && path[index - 1]!.state.media)) await recordingHasMedia(a, b, producerId, consumerId, keyFrames);
      }
    });
  }

  for (const path of consumerPaths) {
    it(`consumer: ${name(path)}`, async () => {
      const { consumerId } = await newProducer();
      for (const [index, s] of path.entries()) {
        const at = `step ${index + 1} (${s.event})`;
        const traced = (await b.evaluate(
          async ([id, event]) => {
            const w = globalThis as any;
            const cm = w.consumers.find((c: any) => c.id === id);
            const states: string[] = [];
            const on = (st: string) => states.push(st);
            cm.on('state', on);
            const traced = await w.trace(() => cm[event]());
            cm.off('state', on);
            return { ...traced, states, after: { state: cm.state, paused: cm.paused } };
          },
          [consumerId, s.event] as const,
        )) as Traced & { states: string[]; after: { state: string; paused: boolean } };
        expect(traced.ok ? 'ok' : traced.code, at).toBe(s.outcome);
        expect(answered(traced, s.event === 'pause' ? 'pauseConsumer' : 'resumeConsumer'), at).toMatchObject({ ok: true });
        expect(traced.after, at).toEqual({ state: consumerModel.visible(s.state.snapshot), paused: s.state.snapshot.context.paused });
        expect(traced.states, at).toEqual(s.states);
        if (s.event === 'pause') await expectStopped(consumerId);
        else await waitForFrames(b, consumerId, 10);
        // The sender is not affected by a receiver's pause.
        expect(await a.evaluate(() => [(globalThis as any).producer.state, (globalThis as any).producer.paused])).toEqual(['live', false]);
      }
      await a.evaluate(() => (globalThis as any).producer.close());
    });
  }
});
