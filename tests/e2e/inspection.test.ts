// Inspection end to end: a real server, real Chromium pages.
//  - the demo page with its state panel: a paused producer shows paused; the panel's trace
//    (Export) has no token and replays, step by step, in a page without any client;
//  - call health in the panel: a producer's score, bitrate and fps beside its state, the speaker
//    (a microphone playing a tone), the same in the exported trace and its replay;
//  - `inspect: <function>` sees every actor of a receiving client by systemId, never the token;
//  - `inspect: true` feeds the Stately inspector window (served here by a stand-in page).
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openClientPage } from '../support/browser.js';
import { startServerProcess } from '../support/server.js';
import { describeState, parseTrace, stateAt, statePaths, type HealthView, type Trace } from '../../src/inspector/index.js';

type Server = Awaited<ReturnType<typeof startServerProcess>>;

/** Every inspection event a page's client saw, as JSON (see `collectInspection`). */
const INSPECT_COLLECTOR = `(event) => {
  const seen = new WeakSet();
  globalThis.inspected.push(JSON.stringify(event, (k, v) => {
    if (typeof v === 'object' && v !== null) { if (seen.has(v)) return undefined; seen.add(v); }
    return typeof v === 'function' ? undefined : v;
  }));
  const ref = event.actorRef;
  if (ref) queueMicrotask(() => globalThis.systemIds.add(ref.systemId ?? ''));
}`;

async function panelState(page: Page, actor: string): Promise<string | null> {
  return page.locator(`.mi-panel .mi-actor[data-actor="${actor}"]`).getAttribute('data-state');
}

