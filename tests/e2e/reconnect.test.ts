// Staying connected, under real faults (tests/support/faults.ts): a real server process, real
// Chromium pages, the public client API only. For every fault page A sends camera + mic and page
// B listens; after recovery B decodes A's video (and audio) again, the producers the server holds
// belong to the very objects produceTrack returned, B's old ConsumeManagers reject CONSUMER_CLOSED, and a fresh
// observer is offered exactly one producer per A track (nothing duplicated on the server).
// Each fault runs once here; bench/recovery.ts repeats them for median recovery times.
import { existsSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { FaultHarness, until, type RecoveryReport } from '../support/faults.js';
import { startServerProcess, type RecordingListing } from '../support/server.js';

type Server = Awaited<ReturnType<typeof startServerProcess>>;

let server: Server;
let browser: Browser;
let harness: FaultHarness;
const times: Record<string, number> = {};

beforeAll(async () => {
  [server, browser] = await Promise.all([startServerProcess(), launchBrowser()]);
  harness = new FaultHarness(server, browser, undefined, (line) => console.log(line));
});
afterAll(async () => {
  harness?.close();
  await browser?.close();
  await harness?.server.stop();
  console.table(times);
});

/** What every fault must end in. `replaced`: the fault cost A its connection (new producers). */
function expectRecovered(r: RecoveryReport, { replaced }: { replaced: boolean }): void {
  times[r.fault] = r.recoveryMs;
  // A: the same ProduceManager objects, live again; new server producers only after a new connection.
  expect(r.sameObjects, JSON.stringify({ producers: r.producers, serverProducers: r.serverProducers })).toBe(true);
  expect(r.producers.map((p) => [p.kind, p.state, p.paused]).sort()).toEqual([
    ['audio', 'live', false],
    ['video', 'live', false],
  ]);
  for (const p of r.producers) {
    if (replaced) expect(p.id).not.toBe(p.idBefore);
    else expect(p.id).toBe(p.idBefore);
    // Told the page of its new producer, or of none.
    if (replaced) expect(p.announced.at(-1)).toBe(p.id);
    else expect(p.announced).toEqual([]);
  }
  // B: exactly one live consumer per A track, of A's current producers.
  const aIds = r.producers.map((p) => p.id).sort();
  expect(r.liveConsumers.map((c) => c.producerId).sort()).toEqual(aIds);
  expect(r.liveConsumers.every((c) => c.userId === 'alice')).toBe(true);
  expect(r.audioFrames).toBe(20);
  // The server holds exactly A's current producers: none of before, none twice.
  expect(r.serverProducers.map((p) => p.producerId).sort()).toEqual(aIds);
  expect(r.serverProducers.every((p) => p.userId === 'alice')).toBe(true);
  if (replaced) {
    // B's old ConsumeManagers: closed, told so, and every method rejects CONSUMER_CLOSED.
    expect(r.oldConsumers).toHaveLength(2);
    for (const c of r.oldConsumers) expect(c).toMatchObject({ state: 'closed', pause: 'CONSUMER_CLOSED', resume: 'CONSUMER_CLOSED', closedEvent: 'CONSUMER_CLOSED' });
    expect(r.liveConsumers.map((c) => c.id).filter((id) => r.oldConsumers.some((o) => o.id === id))).toEqual([]);
  } else {
    expect(r.oldConsumers.map((c) => c.state)).toEqual(['live', 'live']);
  }
}

describe('recovery from real faults (Chromium, real server)', () => {
  it('drop: A’s socket is cut; A reconnects, produces again with the same objects; its recording continues in a new segment', async () => {
    let recordingBefore = '';
    let room = '';
    const r = await harness.run('drop', {
      beforeFault: async (a, _b, roomId) => {
        room = roomId;
        recordingBefore = await a.evaluate(async () => {
          const w = globalThis as any;
          const video = w.producers.find((p: any) => p.kind === 'video');
          await video.startRecord();
          return video.id;
        });
        // Media reached the file before the fault (an empty segment would be 'failed', rightly).
        const [row] = await harness.server.recordings(room);
        // (ffmpeg writes once it has probed the stream: several seconds.)
        await until(() => existsSync(row!.path) && statSync(row!.path).size > 0, 45_000, 'the first segment to hold media');
      },
      // The same ProduceManager starts recording again by itself once produced again.
      afterRecovery: async (a) => {
        await a.waitForFunction(() => (globalThis as any).producers.find((p: any) => p.kind === 'video').recording, null, { timeout: 15_000 });
        return harness.server.recordings(room);
      },
    });
    expectRecovered(r, { replaced: true });
    expect(r.a.states).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
    expect(r.a.sockets).toBe(2);
    expect(r.b.states).toEqual(['connecting', 'connected']); // B never noticed anything but A's tracks
    // The recording: the old segment was finalized when its producer closed; a new one runs for the new producer.
    const video = r.producers.find((p) => p.kind === 'video')!;
    const rows = (r.extra as RecordingListing[]).filter((x) => x.kind === 'video');
    const old = rows.find((x) => x.producerId === recordingBefore);
    const next = rows.find((x) => x.producerId === video.id);
    expect(old, JSON.stringify(rows)).toMatchObject({ state: 'finished' });
    expect(next?.state).toBe('recording');
    expect(rows).toHaveLength(2);
  });

  it('stall: both sockets stop carrying anything; heartbeats notice, the server replaces the old peers; their 4003 reaches the abandoned sockets and is ignored', async () => {
    const r = await harness.run('stall');
    expectRecovered(r, { replaced: true });
    for (const side of [r.a, r.b]) {
      // The old path healed after the reconnect: the 4003 did reach the socket the client gave up
      // on, and the client stayed connected on its new one.
      expect(side.closeCodes).toContain(4003);
      expect(side.states).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
      expect(side.sockets).toBe(2);
    }
  });

  it('restart: the server process is killed (-9) and started again on the same port and database', async () => {
    const r = await harness.run('restart');
    expectRecovered(r, { replaced: true });
    for (const side of [r.a, r.b]) {
      expect(side.states.slice(0, 3)).toEqual(['connecting', 'connected', 'reconnecting']);
      expect(side.states.at(-1)).toBe('connected');
      expect(side.closeCodes[0]).toBe(1006);
    }
  });

  it('worker: the room’s mediasoup worker is killed; it is respawned, the room re-created, clients told 1012 and back', async () => {
    const r = await harness.run('worker');
    expectRecovered(r, { replaced: true });
    for (const side of [r.a, r.b]) {
      expect(side.closeCodes[0]).toBe(1012);
      expect(side.states).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
    }
  });

  it('ice: A’s WebRTC path is blocked; A restarts ICE (no reconnect), B keeps its consumers and decodes again', async () => {
    const r = await harness.run('ice');
    expectRecovered(r, { replaced: false });
    expect(r.a.states).toEqual(['connecting', 'connected']);
    expect(r.a.sockets).toBe(1);
    expect(r.a.sent).toContain('restartIce');
    expect(r.a.restartIceAnswers).toBeGreaterThanOrEqual(1);
    expect(r.b.states).toEqual(['connecting', 'connected']);
    // The relay never let the old ICE session through again: media came back over checks with the
    // server's new ICE credentials, i.e. through the restart.
    expect(r.ice!.dropped).toBeGreaterThan(0);
    expect(r.ice!.freshChecks).toBeGreaterThan(0);
  });
});
