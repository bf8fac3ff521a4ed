// Recording end to end: page A's fake camera and microphone, recorded by the real server with
// ffmpeg, checked with ffprobe; and a recording finalized by SIGTERM to the server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import type { Browser } from 'playwright-core';
import { launchBrowser, openClientPage } from '../support/browser.js';
import { probe } from '../support/ffprobe.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';
import { createClient, produceCameraAndMic, waitForState } from './pageHelpers.js';

const SECONDS = 5;
const SIGTERM_AFTER_SECONDS = 3;

describe('recording sent tracks on the server', () => {
  let browser: Browser;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await Promise.all(servers.map((s) => s.stop()));
  });

  async function producingPage(server: ServerProcess, roomId: string) {
    const { page } = await openClientPage(browser, server.httpUrl);
    const t = await server.connect(roomId, 'alice');
    await createClient(page, t.url, t.token);
    await waitForState(page, 'connected');
    await produceCameraAndMic(page);
    return page;
  }

  it(`records ${SECONDS} s of camera and microphone to files that decode and last ${SECONDS} s`, async () => {
    const server = await startServerProcess();
    servers.push(server);
    const page = await producingPage(server, 'rec-room');

    const result = await page.evaluate(async (seconds) => {
      const w = globalThis as any;
      const producers: any[] = w.producers;
      const ended: unknown[] = [];
      for (const p of producers) p.on('recordingended', (r: unknown) => ended.push(r));
      // One after the other, each timed from its own startRecord to its own stopRecord: the server
      // answers a client's requests in order, so a stop sent beside another waits for its finalizing.
      const startedAt: number[] = [];
      for (const p of producers) startedAt.push((await p.startRecord(), performance.now()));
      const recordingFlags = producers.map((p) => p.recording);
      const again = await producers[0].startRecord().then(() => 'resolved', (e: any) => e.code);
      // The recording's length is what is measured here: this wait is its content, not a race.
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const recordings: unknown[] = [];
      const between: number[] = [];
      for (const [i, p] of producers.entries()) {
        between.push((performance.now() - startedAt[i]!) / 1000);
        recordings.push(await p.stopRecord());
      }
      const stopAgain = await producers[0].stopRecord().then(() => 'resolved', (e: any) => e.code);
      return { kinds: producers.map((p) => p.kind), recordingFlags, again, recordings, after: producers.map((p) => p.recording), ended, stopAgain, between: between };
    }, SECONDS);

    expect(result.recordingFlags).toEqual([true, true]);
    expect(result.again).toBe('INVALID_STATE');
    expect(result.stopAgain).toBe('INVALID_STATE');
    expect(result.after).toEqual([false, false]);
    expect(result.ended).toEqual(result.recordings);

    const listed = await server.recordings('rec-room');
    expect(listed).toHaveLength(2);
    for (const [i, kind] of result.kinds.entries()) {
      const rec = result.recordings[i] as { id: string; path: string };
      expect(rec.path.startsWith(server.recordingsDir)).toBe(true);
      const row = listed.find((r) => r.id === rec.id);
      expect(row).toMatchObject({ roomId: 'rec-room', userId: 'alice', kind, path: rec.path, state: 'finished' });
      expect(row!.bytes).toBeGreaterThan(0);
      expect(Date.parse(row!.endedAt!)).toBeGreaterThan(Date.parse(row!.startedAt));

      const p = probe(rec.path);
      expect(p.codec).toBe(kind === 'video' ? 'vp8' : 'opus');
      expect(p.frames).toBeGreaterThan(kind === 'video' ? SECONDS * 10 : SECONDS * 40);
      const between = result.between[i]!;
      expect(p.duration).toBeGreaterThan(between * 0.9);
      expect(p.duration).toBeLessThan(between * 1.1);
      console.log(`recorded ${kind}: ${p.duration.toFixed(3)} s of ${between.toFixed(3)} s between the calls, ${p.frames} frames, ${row!.bytes} bytes`);
    }
    // Another room sees none of them.
    expect(await server.recordings('other-room')).toEqual([]);
  });

  it('finalizes a recording when the server gets SIGTERM mid-way', async () => {
    const server = await startServerProcess();
    servers.push(server);
    const page = await producingPage(server, 'term-room');
    const video = await page.evaluate(async (seconds) => {
      const p = (globalThis as any).producers.find((x: any) => x.kind === 'video');
      await p.startRecord();
      // The recording's length before the signal: its content, not a race.
      await new Promise((r) => setTimeout(r, seconds * 1000));
      return p.id as string;
    }, SIGTERM_AFTER_SECONDS);
    const [row] = await server.recordings('term-room');
    expect(row).toMatchObject({ producerId: video, state: 'recording', endedAt: null });

    expect(await server.stop('SIGTERM')).toBe(0);
    const p = probe(row!.path);
    expect(p.codec).toBe('vp8');
    expect(p.frames).toBeGreaterThan(SIGTERM_AFTER_SECONDS * 10);
    expect(p.duration).toBeGreaterThan(SIGTERM_AFTER_SECONDS * 0.9);
    const db = new Database(server.databasePath, { readonly: true });
    try {
      expect(db.prepare('SELECT state, bytes, ended_at FROM recording WHERE id = ?').get(row!.id)).toMatchObject({
        state: 'finished',
        bytes: expect.any(Number),
        ended_at: expect.any(Number),
      });
    } finally {
      db.close();
    }
    console.log(`finalized by SIGTERM: ${p.duration.toFixed(3)} s, ${p.frames} frames`);
  });
});