describe('inspection in Chromium', () => {
  let server: Server;
  let browser: Browser;

  beforeAll(async () => {
    [server, browser] = await Promise.all([startServerProcess({ env: { DEMO: '1' } }), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('the demo page state panel shows a paused producer as paused, and its trace replays', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.httpUrl}/`);
    await page.fill('input[name=roomId]', 'inspect-room');
    await page.fill('input[name=userId]', 'alice');
    const tokenResponse = page.waitForResponse((r) => r.url().endsWith('/demo/connect'));
    await page.click('#join button[type=submit]');
    const { token } = (await (await tokenResponse).json()) as { token: string };
    await page.waitForSelector('#status[data-state=connected]');
    await page.waitForFunction(() => document.querySelector('.tile .state')?.textContent === 'sending');

    // the panel is loaded on demand: no inspector code until the toggle is switched on
    const scripts = () => page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.endsWith('.js')));
    expect((await scripts()).some((n) => n.includes('media-infra-inspector'))).toBe(false);
    await page.check('#panel-toggle');
    await page.waitForSelector('.mi-panel [data-actor="client"]');
    expect((await scripts()).some((n) => n.endsWith('/media-infra-inspector.js'))).toBe(true);
    // every actor of the client is in the tree, by systemId
    for (const actor of ['client', 'signaling', 'device', 'transport.send', 'transport.recv', 'producer.1', 'producer.2']) {
      await page.waitForSelector(`.mi-panel [data-actor="${actor}"]`);
    }
    const producerStates = async () => [await panelState(page, 'producer.1'), await panelState(page, 'producer.2')];
    expect(await producerStates()).toEqual(['active.media.live active.recording.idle active.source.current', 'active.media.live active.recording.idle active.source.current']);

    // pause the camera with the page's own button: the panel shows that producer paused
    await page.click('.tile button:text("Stop video")');
    await page.waitForSelector('.mi-panel [data-actor^="producer."][data-state~="active.media.paused"]');
    const states = await producerStates();
    expect(states.filter((s) => s === 'active.media.paused active.recording.idle active.source.current')).toHaveLength(1);
    expect(states.filter((s) => s === 'active.media.live active.recording.idle active.source.current')).toHaveLength(1);
    const paused = states[0]!.includes('paused') ? 'producer.1' : 'producer.2';
    // selected, its state is highlighted on its diagram
    await page.click(`.mi-panel [data-actor="${paused}"]`);
    await page.waitForSelector('.mi-panel [data-diagram] .mi-node.mi-active[data-node="active.media.paused"]');
    expect(await page.locator('.mi-panel [data-diagram] .mi-node.mi-active[data-node="active.media.live"]').count()).toBe(0);
    // recent events, with payloads
    expect(await page.locator('.mi-panel .mi-event .mi-type', { hasText: /^pause$/ }).count()).toBeGreaterThan(0);
    await page.screenshot({ path: '/tmp/panel.png' });

    // Export: a redacted trace file
    const download = page.waitForEvent('download');
    await page.click('.mi-panel button[data-action=export]');
    const path = await (await download).path();
    const { readFileSync } = await import('node:fs');
    const json = readFileSync(path!, 'utf8');
    expect(json).not.toContain(token);
    expect(json).not.toContain(encodeURIComponent(token));
    const trace = parseTrace(json);
    writeFileSync('/tmp/call.trace.json', json); // a real trace, for a look (or a fixture)
    const last = stateAt(trace, trace.events.length - 1);
    expect(describeState(last.get(paused)!)).toBe('active.media.paused, active.recording.idle, active.source.current');
    expect((last.get(paused)!.context as { kind?: string }).kind).toBe('video');
    expect(errors).toEqual([]);

    // the trace replays in a page without a client: step by step, the states the trace says
    await replayInFreshPage(trace, paused);
    await context.close();
  });

  async function replayInFreshPage(trace: Trace, paused: string): Promise<void> {
    const { page } = await openClientPage(browser, server.httpUrl);
    await page.evaluate(`import(${JSON.stringify(`${server.httpUrl}/media-infra-inspector.js`)}).then((m) => { globalThis.Inspector = m; })`);
    await page.evaluate((t) => {
      (globalThis as any).panel = (globalThis as any).Inspector.mountPanel({ trace: t });
    }, trace as unknown);
    // the step at which the producer became paused, and the one before
    const pausedAt = trace.events.find((e) => e.kind === 'snapshot' && e.actor === paused && JSON.stringify(e.value).includes('"media":"paused"'))!.seq;
    const before = pausedAt - 1;
    for (const step of [0, before, pausedAt, trace.events.length - 1]) {
      await page.evaluate((s) => (globalThis as any).panel.step(s), step);
      await page.waitForSelector(`.mi-panel .mi-step[data-step="${step}"]`);
      const expected = [...stateAt(trace, step).values()].filter((a) => a.machine);
      for (const actor of expected) {
        expect(await panelState(page, actor.name), `${actor.name} at step ${step}`).toBe(statePaths(actor.value).join(' '));
      }
    }
    await page.evaluate((s) => (globalThis as any).panel.step(s), before);
    expect(await panelState(page, paused)).toBe('active.media.pausing active.recording.idle active.source.current');
    await page.click('.mi-panel button[data-action=next]');
    await page.waitForSelector(`.mi-panel .mi-step[data-step="${pausedAt}"]`);
    expect(await panelState(page, paused)).toBe('active.media.paused active.recording.idle active.source.current');
    expect(await page.locator('.mi-panel [data-actor].mi-changed').getAttribute('data-actor')).toBe(paused);
    await page.context().close();
  }

  it('inspect: a function sees every actor of a receiving client by systemId, and never the token', async () => {
    const sender = await openClientPage(browser, server.httpUrl);
    const receiver = await openClientPage(browser, server.httpUrl);
    const ts = await server.connect('inspect-2', 'sender');
    const tr = await server.connect('inspect-2', 'receiver');
    await sender.page.evaluate(async ([url, token]) => {
      const w = globalThis as any;
      w.client = w.MediaInfra.createMediaClient(url, token);
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
      for (const track of stream.getTracks()) await w.client.produceTrack(track);
    }, [ts.url, ts.token] as const);
    await receiver.page.evaluate(
      ([url, token, collector]) => {
        const w = globalThis as any;
        w.inspected = [];
        w.systemIds = new Set();
        w.consumers = [];
        w.client = w.MediaInfra.createMediaClient(url, token, { inspect: (0, eval)(`(${collector})`) });
        w.client.listenTrack((cm: any) => w.consumers.push(cm));
      },
      [tr.url, tr.token, INSPECT_COLLECTOR] as const,
    );
    await receiver.page.waitForFunction(() => (globalThis as any).consumers.length === 2, null, { timeout: 30_000 });
    await receiver.page.evaluate(async () => {
      const w = globalThis as any;
      await w.consumers[0].pause();
      await w.consumers[0].resume();
      await w.client.close();
    });
    await sender.page.evaluate(() => (globalThis as any).client.close());
    const { inspected, systemIds } = await receiver.page.evaluate(() => ({
      inspected: (globalThis as any).inspected as string[],
      systemIds: [...(globalThis as any).systemIds] as string[],
    }));
    expect(inspected.length).toBeGreaterThan(100);
    expect(inspected.filter((e) => e.includes(tr.token) || e.includes(encodeURIComponent(tr.token)))).toEqual([]);
    expect(systemIds).toEqual(expect.arrayContaining(['client', 'signaling', 'device', 'transport.send', 'transport.recv']));
    expect(systemIds.filter((id) => id.startsWith('consumer.'))).toHaveLength(2);
    // the log lines of the page carry no token either
    expect([...sender.consoleLines, ...receiver.consoleLines].filter((l) => l.includes(tr.token) || l.includes(ts.token))).toEqual([]);
    await sender.page.context().close();
    await receiver.page.context().close();
  });

  it('inspect: true opens the Stately inspector and feeds it every actor, redacted', async () => {
    const { page } = await openClientPage(browser, server.httpUrl);
    // A stand-in for https://stately.ai/inspect (no internet here): it says it is connected, as the
    // real one does, and keeps what it receives.
    await page.context().route('https://stately.ai/inspect**', (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<script>window.received = []; addEventListener('message', (e) => window.received.push(JSON.stringify(e.data)));
               window.opener.postMessage({ type: '@statelyai.connected' }, '*');</script>`,
      }),
    );
    const t = await server.connect('inspect-3', 'stately');
    const popup = page.context().waitForEvent('page');
    await page.evaluate(([url, token]) => {
      const w = globalThis as any;
      w.client = w.MediaInfra.createMediaClient(url, token, { inspect: true });
    }, [t.url, t.token] as const);
    const inspector = await popup;
    expect(inspector.url()).toMatch(/^https:\/\/stately\.ai\/inspect/);
    await page.waitForFunction(() => (globalThis as any).client.state === 'connected');
    await page.evaluate(async () => {
      const w = globalThis as any;
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      await w.client.produceTrack(stream.getAudioTracks()[0]);
    });
    await inspector.waitForFunction(() => (globalThis as any).received.some((e: string) => e.includes('"producer.1"')), null, { timeout: 20_000 });
    const received = (await inspector.evaluate(() => (globalThis as any).received)) as string[];
    const actors = received.map((e) => JSON.parse(e)).filter((e) => e.type === '@xstate.actor').map((e) => e.name);
    expect(actors).toEqual(expect.arrayContaining(['client', 'signaling', 'device', 'transport.send', 'producer.1']));
    expect(received.filter((e) => e.includes(t.token) || e.includes(encodeURIComponent(t.token)))).toEqual([]);
    await page.evaluate(() => (globalThis as any).client.close());
    await page.context().close();
  });
});

