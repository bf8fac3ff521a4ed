// Call health in real Chromium against a real server: who is speaking (A's fake microphone, a
// tone), the stats summaries on both ends, and the connection quality and scores under a real
// lossy uplink (A's media goes through the fault harness's UDP relay, which drops 30% of A's
// RTP/RTCP). Waits are for events and states; the lossy-network timings are printed.
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openClientPage } from '../support/browser.js';
import { createFaultClient, listenAndWatch, produceCameraAndMic, UdpRelay, waitForClientState } from '../support/faults.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';

let server: ServerProcess;
let browser: Browser;
let relay: UdpRelay;
let a: Page;
let b: Page;
const timings: Record<string, number> = {};

/** Records the client's and its managers' call-health events with their time, in the page. */
async function recordHealth(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = globalThis as any;
    w.qualities = [[w.client.connectionQuality, Date.now()]];
    w.speakers = [];
    w.client.on('connectionquality', (q: string) => w.qualities.push([q, Date.now()]));
    w.client.on('activespeaker', (s: unknown) => w.speakers.push([s, Date.now()]));
    // Raw reports as Chromium gives them, for the unit tests' fixtures (CAPTURE_STATS_FIXTURES=1).
    w.rawReports = {};
    for (const [Class, name] of [
      [RTCRtpSender, 'sender'],
      [RTCRtpReceiver, 'receiver'],
    ] as const) {
      const original = Class.prototype.getStats;
      Class.prototype.getStats = async function (this: RTCRtpSender & RTCRtpReceiver) {
        const report = await original.call(this);
        w.rawReports[`${name}:${this.track?.kind}`] = [...report.values()];
        return report;
      };
    }
  });
}

beforeAll(async () => {
  [server, browser] = await Promise.all([startServerProcess(), launchBrowser({ toneMicrophone: true })]);
  relay = await UdpRelay.start(server.rtcPort);
  [{ page: a }, { page: b }] = await Promise.all([openClientPage(browser, server.httpUrl), openClientPage(browser, server.httpUrl)]);
  const [ta, tb] = await Promise.all([server.connect('health', 'alice'), server.connect('health', 'bob')]);
  // Only A's media goes through the relay (its loss is A's uplink).
  await createFaultClient(a, ta.url, ta.token, { iceRelayPort: relay.port });
  await createFaultClient(b, tb.url, tb.token);
  await Promise.all([waitForClientState(a, 'connected'), waitForClientState(b, 'connected'), recordHealth(a), recordHealth(b)]);
  await b.evaluate(() => {
    const w = globalThis as any;
    w.scores = [];
    w.levels = [];
  });
  await listenAndWatch(b);
  // B keeps every consumer's score and (audio) level changes.
  await b.evaluate(() => {
    const w = globalThis as any;
    w.client.listenTrack((cm: any) => {
      w.consumers.push(cm);
      cm.on('scorechange', (s: number) => w.scores.push([cm.kind, s, Date.now()]));
      if (cm.kind === 'audio') cm.on('audiolevel', (dB: number) => w.levels.push([dB, Date.now()]));
      if (cm.kind === 'video') void w.testFrames.read(cm.track, () => w.frameLog.push([cm.id, Date.now()]));
      else void w.testFrames.play(cm.track);
    });
  });
});
afterAll(async () => {
  relay?.close();
  await browser?.close();
  await server?.stop();
  console.table(timings);
});

