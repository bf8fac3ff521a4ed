// Room isolation on one server: two rooms, each with a sending and a listening Chromium page, and a
// raw signaling client in room 2 that names room 1's ids. Nobody in room 2 receives room 1's
// media, room 1's ids are NOT_FOUND from room 2, and room 1 goes on untouched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';
import { rtpParameters, TestSocket } from '../server/wsClient.js';
import { consumersOfProducers, pair } from './lifecycleHelpers.js';
import { consumerOf, makeScreenTrack, produceCameraAndMic, waitForFrames, watchFrames } from './pageHelpers.js';

describe('two rooms on one server', () => {
  let server: ServerProcess;
  let browser: Browser;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    [server, browser] = await Promise.all([startServerProcess(), launchBrowser()]);
  });
  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close().catch(() => undefined)));
    await browser?.close();
    await server?.stop();
  });

  /** The ids of the transports a page's client created (from the server's createTransport answers). */
  async function transportIds(page: Page): Promise<string[]> {
    return page.evaluate(() => {
      const wire: Array<{ dir: string; frame: any }> = (globalThis as any).wire;
      // Protocol 3: the welcome offers both transports; an older server answers createTransport.
      const welcomed = wire.flatMap((e) =>
        e.dir === 'in' && e.frame.method === 'welcome' && e.frame.data.transports ? Object.values(e.frame.data.transports).map((t: any) => t.id) : [],
      );
      const asked = new Set(wire.filter((e) => e.dir === 'out' && e.frame.method === 'createTransport').map((e) => e.frame.id));
      return [...welcomed, ...wire.filter((e) => e.dir === 'in' && e.frame.type === 'response' && asked.has(e.frame.id) && e.frame.ok).map((e) => e.frame.data.id)];
    });
  }

  async function producerIds(page: Page): Promise<string[]> {
    return page.evaluate(() => (globalThis as any).producers.map((p: any) => p.id));
  }

  async function consumersSeen(page: Page): Promise<Array<{ id: string; kind: string; producerId: string; userId: string; state: string; producerPaused: boolean }>> {
    return page.evaluate(() =>
      (globalThis as any).consumers.map((c: any) => ({
        id: c.id,
        kind: c.kind,
        producerId: c.producerId,
        userId: c.userId,
        state: c.state,
        producerPaused: c.producerPaused,
      })),
    );
  }

  it("nobody in room 2 receives room 1's media or can name its ids; room 1 goes on", async () => {
    // Room 1: alice sends, bob listens. Room 2: carol sends, dave listens.
    const room1 = await pair(browser, server, 'iso-1', 'alice', 'bob');
    const room2 = await pair(browser, server, 'iso-2', 'carol', 'dave');
    await Promise.all([produceCameraAndMic(room1.a), produceCameraAndMic(room2.a)]);
    const [aliceIds, carolIds] = await Promise.all([producerIds(room1.a), producerIds(room2.a)]);
    const bobConsumers = await consumersOfProducers(room1.a, room1.b);
    await consumersOfProducers(room2.a, room2.b);

    // Each listener has exactly its own room's tracks.
    expect((await consumersSeen(room1.b)).map((c) => [c.userId, c.producerId]).sort()).toEqual(aliceIds.map((id) => ['alice', id]).sort());
    expect((await consumersSeen(room2.b)).map((c) => [c.userId, c.producerId]).sort()).toEqual(carolIds.map((id) => ['carol', id]).sort());

    // A raw client in room 2. Its `listen` answers only after a consumer of every producer already
    // in its room was announced: exactly carol's, none of alice's.
    const t = await server.connect('iso-2', 'eve');
    const { socket: eve, welcome } = await TestSocket.welcomed(t.url, t.token);
    sockets.push(eve);
    expect(welcome.data.roomId).toBe('iso-2');
    await eve.ok('join', { rtpCapabilities: welcome.data.routerRtpCapabilities });
    const eveSend = await eve.ok<{ id: string }>('createTransport', { direction: 'send' });
    await eve.ok('createTransport', { direction: 'recv' });
    await eve.ok('listen');
    const announced = () =>
      eve.frames.flatMap((f) => (f.type === 'notification' && f.method === 'newConsumer' ? [[f.data.userId, f.data.producerId] as [string, string]] : []));
    expect(announced().sort()).toEqual(carolIds.map((id) => ['carol', id]).sort());

    // Room 1's ids, named from room 2.
    const bobVideo = (await consumersSeen(room1.b)).find((c) => c.kind === 'video')!.id;
    const room1Transports = [...(await transportIds(room1.a)), ...(await transportIds(room1.b))];
    // alice's and bob's send and recv transports, each pair from its welcome.
    expect(room1Transports).toHaveLength(4);
    const dtlsParameters = { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AB:CD' }] };
    const attempts: Array<[string, Record<string, unknown>]> = [];
    for (const producerId of aliceIds) {
      for (const method of ['pauseProducer', 'resumeProducer', 'startRecord', 'stopRecord', 'closeProducer']) attempts.push([method, { producerId }]);
    }
    for (const consumerId of bobConsumers) {
      for (const method of ['pauseConsumer', 'resumeConsumer']) attempts.push([method, { consumerId }]);
    }
    for (const transportId of room1Transports) {
      attempts.push(['connectTransport', { transportId, dtlsParameters }]);
      attempts.push(['restartIce', { transportId }]);
      attempts.push(['produce', { transportId, kind: 'video', rtpParameters: rtpParameters('video') }]);
    }
    const answers: string[] = [];
    for (const [method, data] of attempts) {
      const res = await eve.request(method, data);
      answers.push(`${method} ${res.ok ? 'ok' : res.error.code}`);
    }
    expect(answers).toEqual(attempts.map(([method]) => `${method} NOT_FOUND`));
    // Eve's own ids work: the refusals above were about whose ids they were.
    expect((await eve.request('restartIce', { transportId: eveSend.id })).ok).toBe(true);

    // Nothing changed in room 1: alice still sends, bob's consumers are live and unpaused, nothing
    // was recorded, and bob's video keeps decoding.
    expect(await room1.a.evaluate(() => (globalThis as any).producers.map((p: any) => [p.state, p.paused, p.recording]))).toEqual([
      ['live', false, false],
      ['live', false, false],
    ]);
    expect((await consumersSeen(room1.b)).map((c) => [c.state, c.producerPaused])).toEqual([
      ['live', false],
      ['live', false],
    ]);
    expect(await room1.b.evaluate(() => Object.values((globalThis as any).consumerEvents))).toEqual([['state:live'], ['state:live']]);
    expect(await server.recordings('iso-1')).toEqual([]);
    await watchFrames(room1.b, bobVideo);
    await waitForFrames(room1.b, bobVideo, 30);

    // A track alice adds later reaches bob, and still nobody in room 2: when bob has it, room 2's
    // listeners have had the same announcement round (a ping answered after it on eve's socket).
    await makeScreenTrack(room1.a);
    const screenId = await room1.a.evaluate(async () => {
      const w = globalThis as any;
      const p = await w.client.produceTrack(w.screenTrack);
      w.producers.push(p);
      return p.id as string;
    });
    await consumerOf(room1.b, screenId);
    await eve.ok('ping');
    expect(announced().map(([, producerId]) => producerId)).not.toContain(screenId);
    expect(announced()).toHaveLength(2);
    expect((await consumersSeen(room2.b)).map((c) => c.userId)).toEqual(['carol', 'carol']);
    // Room 2's media flows for room 2: dave decodes carol's video.
    const daveVideo = (await consumersSeen(room2.b)).find((c) => c.kind === 'video')!.id;
    await watchFrames(room2.b, daveVideo);
    await waitForFrames(room2.b, daveVideo, 10);
  });
});