describe('call health in the state panel, in Chromium', () => {
  let server: Server;
  let browser: Browser;

  beforeAll(async () => {
    // the microphone plays a steady tone: its user is heard, so the server names a speaker
    [server, browser] = await Promise.all([startServerProcess({ env: { DEMO: '1' } }), launchBrowser({ toneMicrophone: true })]);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("the panel shows a producer's score, bitrate and fps beside its state and who speaks; the trace has them", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.httpUrl}/`);
    await page.fill('input[name=roomId]', 'panel-health');
    await page.fill('input[name=userId]', 'alice');
    const tokenResponse = page.waitForResponse((r) => r.url().endsWith('/demo/connect'));
    await page.click('#join button[type=submit]');
    const { token } = (await (await tokenResponse).json()) as { token: string };
    await page.waitForSelector('#status[data-state=connected]');
    await page.check('#panel-toggle');

    // the camera's producer: its score, bitrate and fps beside its state (the stats every 2 s)
    const video = await page.waitForFunction(
      () =>
        [...document.querySelectorAll<HTMLElement>('.mi-panel .mi-actor[data-actor^="producer."]')].find(
          (row) => Number(row.dataset.bitrate) > 0 && Number(row.dataset.fps) > 0 && row.dataset.score !== undefined,
        )?.dataset.actor,
      null,
      { timeout: 20_000 },
    );
    const videoActor = (await video.jsonValue()) as string;
    const row = page.locator(`.mi-panel .mi-actor[data-actor="${videoActor}"]`);
    expect(Number(await row.getAttribute('data-score'))).toBeGreaterThanOrEqual(0);
    expect(await row.getAttribute('data-state')).toContain('active.media.live');
    expect(await row.locator('.mi-health').textContent()).toMatch(/^score \d+ · [\d.]+ (kb|Mb)\/s · [\d.]+ fps · \d+×\d+( · loss [\d.]+%)?$/);
    // the speaker: alice, by her microphone's producer
    await page.waitForSelector('.mi-panel .mi-speaker[data-speaker="alice"]', { timeout: 20_000 });
    const speakerActor = await page.locator('.mi-panel .mi-speaker').getAttribute('data-speaker-actor');
    expect(speakerActor).toMatch(/^producer\.\d+$/);
    expect(speakerActor).not.toBe(videoActor);
    expect(await page.locator('.mi-panel .mi-speaker').textContent()).toBe(`speaking: alice (${speakerActor})`);
    await page.screenshot({ path: '/tmp/panel-health.png' });

    // the exported trace has them, redacted as the rest
    const download = page.waitForEvent('download');
    await page.click('.mi-panel button[data-action=export]');
    const json = readFileSync((await (await download).path())!, 'utf8');
    expect(json).not.toContain(token);
    expect(json).not.toContain(encodeURIComponent(token));
    const trace = parseTrace(json);
    writeFileSync('/tmp/call-health.trace.json', json); // a real trace, for a look (or a fixture)
    expect(trace.version).toBe(2);
    const videoHealth = trace.events.filter((e): e is Extract<Trace['events'][number], { kind: 'health' }> => e.kind === 'health' && e.actor === videoActor);
    expect(videoHealth.some((e) => (e.health.bitrateBps ?? 0) > 0 && (e.health.framesPerSecond ?? 0) > 0)).toBe(true);
    expect(videoHealth.some((e) => typeof e.health.score === 'number')).toBe(true);
    const last = stateAt(trace, trace.events.length - 1);
    expect(last.get('client')!.health!.speaker).toMatchObject({ userId: 'alice', actor: speakerActor });
    expect(errors).toEqual([]);

    // replayed in a page without a client: the same figures beside the producer, the same speaker
    const replay = await openClientPage(browser, server.httpUrl);
    await replay.page.evaluate(`import(${JSON.stringify(`${server.httpUrl}/media-infra-inspector.js`)}).then((m) => { globalThis.Inspector = m; })`);
    await replay.page.evaluate((t) => {
      const panel = (globalThis as any).Inspector.mountPanel({ trace: t });
      panel.step((t as Trace).events.length - 1);
    }, trace as unknown);
    const replayed = replay.page.locator(`.mi-panel .mi-actor[data-actor="${videoActor}"]`);
    const expected = last.get(videoActor)!.health as HealthView;
    expect(Number(await replayed.getAttribute('data-bitrate'))).toBe(expected.bitrateBps);
    expect(Number(await replayed.getAttribute('data-score'))).toBe(expected.score);
    expect(await replay.page.locator('.mi-panel .mi-speaker').getAttribute('data-speaker')).toBe('alice');
    await replay.page.context().close();
    await context.close();
  });
});