describe('call health (Chromium, real server)', () => {
  it("B hears A: activespeaker names A within 2 s of A's microphone; A paused → null; audio levels arrive", async () => {
    await produceCameraAndMic(a);
    const produced = await a.evaluate(() => Date.now());
    const audioId = await a.evaluate(() => (globalThis as any).producers.find((p: any) => p.kind === 'audio').id as string);
    await b.waitForFunction((id) => (globalThis as any).client.activeSpeaker?.producerId === id, audioId, { timeout: 10_000, polling: 20 });
    const [speaker, at] = await b.evaluate(() => (globalThis as any).speakers.find(([s]: [any]) => s !== null));
    expect(speaker).toEqual({ userId: 'alice', producerId: audioId });
    timings['speaker named after A produced (ms)'] = at - produced;
    expect(at - produced).toBeLessThanOrEqual(2000);
    // Levels: B's audio consumer of A has heard A above the silence threshold.
    await b.waitForFunction(() => (globalThis as any).levels.some(([dB]: [number]) => dB > -70), undefined, { timeout: 5000, polling: 20 });
    expect(await b.evaluate(() => (globalThis as any).consumers.find((c: any) => c.kind === 'audio').audioLevel)).toBeGreaterThan(-127);

    const paused = await a.evaluate(() => {
      const w = globalThis as any;
      void w.producers.find((p: any) => p.kind === 'audio').pause();
      return Date.now();
    });
    await b.waitForFunction((id) => (globalThis as any).client.activeSpeaker?.producerId !== id, audioId, { timeout: 10_000, polling: 20 });
    const [after, when] = await b.evaluate(() => (globalThis as any).speakers.at(-1));
    expect(after).toBeNull();
    timings['speaker null after A paused (ms)'] = when - paused;
    await a.evaluate(() => (globalThis as any).producers.find((p: any) => p.kind === 'audio').resume());
    await b.waitForFunction((id) => (globalThis as any).client.activeSpeaker?.producerId === id, audioId, { timeout: 10_000, polling: 20 });
  });

  it('stats are sane on both ends: bitrate, packets, fps, the size sent, codec, scores and the server side', async () => {
    // Rates need an interval: two reads a second apart (the second is the one checked).
    const read = async (page: Page, what: 'producers' | 'consumers') =>
      page.evaluate(async (what) => {
        const w = globalThis as any;
        const managers = w[what].filter((m: any) => !m.closed);
        await Promise.all(managers.map((m: any) => m.getStats()));
        await new Promise((r) => setTimeout(r, 1000));
        return Promise.all(managers.map((m: any) => m.getStats()));
      }, what);
    await b.waitForFunction(() => (globalThis as any).frameLog.length >= 30, undefined, { timeout: 20_000, polling: 50 });
    const [sent, received] = await Promise.all([read(a, 'producers'), read(b, 'consumers')]);
    const video = sent.find((s: any) => s.kind === 'video');
    const audio = sent.find((s: any) => s.kind === 'audio');
    expect(video).toMatchObject({ codec: 'video/VP8', frameWidth: 320, frameHeight: 240 });
    expect(video.bitrateBps).toBeGreaterThan(0);
    expect(video.framesPerSecond).toBeGreaterThan(0);
    expect(video.packetsSent).toBeGreaterThan(0);
    expect(video.server.bitrateBps).toBeGreaterThan(0);
    expect(video.server.packets).toBeGreaterThan(0);
    expect(video.score).toBeGreaterThanOrEqual(9);
    expect(video.server.score).toBeGreaterThanOrEqual(9);
    expect(audio).toMatchObject({ codec: 'audio/opus', frameWidth: null, framesPerSecond: null });
    expect(audio.bitrateBps).toBeGreaterThan(0);
    expect(typeof audio.roundTripTimeMs).toBe('number');

    const rvideo = received.find((s: any) => s.kind === 'video');
    const raudio = received.find((s: any) => s.kind === 'audio');
    expect(rvideo).toMatchObject({ codec: 'video/VP8', frameWidth: 320, frameHeight: 240, producerId: video.producerId });
    expect(rvideo.bitrateBps).toBeGreaterThan(0);
    expect(rvideo.framesPerSecond).toBeGreaterThan(0);
    expect(rvideo.packetsReceived).toBeGreaterThan(0);
    expect(rvideo.server.bitrateBps).toBeGreaterThan(0);
    expect(rvideo.score).toBeGreaterThanOrEqual(9);
    expect(raudio).toMatchObject({ codec: 'audio/opus', frameWidth: null });
    expect(raudio.bitrateBps).toBeGreaterThan(0);
    expect(raudio.audioLevelDbov).toBeGreaterThanOrEqual(-127);

    const whole = await b.evaluate(() => (globalThis as any).client.getStats());
    expect(whole.connectionQuality).toBe('excellent');
    expect(whole.consumers).toHaveLength(2);
    expect(whole.producers).toEqual([]);
    expect(whole.roundTripTimeMs).toBeGreaterThanOrEqual(0);

    if (process.env.CAPTURE_STATS_FIXTURES) {
      const reports = { ...(await a.evaluate(() => (globalThis as any).rawReports)), ...(await b.evaluate(() => (globalThis as any).rawReports)) };
      writeFileSync(new URL('../unit/fixtures/chromiumStats.json', import.meta.url), `${JSON.stringify(reports, null, 1)}\n`);
    }
  });

  it("a lossy uplink (30% of A's packets dropped): A's connectionQuality and B's score fall to poor, then come back", async () => {
    const quality = (page: Page) => page.evaluate(() => (globalThis as any).client.connectionQuality as string);
    const videoScore = () => b.evaluate(() => (globalThis as any).consumers.find((c: any) => c.kind === 'video' && !c.closed).score as number | null);
    await a.waitForFunction(() => (globalThis as any).client.connectionQuality === 'excellent', undefined, { timeout: 20_000, polling: 50 });
    expect(await videoScore()).toBeGreaterThanOrEqual(9);

    const start = Date.now();
    relay.lose(0.3);
    await a.waitForFunction(() => (globalThis as any).client.connectionQuality === 'poor', undefined, { timeout: 30_000, polling: 50 });
    timings['A poor after loss began (ms)'] = Date.now() - start;
    await b.waitForFunction(() => (globalThis as any).consumers.some((c: any) => c.kind === 'video' && !c.closed && c.score !== null && c.score <= 6), undefined, { timeout: 30_000, polling: 50 });
    // From B's recorded events (same machine clock): B may have got there before A did.
    const firstScore = (since: number, atMost: number, atLeast: number) =>
      b.evaluate(
        ([since, atMost, atLeast]) =>
          (globalThis as any).scores.find(([k, s, at]: [string, number, number]) => k === 'video' && at >= since && s <= atMost && s >= atLeast)[2] as number,
        [since, atMost, atLeast] as const,
      );
    timings["B's video score ≤ 6 after loss began (ms)"] = (await firstScore(start, 6, 0)) - start;
    timings["B's lowest video score during the loss"] = Math.min(...(await b.evaluate(() => (globalThis as any).scores.filter(([k]: [string]) => k === 'video').map(([, s]: [string, number]) => s))));
    timings['datagrams the relay dropped'] = relay.lost;
    console.log("B's video scores since the loss began:", (await b.evaluate((t) => (globalThis as any).scores.filter(([k, , at]: [string, number, number]) => k === 'video' && at >= t).map(([, s]: [string, number]) => s), start)).join(' '));
    // The loss was A's: B's own connection stays what it was.
    expect(await quality(b)).toBe('excellent');

    const end = Date.now();
    relay.lose(0);
    await a.waitForFunction(() => (globalThis as any).client.connectionQuality === 'excellent', undefined, { timeout: 45_000, polling: 50 });
    timings['A excellent again after loss ended (ms)'] = Date.now() - end;
    await b.waitForFunction(() => (globalThis as any).consumers.some((c: any) => c.kind === 'video' && !c.closed && c.score >= 9), undefined, { timeout: 45_000, polling: 50 });
    timings["B's video score ≥ 9 again after loss ended (ms)"] = (await firstScore(end, 10, 9)) - end;
    // Stated bounds. Trouble within 15 s: the server's RTCP report of the loss comes within about a
    // second, then the 2 s debounce, but NACK repairs put some intervals' loss and scores near the
    // good/poor line, and a level is taken only once every sample said it (3-12 s measured).
    // Recovery within 40 s: mediasoup averages a stream's score over its recent intervals, then 5 s
    // of debounce (14-19 s measured beside other agents' tests, 26 s once in a CI run).
    expect(timings['A poor after loss began (ms)']).toBeLessThanOrEqual(15_000);
    expect(timings["B's video score ≤ 6 after loss began (ms)"]).toBeLessThanOrEqual(15_000);
    expect(timings['A excellent again after loss ended (ms)']).toBeLessThanOrEqual(40_000);
    expect(timings["B's video score ≥ 9 again after loss ended (ms)"]).toBeLessThanOrEqual(40_000);
    // No flapping: A went excellent → (good →) poor → (good →) excellent, each level once.
    const sinceLoss = ['excellent', ...(await a.evaluate((t) => (globalThis as any).qualities.filter(([, at]: [string, number]) => at >= t).map(([q]: [string]) => q), start))];
    console.log('A connectionquality events since the loss began:', sinceLoss.join(' → '));
    expect(sinceLoss.filter((q: string) => q === 'poor')).toHaveLength(1);
  }, 120_000);

  it('getStats of a closed manager rejects with its closed code', async () => {
    const producerCode = await a.evaluate(async () => {
      const w = globalThis as any;
      const video = w.producers.find((p: any) => p.kind === 'video');
      await video.close();
      return video.getStats().then(() => 'resolved', (e: any) => e.code);
    });
    expect(producerCode).toBe('PRODUCER_CLOSED');
    const consumerCode = await b.evaluate(async () => {
      const w = globalThis as any;
      const video = w.consumers.find((c: any) => c.kind === 'video');
      if (!video.closed) await new Promise((r) => video.once('closed', r));
      return video.getStats().then(() => 'resolved', (e: any) => e.code);
    });
    expect(consumerCode).toBe('CONSUMER_CLOSED');
  });
});
