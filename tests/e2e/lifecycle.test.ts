// Producer and consumer lifecycles end to end: a real server, page A sending its fake camera and
// microphone, page B listening, the public client API only. What B "receives" is read from the
// decoded frames of its tracks and from the RTP packets its peer connection counted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';
import {
  answered,
  consumersOfProducers,
  framesAndPacketsOver,
  clientPage,
  packetsReceived,
  pair,
  keyFramesSent,
  recordingHasMedia,
  sent,
  type Traced,
} from './lifecycleHelpers.js';
import { consumerOf, listen, makeScreenTrack, produceCameraAndMic, waitForConsumerEvent, waitForFrames, waitForNoFrames, watchFrames } from './pageHelpers.js';

/**
 * After a pause is confirmed, frames already decoded or in the jitter buffer still come out: they
 * are drained until none came for QUIET_MS (at the fake camera's ~30 fps that is many frame
 * intervals), then NOTHING_MS is the window in which not one frame or packet may arrive.
 */
const QUIET_MS = 300;
const NOTHING_MS = 500;

/** Stragglers after a confirmed pause: a jitter buffer's worth at most, never a second of video. */
const MAX_STRAGGLERS = 15;

describe('producer and consumer lifecycles in Chromium', () => {
  let server: ServerProcess;
  let browser: Browser;
  let rooms = 0;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startServerProcess(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** A sends camera + mic in a room of its own, B listens and decodes A's video. */
  async function sending(): Promise<{ a: Page; b: Page; roomId: string; video: string; audio: string }> {
    const roomId = `life-${++rooms}`;
    const { a, b } = await pair(browser, server, roomId);
    await produceCameraAndMic(a);
    // Camera first, then microphone, whatever order getUserMedia listed them in.
    const kinds = await a.evaluate(() => {
      const w = globalThis as any;
      w.producers.sort((x: any, y: any) => (x.kind === y.kind ? 0 : x.kind === 'video' ? -1 : 1));
      return w.producers.map((p: any) => p.kind);
    });
    expect(kinds).toEqual(['video', 'audio']);
    const [video, audio] = await consumersOfProducers(a, b);
    await watchFrames(b, video!);
    await waitForFrames(b, video!, 10);
    // The packet counter reads the right stream (else "no packets" below would prove nothing).
    expect(await packetsReceived(b, video!)).toBeGreaterThan(0);
    return { a, b, roomId, video: video!, audio: audio! };
  }

  /** Nothing of the consumer's track arrives any more: drained, then a window without a frame or packet. */
  async function expectStopped(b: Page, consumerId: string): Promise<void> {
    const { stragglers } = await waitForNoFrames(b, consumerId, QUIET_MS);
    expect(stragglers).toBeLessThanOrEqual(MAX_STRAGGLERS);
    expect(await framesAndPacketsOver(b, consumerId, NOTHING_MS)).toEqual({ frames: 0, packets: 0 });
  }

  it("A's pause() resolves once the server confirmed; B sees producerPaused without being paused, and stops decoding until resume()", async () => {
    const { a, b, video, audio } = await sending();

    const paused = (await a.evaluate(async () => {
      const w = globalThis as any;
      const p = w.producers[0];
      const states: string[] = [];
      p.on('state', (s: string) => states.push(s));
      let events = 0;
      p.on('paused', () => events++);
      const call = w.trace(() => p.pause());
      // Right after the call: waiting for the server, not yet paused.
      const during = { state: p.state, paused: p.paused };
      const traced = await call;
      return { ...traced, during, states, events, after: { state: p.state, paused: p.paused } };
    })) as Traced & { during: unknown; states: string[]; events: number; after: unknown };
    expect(paused.ok).toBe(true);
    // `paused` is the page's intent: true from the call on, before the server answered.
    expect(paused.during).toEqual({ state: 'pausing', paused: true });
    expect(answered(paused, 'pauseProducer')).toMatchObject({ ok: true });
    expect(paused.states).toEqual(['pausing', 'paused']);
    expect(paused.events).toBe(1);
    expect(paused.after).toEqual({ state: 'paused', paused: true });

    const log = await waitForConsumerEvent(b, video, 'producerpaused');
    expect(log).toEqual(['state:live', 'producerpaused']);
    const seen = await b.evaluate(
      ([v, au]) => {
        const w = globalThis as any;
        const [cv, ca] = [v, au].map((id) => w.consumers.find((c: any) => c.id === id));
        return { video: [cv.producerPaused, cv.paused, cv.state], audio: [ca.producerPaused, ca.paused, ca.state] };
      },
      [video, audio] as const,
    );
    expect(seen).toEqual({ video: [true, false, 'live'], audio: [false, false, 'live'] });
    await expectStopped(b, video);

    const resumed = (await a.evaluate(async () => {
      const w = globalThis as any;
      const p = w.producers[0];
      const traced = await w.trace(() => p.resume());
      return { ...traced, after: { state: p.state, paused: p.paused } };
    })) as Traced & { after: unknown };
    expect(resumed.ok).toBe(true);
    expect(answered(resumed, 'resumeProducer')).toMatchObject({ ok: true });
    expect(resumed.after).toEqual({ state: 'live', paused: false });
    expect(await waitForConsumerEvent(b, video, 'producerresumed')).toEqual(['state:live', 'producerpaused', 'producerresumed']);
    expect(await b.evaluate((id) => (globalThis as any).consumers.find((c: any) => c.id === id).producerPaused, video)).toBe(false);
    await waitForFrames(b, video, 15);
  });

  it('a listener that arrives while the producer is paused starts with producerPaused, and decodes once it resumes', async () => {
    const roomId = `life-${++rooms}`;
    const a = await clientPage(browser, server, roomId, 'alice');
    await produceCameraAndMic(a);
    const video = await a.evaluate(async () => {
      const p = (globalThis as any).producers.find((x: any) => x.kind === 'video');
      await p.pause();
      return p.id as string;
    });
    // Only now does anyone listen.
    const late = await clientPage(browser, server, roomId, 'carol');
    await listen(late);
    const lateVideo = await consumerOf(late, video);
    expect(
      await late.evaluate((id) => {
        const cm = (globalThis as any).consumers.find((c: any) => c.id === id);
        return [cm.state, cm.paused, cm.producerPaused];
      }, lateVideo),
    ).toEqual(['live', false, true]);
    await watchFrames(late, lateVideo);
    expect(await framesAndPacketsOver(late, lateVideo, NOTHING_MS)).toEqual({ frames: 0, packets: 0 });

    await a.evaluate(() => (globalThis as any).producers.find((x: any) => x.kind === 'video').resume());
    expect(await waitForConsumerEvent(late, lateVideo, 'producerresumed')).toEqual(['state:live', 'producerresumed']);
    await waitForFrames(late, lateVideo, 10);
  });

  it("B's own pause()/resume() stop and restart the server's forwarding", async () => {
    const { a, b, video } = await sending();

    const paused = (await b.evaluate(async (id) => {
      const w = globalThis as any;
      const cm = w.consumers.find((c: any) => c.id === id);
      const call = w.trace(() => cm.pause());
      const during = { state: cm.state, paused: cm.paused };
      const traced = await call;
      return { ...traced, during, after: { state: cm.state, paused: cm.paused, producerPaused: cm.producerPaused } };
    }, video)) as Traced & { during: unknown; after: unknown };
    expect(paused.ok).toBe(true);
    expect(paused.during).toEqual({ state: 'pausing', paused: false });
    expect(answered(paused, 'pauseConsumer')).toMatchObject({ ok: true });
    expect(paused.after).toEqual({ state: 'paused', paused: true, producerPaused: false });
    // Packets stop too: the server no longer forwards, it is not only B ignoring them.
    await expectStopped(b, video);
    // A is not affected: still sending.
    expect(await a.evaluate(() => (globalThis as any).producers.map((p: any) => [p.state, p.paused]))).toEqual([
      ['live', false],
      ['live', false],
    ]);

    const resumed = (await b.evaluate(async (id) => {
      const w = globalThis as any;
      const cm = w.consumers.find((c: any) => c.id === id);
      const traced = await w.trace(() => cm.resume());
      return { ...traced, after: { state: cm.state, paused: cm.paused } };
    }, video)) as Traced & { after: unknown };
    expect(resumed.ok).toBe(true);
    expect(answered(resumed, 'resumeConsumer')).toMatchObject({ ok: true });
    expect(resumed.after).toEqual({ state: 'live', paused: false });
    await waitForFrames(b, video, 15);
    expect(await b.evaluate((id) => (globalThis as any).consumerEvents[id], video)).toEqual([
      'state:live',
      'state:pausing',
      'state:paused',
      'paused',
      'state:resuming',
      'state:live',
      'resumed',
    ]);
  });

  it("A's close() ends B's consumer (closed, then CONSUMER_CLOSED everywhere) and A's methods reject PRODUCER_CLOSED", async () => {
    const { a, b, video, audio } = await sending();

    const closed = await a.evaluate(async () => {
      const w = globalThis as any;
      const p = w.producers[0];
      const closedEvents: unknown[] = [];
      p.on('closed', (e: any) => closedEvents.push(e?.code ?? null));
      await p.close();
      const codes: Record<string, unknown> = {};
      for (const m of ['pause', 'resume', 'startRecord', 'stopRecord']) {
        codes[m] = await p[m]().then(
          () => 'resolved',
          (e: any) => [e.name, e.code],
        );
      }
      const again = await p.close().then(() => 'resolved');
      return { state: p.state, closed: p.closed, closedEvents, codes, again, track: p.track.readyState };
    });
    expect(closed).toEqual({
      state: 'closed',
      closed: true,
      closedEvents: [null],
      codes: {
        pause: ['MediaInfraError', 'PRODUCER_CLOSED'],
        resume: ['MediaInfraError', 'PRODUCER_CLOSED'],
        startRecord: ['MediaInfraError', 'PRODUCER_CLOSED'],
        stopRecord: ['MediaInfraError', 'PRODUCER_CLOSED'],
      },
      again: 'resolved',
      // The track belongs to the page: close() leaves it alone.
      track: 'live',
    });

    expect(await waitForConsumerEvent(b, video, 'closed:CONSUMER_CLOSED')).toEqual(['state:live', 'state:closed', 'closed:CONSUMER_CLOSED']);
    const after = await b.evaluate(
      async ([v, au]) => {
        const w = globalThis as any;
        const [cv, ca] = [v, au].map((id) => w.consumers.find((c: any) => c.id === id));
        const codes: Record<string, unknown> = {};
        for (const m of ['pause', 'resume']) {
          codes[m] = await cv[m]().then(
            () => 'resolved',
            (e: any) => [e.name, e.code],
          );
        }
        return { state: cv.state, closed: cv.closed, codes, track: cv.track.readyState, frameReaderEnded: w.frameCounters[v].ended, audio: ca.state };
      },
      [video, audio] as const,
    );
    expect(after).toEqual({
      state: 'closed',
      closed: true,
      codes: { pause: ['MediaInfraError', 'CONSUMER_CLOSED'], resume: ['MediaInfraError', 'CONSUMER_CLOSED'] },
      track: 'ended',
      frameReaderEnded: true,
      // Only the closed producer's consumer ended.
      audio: 'live',
    });
  });

  it("track.stop() on A's track closes its producer the same way", async () => {
    const { a, b, video, audio } = await sending();
    const stopped = await a.evaluate(async () => {
      const w = globalThis as any;
      const p = w.producers[1];
      const closed = new Promise((resolve) => p.on('closed', (e: any) => resolve(e?.code ?? null)));
      p.track.stop();
      const error = await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve('not closed within 10 s'), 10_000))]);
      return { kind: p.kind, error, state: p.state, pause: await p.pause().then(() => 'resolved', (e: any) => e.code) };
    });
    expect(stopped).toEqual({ kind: 'audio', error: null, state: 'closed', pause: 'PRODUCER_CLOSED' });
    expect(await waitForConsumerEvent(b, audio, 'closed:CONSUMER_CLOSED')).toEqual(['state:live', 'state:closed', 'closed:CONSUMER_CLOSED']);
    expect(await b.evaluate((id) => (globalThis as any).consumers.find((c: any) => c.id === id).resume().catch((e: any) => e.code), audio)).toBe(
      'CONSUMER_CLOSED',
    );
    // The camera goes on.
    await waitForFrames(b, video, 10);
  });

  it('calls in the wrong state reject INVALID_STATE and change nothing; a call while another is in flight is an intent, the last one winning', async () => {
    const { a, b, roomId, video } = await sending();

    const producer = await a.evaluate(async () => {
      const w = globalThis as any;
      const p = w.producers[0];
      const code = (x: Promise<unknown>) => x.then(() => 'resolved', (e: any) => `${e.name}:${e.code}`);
      const out: Record<string, unknown> = {};
      out.stopRecordIdle = await w.trace(() => p.stopRecord());
      out.afterStopRecord = [p.state, p.paused, p.recording];
      // A second call before the server answered the first: the same intent, it waits with it.
      const first = w.trace(() => p.pause());
      const again = code(p.pause());
      out.duringPausing = [p.state, p.paused];
      out.first = await first;
      out.pauseWhilePausing = await again;
      out.afterPause = [p.state, p.paused, p.recording];
      // Pausing what is paused is not an error: it resolves at once, without asking the server.
      out.pauseWhenPaused = await w.trace(() => p.pause());
      // A pause while resuming is the last word: applied once the resume is answered.
      const resumed = w.trace(() => p.resume());
      const pauseWhileResuming = code(p.pause());
      out.resumed = await resumed;
      out.pauseWhileResuming = await pauseWhileResuming;
      out.afterResume = [p.state, p.paused, p.recording];
      out.finalResume = await w.trace(() => p.resume());
      out.afterFinalResume = [p.state, p.paused, p.recording];
      return out;
    });
    const stopIdle = producer['stopRecordIdle'] as Traced;
    expect(stopIdle).toMatchObject({ ok: false, name: 'MediaInfraError', code: 'INVALID_STATE' });
    expect(stopIdle.wire).toEqual([]);
    expect(producer['afterStopRecord']).toEqual(['live', false, false]);
    expect(producer['duringPausing']).toEqual(['pausing', true]);
    expect(producer['pauseWhilePausing']).toBe('resolved');
    const first = producer['first'] as Traced;
    expect(first.ok).toBe(true);
    // One request only: the second call joined the first.
    expect(sent(first, 'pauseProducer')).toBe(1);
    expect(sent(first, 'resumeProducer')).toBe(0);
    expect(producer['afterPause']).toEqual(['paused', true, false]);
    expect(producer['pauseWhenPaused']).toMatchObject({ ok: true, wire: [] });
    // The resume was answered, then the pause that came after it applied: the resume call resolves (superseded).
    const resumed = producer['resumed'] as Traced;
    expect(resumed.ok).toBe(true);
    expect(producer['pauseWhileResuming']).toBe('resolved');
    expect([sent(resumed, 'resumeProducer'), sent(resumed, 'pauseProducer')]).toEqual([1, 1]);
    expect(producer['afterResume']).toEqual(['paused', true, false]);
    expect(producer['finalResume']).toMatchObject({ ok: true });
    expect(producer['afterFinalResume']).toEqual(['live', false, false]);
    // B saw each of them, in order.
    await b.waitForFunction((id) => ((globalThis as any).consumerEvents[id] ?? []).filter((e: string) => e === 'producerresumed').length === 2, video, { timeout: 10_000 });
    expect(await b.evaluate((id) => (globalThis as any).consumerEvents[id], video)).toEqual(['state:live', 'producerpaused', 'producerresumed', 'producerpaused', 'producerresumed']);

    // Recording: a second start while the first is starting, a stop while starting.
    const producerId = await a.evaluate(() => (globalThis as any).producers[0].id as string);
    const keyFrames = await keyFramesSent(a, producerId);
    expect(keyFrames).toBeGreaterThan(0);
    const recording = await a.evaluate(async () => {
      const w = globalThis as any;
      const p = w.producers[0];
      const code = (x: Promise<unknown>) => x.then(() => 'resolved', (e: any) => `${e.name}:${e.code}`);
      const first = w.trace(() => p.startRecord());
      // The same call while the first is in flight waits with it (a stop would be the last word: tests/model).
      const startWhileStarting = await code(p.startRecord());
      return { startWhileStarting, first: await first, recording: p.recording, id: p.id };
    });
    expect(recording).toMatchObject({
      startWhileStarting: 'resolved',
      first: { ok: true },
      recording: true,
    });
    expect(sent(recording.first as Traced, 'startRecord')).toBe(1);
    expect(sent(recording.first as Traced, 'stopRecord')).toBe(0);
    expect(await server.recordings(roomId)).toMatchObject([{ producerId: recording.id, state: 'recording' }]);
    await recordingHasMedia(a, b, recording.id, video, keyFrames);
    const stopped = await a.evaluate(async () => {
      const w = globalThis as any;
      const p = w.producers[0];
      const first = w.trace(() => p.stopRecord());
      const stopWhileStopping = p.stopRecord().then((r: { id: string }) => r.id, (e: any) => `${e.name}:${e.code}`);
      return { stopWhileStopping: await stopWhileStopping, first: await first, recording: p.recording };
    });
    // On failure, the server's recording log lines say why (ffmpeg's last words included).
    const recordingLog = () => server.logs().split('\n').filter((l) => /recording/.test(l)).join('\n');
    expect(stopped, recordingLog()).toMatchObject({
      first: { ok: true, value: { id: expect.any(String), path: expect.any(String) } },
      recording: false,
    });
    // The second stop waited with the first and answers with the same recording.
    expect(stopped.stopWhileStopping).toBe((stopped.first as Traced & { value: { id: string } }).value.id);
    expect(sent(stopped.first as Traced, 'stopRecord')).toBe(1);
    expect(sent(stopped.first as Traced, 'startRecord')).toBe(0);
    expect(await server.recordings(roomId)).toMatchObject([{ producerId: recording.id, state: 'finished' }]);

    // B's consumer: the same rules.
    const consumer = await b.evaluate(async (id) => {
      const w = globalThis as any;
      const cm = w.consumers.find((c: any) => c.id === id);
      const code = (x: Promise<unknown>) => x.then(() => 'resolved', (e: any) => `${e.name}:${e.code}`);
      const resumeWhenLive = await w.trace(() => cm.resume());
      const first = w.trace(() => cm.pause());
      const pauseWhilePausing = await code(cm.pause());
      const resumeWhilePausing = await code(cm.resume());
      const paused = await first;
      const afterPause = [cm.state, cm.paused];
      const second = w.trace(() => cm.resume());
      const pauseWhileResuming = await code(cm.pause());
      const resumed = await second;
      return { resumeWhenLive, pauseWhilePausing, resumeWhilePausing, paused, afterPause, pauseWhileResuming, resumed, after: [cm.state, cm.paused] };
    }, video);
    expect(consumer.resumeWhenLive).toMatchObject({ ok: true, wire: [] });
    expect(consumer.pauseWhilePausing).toBe('MediaInfraError:INVALID_STATE');
    expect(consumer.resumeWhilePausing).toBe('MediaInfraError:INVALID_STATE');
    expect(sent(consumer.paused as Traced, 'pauseConsumer')).toBe(1);
    expect(sent(consumer.paused as Traced, 'resumeConsumer')).toBe(0);
    expect(consumer.afterPause).toEqual(['paused', true]);
    expect(consumer.pauseWhileResuming).toBe('MediaInfraError:INVALID_STATE');
    expect(sent(consumer.resumed as Traced, 'resumeConsumer')).toBe(1);
    expect(sent(consumer.resumed as Traced, 'pauseConsumer')).toBe(0);
    expect(consumer.after).toEqual(['live', false]);
    await waitForFrames(b, video, 10);
  });

  it('several producers per client: camera + screen + mic, all received by B', async () => {
    const { a, b } = await pair(browser, server, `life-${++rooms}`);
    await makeScreenTrack(a);
    const produced = await a.evaluate(async () => {
      const w = globalThis as any;
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: true });
      w.producers = [
        await w.client.produceTrack(stream.getVideoTracks()[0], { appData: { source: 'camera' } }),
        await w.client.produceTrack(w.screenTrack, { appData: { source: 'screen' } }),
        await w.client.produceTrack(stream.getAudioTracks()[0], { appData: { source: 'mic' } }),
      ];
      return w.producers.map((p: any) => ({ id: p.id, kind: p.kind, state: p.state }));
    });
    expect(produced.map((p: { kind: string; state: string }) => [p.kind, p.state])).toEqual([
      ['video', 'live'],
      ['video', 'live'],
      ['audio', 'live'],
    ]);
    const [camera, screen, mic] = await consumersOfProducers(a, b);
    const received = await b.evaluate(
      (ids) =>
        ids.map((id) => {
          const cm = (globalThis as any).consumers.find((c: any) => c.id === id);
          return [cm.kind, cm.userId, cm.appData.source, cm.track.kind];
        }),
      [camera!, screen!, mic!],
    );
    expect(received).toEqual([
      ['video', 'alice', 'camera', 'video'],
      ['video', 'alice', 'screen', 'video'],
      ['audio', 'alice', 'mic', 'audio'],
    ]);
    expect(await b.evaluate(() => (globalThis as any).consumers.length)).toBe(3);
    for (const id of [camera!, screen!, mic!]) await watchFrames(b, id);
    await Promise.all([waitForFrames(b, camera!, 15), waitForFrames(b, screen!, 15), waitForFrames(b, mic!, 50)]);
    // Each producer is its own: pausing the camera stops the camera only.
    await a.evaluate(() => (globalThis as any).producers[0].pause());
    await waitForConsumerEvent(b, camera!, 'producerpaused');
    await waitForNoFrames(b, camera!, QUIET_MS);
    await waitForFrames(b, screen!, 15);
    expect(await b.evaluate((ids) => ids.map((id) => (globalThis as any).consumers.find((c: any) => c.id === id).producerPaused), [camera!, screen!, mic!])).toEqual([
      true,
      false,
      false,
    ]);
    expect(await consumerOf(b, produced[1].id)).toBe(screen);
  });
});
