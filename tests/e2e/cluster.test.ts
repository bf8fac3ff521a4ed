// A cluster of real nodes (server processes) on real PostgreSQL and Redis, with real Chromium pages:
// a room that spans two nodes (media through PipeTransports, the speaker named across them),
// engines restarting under a call, a node killed (-9) and a node drained (SIGTERM), each time the
// clients moving by themselves. NODE_MAX_PEERS=1 makes placement put A and B on different nodes.
// The fake microphone plays a tone (Chromium's own beep is too quiet to ever be the speaker).
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openClientPage } from '../support/browser.js';
import { FAST_CLIENT_OPTIONS, createFaultClient, listenAndWatch, produceCameraAndMic, until, waitForClientState, waitForFrames } from '../support/faults.js';
import { startPostgres, type Postgres } from '../support/postgres.js';
import { startRedis, type Redis } from '../support/redis.js';
import { clusterRows, nodeAt, startClusterNode, untilCluster } from '../support/cluster.js';
import type { ServerProcess } from '../support/server.js';

let pg: Postgres;
let redis: Redis;
let browser: Browser;
const nodes: ServerProcess[] = [];
const nodeIds = new Map<ServerProcess, string>();
const pages: Page[] = [];

async function startNode(id: string): Promise<ServerProcess> {
  const node = await startClusterNode({ pg, redis }, id, { NODE_MAX_PEERS: '1', LOG_LEVEL: 'info' });
  nodes.push(node);
  nodeIds.set(node, id);
  return node;
}

const nodeOf = (url: string) => nodeAt(nodes, url);

async function party(via: ServerProcess, room: string, user: string): Promise<{ page: Page; node: ServerProcess }> {
  const t = await via.connect(room, user);
  const { page } = await openClientPage(browser, via.httpUrl);
  pages.push(page);
  await createFaultClient(page, t.url, t.token, { options: FAST_CLIENT_OPTIONS });
  await waitForClientState(page, 'connected');
  return { page, node: nodeOf(t.url) };
}

/** The largest pause between B's decoded frames of live consumers from `since` to now (ms). */
async function longestGap(b: Page, since: number): Promise<{ gap: number; frames: number }> {
  return b.evaluate((since) => {
    const log: Array<[string, number]> = (globalThis as any).frameLog.filter(([, t]: [string, number]) => t >= since);
    let gap = 0;
    let prev = since;
    for (const [, t] of log) {
      gap = Math.max(gap, t - prev);
      prev = t;
    }
    return { gap: Math.max(gap, Date.now() - prev), frames: log.length };
  }, since);
}

/** B's consumers that are not closed, as [producerId, kind]. */
function liveConsumers(b: Page): Promise<Array<[string, string]>> {
  return b.evaluate(() => (globalThis as any).consumers.filter((c: any) => !c.closed).map((c: any) => [c.producerId, c.kind]));
}

beforeAll(async () => {
  [pg, redis, browser] = await Promise.all([startPostgres(), startRedis(), launchBrowser({ toneMicrophone: true })]);
});
// A failed step leaves each node's log beside the run (the cause is there, not in the assertion).
beforeEach(({ task, onTestFailed }) => {
  onTestFailed(() => {
    for (const [node, id] of nodeIds) {
      const file = join(tmpdir(), `cluster-${process.pid}-${id}-${task.id}.log`);
      writeFileSync(file, node.logs());
      console.error(`${task.name}: node ${id}'s log is in ${file}`);
    }
  });
});
afterAll(async () => {
  for (const p of pages) await p.evaluate(() => (globalThis as any).client?.close()).catch(() => undefined);
  await browser?.close();
  await Promise.all(nodes.map((n) => n.kill9()));
  await redis?.close();
  await pg?.close();
});

