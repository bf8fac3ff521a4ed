// kill -9 of the server mid-recording: its ffmpegs die with it (even one waiting for a paused producer), the files written so far decode
// up to the kill, and the next start marks the rows failed ("server stopped") with their real size.
import { afterAll, describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { INTERRUPTED_REASON } from '../../src/server/mr/recordingStore.js';
import { probe } from '../support/ffprobe.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';
import { MediaPeer } from './mediaPeer.js';
import { processesMentioning } from './processes.js';

/** Recorded before the kill: the files' content. */
const BEFORE_KILL_MS = 3_000;

describe('a server killed with SIGKILL while recording', () => {
  const servers: ServerProcess[] = [];
  let peer: MediaPeer | undefined;
  let paused: MediaPeer | undefined;
  afterAll(async () => {
    await peer?.close();
    await paused?.close();
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('leaves files that decode up to the kill, no ffmpeg, and rows marked failed with their size', async () => {
    const first = await startServerProcess();
    servers.push(first);
    const t = await first.connect('crash', 'alice');
    peer = await MediaPeer.produce(t.url, t.token);
    for (const kind of ['video', 'audio'] as const) await peer.socket.ok('startRecord', { producerId: peer.producerId(kind) });
    // One more on a paused producer: its ffmpeg waits for packets and writes nothing, not even progress.
    const t2 = await first.connect('crash', 'bob');
    paused = await MediaPeer.produce(t2.url, t2.token);
    await paused.pause('video');
    await paused.socket.ok('startRecord', { producerId: paused.producerId('video') });
    const started = performance.now();
    await new Promise((r) => setTimeout(r, BEFORE_KILL_MS)); // the recordings' content before the kill
    const all = await first.recordings('crash');
    expect(all.map((r) => r.state)).toEqual(['recording', 'recording', 'recording']);
    expect(processesMentioning('ffmpeg', first.recordingsDir)).toHaveLength(3);
    const rows = all.filter((r) => r.userId === 'alice');

    await first.kill9();
    const recordedMs = performance.now() - started;
    await Promise.all([peer.close(), paused.close()]);
    peer = paused = undefined;
    // PR_SET_PDEATHSIG: the kernel kills them with the server.
    await expect.poll(() => processesMentioning('ffmpeg', first.recordingsDir), { timeout: 5_000 }).toEqual([]);

    for (const row of rows) {
      const p = probe(row.path);
      expect(p.codec).toBe(row.kind === 'video' ? 'vp8' : 'opus');
      // Decodes up to the kill: all but the last cluster / Ogg page (half a second at most) is there.
      expect(p.frames * (row.kind === 'video' ? 1000 / 30 : 20), row.kind).toBeGreaterThan(BEFORE_KILL_MS - 1_000);
      console.log(`${row.kind} cut by kill -9 after ${(recordedMs / 1000).toFixed(1)} s: ${p.frames} frames decode, ${statSync(row.path).size} bytes`);
    }

    const second = await startServerProcess({ databasePath: first.databasePath, env: { RECORDINGS_DIR: first.recordingsDir } });
    servers.push(second);
    const after = await second.recordings('crash');
    expect(after).toHaveLength(3);
    for (const row of after) {
      const size = row.userId === 'alice' ? statSync(row.path).size : 0; // the paused one wrote nothing
      expect(row).toMatchObject({ state: 'failed', reason: INTERRUPTED_REASON, bytes: size, endedAt: expect.any(String) });
      if (row.userId === 'alice') expect(row.bytes).toBeGreaterThan(0);
    }
    expect(second.logs()).toMatch(/marked recordings of a server that stopped/);
    // Two server starts, two werift peers, three recordings and two probes: 21–52 s in loaded full
    // suites, 87 s beside a second suite on the same two cores. Every wait inside is on an event.
  }, 180_000);
});