describe('a cluster of two nodes (Chromium, real PostgreSQL and Redis)', () => {
  const room = `cluster-${process.pid}`;
  let a: { page: Page; node: ServerProcess };
  let b: { page: Page; node: ServerProcess };

  it('places A and B on different nodes; B decodes A through the pipe; pause, resume and close cross it', async () => {
    const [n1, n2] = await Promise.all([startNode('n1'), startNode('n2')]);
    await untilCluster(n1, { n1: 0, n2: 0 });
    a = await party(n1, room, 'alice');
    await produceCameraAndMic(a.page);
    // Placement reads the load the nodes publish: wait for A's node to count A.
    await untilCluster(n1, { [nodeIds.get(a.node)!]: 1, [nodeIds.get(a.node === n1 ? n2 : n1)!]: 0 });
    // Asked of A's own node: the room is there, but that node is full, so B goes to the other one.
    b = await party(a.node, room, 'bob');
    expect(b.node).not.toBe(a.node);
    expect(n1 === a.node ? n2 : n1).toBe(b.node);

    await listenAndWatch(b.page);
    await waitForFrames(b.page, 0, 20);
    await b.page.waitForFunction(() => (globalThis as any).consumers.filter((c: any) => c.kind === 'audio').length === 1, null, { timeout: 15_000 });
    const audioFrames = await b.page.evaluate(async () => {
      const w = globalThis as any;
      const audio = w.consumers.find((c: any) => c.kind === 'audio');
      await w.testFrames.play(audio.track);
      let n = 0;
      await w.testFrames.read(audio.track, () => ++n < 20);
      return n;
    });
    expect(audioFrames).toBe(20);
    // Speaking crosses nodes: B's node hears A's voice through the pipe and names A.
    const aAudio = await a.page.evaluate(() => (globalThis as any).producers.find((p: any) => p.kind === 'audio').id as string);
    await b.page.waitForFunction((id) => (globalThis as any).client.activeSpeaker?.producerId === id, aAudio, { timeout: 10_000, polling: 50 });
    expect(await b.page.evaluate(() => (globalThis as any).client.activeSpeaker)).toEqual({ userId: 'alice', producerId: aAudio });

    // Pause at A: B's consumer is told, and its frames stop.
    await a.page.evaluate(() => (globalThis as any).producers.find((p: any) => p.kind === 'video').pause());
    await b.page.waitForFunction(() => (globalThis as any).consumers.find((c: any) => c.kind === 'video' && !c.closed)?.producerPaused === true, null, { timeout: 10_000 });
    await b.page.waitForFunction(() => Date.now() - ((globalThis as any).frameLog.at(-1)?.[1] ?? 0) > 1_000, null, { timeout: 10_000, polling: 100 });
    // Resume: frames again, on the same consumer.
    const resumedAt = Date.now();
    await a.page.evaluate(() => (globalThis as any).producers.find((p: any) => p.kind === 'video').resume());
    await waitForFrames(b.page, resumedAt, 10);
    // Close A's microphone: B's audio consumer closes.
    await a.page.evaluate(async () => {
      const w = globalThis as any;
      await w.producers.find((p: any) => p.kind === 'audio').close();
      w.producers = w.producers.filter((p: any) => p.kind !== 'audio');
    });
    await b.page.waitForFunction(() => (globalThis as any).consumers.find((c: any) => c.kind === 'audio').closed === true, null, { timeout: 10_000 });
    expect((await liveConsumers(b.page)).map(([, kind]) => kind)).toEqual(['video']);
  });

  it('a recording made on A’s node is listed, and its file served with ranges, by the other node too', async () => {
    await a.page.evaluate(() => (globalThis as any).producers.find((p: any) => p.kind === 'video').startRecord());
    // A second of media into the file (B decoding 30 frames meanwhile) before stopping.
    await waitForFrames(b.page, Date.now(), 30);
    const { id, path } = await a.page.evaluate(() => (globalThis as any).producers.find((p: any) => p.kind === 'video').stopRecord());
    const other = b.node;
    const listed = await other.recordings(room);
    expect(listed.find((r) => r.id === id)).toMatchObject({ state: 'finished', path });
    const onDisk = readFileSync(path);
    const get = (headers: Record<string, string> = {}) => fetch(`${other.httpUrl}/v1/api/recordings/${id}/file`, { headers: { authorization: `Bearer ${other.apiKey}`, ...headers } });
    const whole = await get();
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toMatch(/^video\//);
    expect(Buffer.from(await whole.arrayBuffer()).equals(onDisk)).toBe(true);
    const part = await get({ range: 'bytes=10-109' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-109/${onDisk.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(onDisk.subarray(10, 110))).toBe(true);
    // Without the key, the forwarding node refuses before asking anyone.
    expect((await fetch(`${other.httpUrl}/v1/api/recordings/${id}/file`)).status).toBe(401);
  });

  it('Redis restarted mid-call: no client is dropped, frames never stop, the nodes register again', async () => {
    const t0 = Date.now();
    await redis.restart();
    await untilCluster(a.node, { n1: 1, n2: 1 });
    await waitForFrames(b.page, Date.now(), 30, [], 20_000);
    const { gap, frames } = await longestGap(b.page, t0);
    expect(frames).toBeGreaterThan(30);
    expect(gap).toBeLessThan(1_000);
    for (const p of [a.page, b.page]) expect(await p.evaluate(() => (globalThis as any).states)).toEqual(['connecting', 'connected']);
  });

  it('PostgreSQL stopped: the token API answers 503 with a typed error; the call goes on; a new socket is told to try again and gets in once it is back', async ({ onTestFinished }) => {
    const carol = await a.node.connect(room, 'carol');
    const t0 = Date.now();
    await pg.stop();
    // Back for the steps after this one even when a step here fails (start() is a no-op once running).
    onTestFinished(() => pg.start());
    const res = await fetch(`${a.node.httpUrl}/v1/api/connect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${a.node.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ roomId: room, userId: 'carol' }),
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('SERVICE_UNAVAILABLE');
    await waitForFrames(b.page, Date.now(), 30, [], 20_000);
    const { gap } = await longestGap(b.page, t0);
    expect(gap).toBeLessThan(1_000);
    // A client whose token cannot be checked now: closed 1013, retried with backoff, never 'unauthorized'.
    const { page: c } = await openClientPage(browser, a.node.httpUrl);
    pages.push(c);
    await createFaultClient(c, carol.url, carol.token, { options: FAST_CLIENT_OPTIONS });
    await c.waitForFunction(() => (globalThis as any).closeCodes.filter((code: number) => code === 1013).length >= 2, null, { timeout: 15_000 });
    expect(await c.evaluate(() => (globalThis as any).client.state)).not.toBe('closed');
    await pg.start();
    await waitForClientState(c, 'connected');
    expect(await c.evaluate(() => (globalThis as any).client.closeReason)).toBeUndefined();
    const again = await a.node.connect(room, 'dave');
    expect(again.token).toBeTruthy();
    await c.evaluate(() => (globalThis as any).client.close());
  });

  it('kill -9 of A’s node: A reconnects to the other node by itself with the same producers; B decodes A again, nothing duplicated', async () => {
    const survivor = b.node;
    const oldConsumers = await b.page.evaluate(() => (globalThis as any).consumers.map((c: any) => c.id));
    const producersBefore = await a.page.evaluate(() => {
      const w = globalThis as any;
      w.producersBefore = [...w.producers];
      return w.producers.length;
    });
    const t0 = Date.now();
    await a.node.kill9();
    await a.page.waitForFunction(() => (globalThis as any).states.includes('reconnecting'), null, { timeout: 10_000 });
    await waitForClientState(a.page, 'connected');
    const lastUrl = await a.page.evaluate(() => (globalThis as any).socketUrls.at(-1));
    expect(Number(new URL(lastUrl).port)).toBe(survivor.port);
    // The same ProduceManager objects, live again.
    await a.page.waitForFunction(() => (globalThis as any).producersBefore.every((p: any, i: number) => p === (globalThis as any).producers[i] && p.state === 'live'), null, { timeout: 15_000 });
    expect(producersBefore).toBe(1);
    // B: A's video again on a new consumer; the old one closes once the node is declared dead.
    const recoveredAt = await waitForFrames(b.page, t0, 20, oldConsumers);
    console.log(`[cluster] failover: kill -9 → B decodes A again in ${recoveredAt - t0} ms`);
    await b.page.waitForFunction((old) => (globalThis as any).consumers.filter((c: any) => old.includes(c.id)).every((c: any) => c.closed), oldConsumers, { timeout: 20_000 });
    const aIds = await a.page.evaluate(() => (globalThis as any).producers.map((p: any) => p.id));
    expect((await liveConsumers(b.page)).map(([id]) => id)).toEqual(aIds);
    await untilCluster(survivor, { [nodeIds.get(survivor)!]: 2 });
    expect(await b.page.evaluate(() => (globalThis as any).states)).toEqual(['connecting', 'connected']);
  });
});

describe('draining a node (SIGTERM)', () => {
  it('the node stops taking peers, closes its clients with 1001, exits 0; its clients land on the other node by themselves', async () => {
    const room = `drain-${process.pid}`;
    // A cluster of its own: the first describe's clients and nodes go away first.
    for (const p of pages.splice(0)) await p.context().close();
    await Promise.all(nodes.splice(0).map((n) => n.kill9()));
    const [n3, n4] = await Promise.all([startNode('n3'), startNode('n4')]);
    await untilCluster(n3, { n3: 0, n4: 0 });
    const a = await party(n3, room, 'alice');
    await produceCameraAndMic(a.page);
    await until(async () => (await clusterRows(n3)).find((r) => r.url.endsWith(`:${a.node.port}`))?.peers === 1, 10_000, 'A counted');
    const b = await party(a.node, room, 'bob');
    expect(b.node).not.toBe(a.node);
    await listenAndWatch(b.page);
    await waitForFrames(b.page, 0, 20);
    const oldConsumers = await b.page.evaluate(() => (globalThis as any).consumers.map((c: any) => c.id));

    const t0 = Date.now();
    expect(await a.node.stop('SIGTERM')).toBe(0);
    expect(await a.page.evaluate(() => (globalThis as any).closeCodes[0])).toBe(1001);
    await waitForClientState(a.page, 'connected');
    expect(Number(new URL(await a.page.evaluate(() => (globalThis as any).socketUrls.at(-1))).port)).toBe(b.node.port);
    await waitForFrames(b.page, t0, 20, oldConsumers);
    // A drain closes A's producers at once (no 6 s wait): B's old consumers are closed by now or soon.
    await b.page.waitForFunction((old) => (globalThis as any).consumers.filter((c: any) => old.includes(c.id)).every((c: any) => c.closed), oldConsumers, { timeout: 5_000 });
    const aIds = await a.page.evaluate(() => (globalThis as any).producers.map((p: any) => p.id));
    expect((await liveConsumers(b.page)).map(([id]) => id).sort()).toEqual([...aIds].sort());
  });
});
