// A node judged dead that was not: two server processes on real PostgreSQL and Redis, peers that
// are Node clients (werift, bench/scalePeer.ts; a browser on a stopped node would move elsewhere).
// Each node holds a peer that sends and listens, so media crosses the pipe both ways. Node X is
// silent longer than the death time while alive: its process stopped (SIGSTOP) then continued, or
// it alone cut off from Redis (a proxy between them). X's mediasoup worker is a process of its own
// and goes on; the pair of pipes does not: Y closed its half at X's loss. Both halves are set up
// again, and each listener receives the other's media again on a new consumer of the same
// producer, once.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it, onTestFailed, onTestFinished } from 'vitest';
import { ScalePeer } from '../../bench/scalePeer.js';
import { startClusterNode, untilCluster, urlAt } from '../support/cluster.js';
import { TcpProxy, until } from '../support/faults.js';
import { startPostgres, type Postgres } from '../support/postgres.js';
import { startRedis, type Redis } from '../support/redis.js';
import type { ServerProcess } from '../support/server.js';

type Json = Record<string, any>;

let pg: Postgres;
let redis: Redis;
const nodes: ServerProcess[] = [];
const peers: ScalePeer[] = [];

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
});
afterAll(async () => {
  await Promise.all(peers.map((p) => p.close(true)));
  // SIGKILL ends a stopped process too.
  await Promise.all(nodes.map((n) => n.kill9()));
  await redis?.close();
  await pg?.close();
});

async function node(id: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const started = await startClusterNode({ pg, redis }, id, { LOG_LEVEL: 'info', ...env });
  nodes.push(started);
  return started;
}

/** A peer of `room` on `at` (placed there by hand: a token is valid at every node). */
async function peer(at: ServerProcess, room: string, userId: string): Promise<ScalePeer> {
  const t = await at.connect(room, userId);
  const p = await ScalePeer.open(urlAt(t.url, at), t.token);
  peers.push(p);
  return p;
}

/** Whether `node` logged a line with message `msg` and these fields (its logs are JSON lines). */
function logged(node: ServerProcess, msg: string, fields: Json): boolean {
  return node
    .logs()
    .split('\n')
    .some((line) => {
      if (!line.includes(msg)) return false;
      const entry = JSON.parse(line) as Json;
      return entry['msg'] === msg && Object.entries(fields).every(([k, v]) => entry[k] === v);
    });
}

const notified = (p: ScalePeer, method: string): Json[] =>
  p.socket.frames.flatMap((f) => (f.type === 'notification' && f.method === method ? [f.data as Json] : []));

/** The peer's consumers the server has not closed, as the server told it. */
function openConsumers(p: ScalePeer): Json[] {
  const closed = new Set(notified(p, 'consumerClosed').map((d) => d['consumerId']));
  return notified(p, 'newConsumer').filter((d) => !closed.has(d['id']));
}

/** The open consumer of `producerId` (only one, or this throws). */
function consumerOf(p: ScalePeer, producerId: string): Json | undefined {
  const open = openConsumers(p).filter((d) => d['producerId'] === producerId);
  if (open.length > 1) throw new Error(`${open.length} consumers of ${producerId} open at once`);
  return open[0];
}

const ssrcOf = (consumer: Json): number => consumer['rtpParameters']['encodings'][0]['ssrc'];

/** Waits until `p` received `packets` more RTP packets on its consumer of each of `producerIds` (all of them on a consumer made since). */
async function receiving(p: ScalePeer, producerIds: string[], packets: number, what: string): Promise<void> {
  const count = (c: Json) => p.received.get(ssrcOf(c)) ?? 0;
  const base = new Map(producerIds.map((id) => [id, consumerOf(p, id)] as const).map(([id, c]) => [id, c && { id: c['id'], at: count(c) }]));
  await until(
    () =>
      producerIds.every((id) => {
        const c = consumerOf(p, id);
        const before = base.get(id);
        return c !== undefined && count(c) - (before !== undefined && before.id === c['id'] ? before.at : 0) >= packets;
      }),
    15_000,
    what,
  );
}

/** A new consumer of each of `producerIds` (not one of `old`), resumed. */
async function consumeAgain(p: ScalePeer, producerIds: string[], old: Set<string>, what: string): Promise<Json[]> {
  const renewed = (id: string) => {
    const c = consumerOf(p, id);
    return c !== undefined && !old.has(c['id']);
  };
  await until(() => producerIds.every(renewed), 15_000, what);
  const fresh = producerIds.map((id) => consumerOf(p, id)!);
  await Promise.all(fresh.map((c) => p.socket.ok('resumeConsumer', { consumerId: c['id'] })));
  return fresh;
}

/** The node's media objects from its routers' dumps: WebRtc and pipe transports, producers (pipe producers too), consumers (pipe consumers too). */
async function mediaCounts(n: ServerProcess): Promise<{ transports: number; producers: number; consumers: number }> {
  const res = await fetch(`${n.httpUrl}/v1/api/stats`, { headers: { authorization: `Bearer ${n.apiKey}` } });
  const { transports, producers, consumers } = (await res.json()) as Json;
  return { transports, producers, consumers };
}

/** What makes node X silent for longer than the death time while it is alive, and what ends it. */
interface Fault {
  name: string;
  /** Environment for X (how it reaches Redis). */
  env(): Promise<Record<string, string>>;
  begin(x: ServerProcess): void;
  end(x: ServerProcess): void;
  /** X's first beats after it are heard before it listens: the judge cannot tell it at once. */
  untold?: boolean;
}

const faults: Fault[] = [
  {
    name: 'its process stopped (SIGSTOP: a long GC pause, a frozen VM), then continued',
    env: async () => ({}),
    begin: (x) => process.kill(x.process.pid!, 'SIGSTOP'),
    end: (x) => process.kill(x.process.pid!, 'SIGCONT'),
  },
  (() => {
    let proxy: TcpProxy | undefined;
    return {
      name: 'it alone cut off from Redis (its connections stalled), then its connections cut: it connects again, its subscription last',
      env: async () => {
        proxy = await TcpProxy.start(redis.port);
        return { REDIS_URL: `redis://127.0.0.1:${proxy.port}` };
      },
      begin: () => expect(proxy!.stall()).toBe(2),
      end: () => {
        // Its subscriber comes back 1.5 s after its publisher: its beats are heard before it can hear anything.
        proxy!.delayWhen('\r\nsubscribe\r\n', 1_500); // node-redis's command, as RESP
        expect(proxy!.cut()).toBe(2);
      },
      untold: true,
    };
  })(),
];

describe('a node judged lost while it was alive, silent longer than the 6 s death time', () => {
  it.each(faults.map((fault, i) => [fault.name, fault, i] as const))('%s: gets its pipes back both ways: each listener receives the other again on a new consumer, nothing duplicated, no pipe left over', async (_, fault, i) => {
    const [xId, yId] = [`x${i}`, `y${i}`];
    const room = `stall-${i}-${process.pid}`;
    const [x, y] = await Promise.all([node(xId, await fault.env()), node(yId)]);
    onTestFinished(() => Promise.all([x.kill9(), y.kill9()]).then(() => undefined));
    // The cause of a failure is in the nodes' logs, not in the assertion.
    onTestFailed(() => {
      for (const [id, n] of [[xId, x], [yId, y]] as const) {
        const file = join(tmpdir(), `stall-${process.pid}-${id}.log`);
        writeFileSync(file, n.logs());
        console.error(`node ${id}'s log is in ${file}`);
      }
    });
    await untilCluster(x, { [xId]: 0, [yId]: 0 });
    const a = await peer(x, room, 'alice');
    const b = await peer(y, room, 'bob');
    const [fromA, fromB] = await Promise.all([a.produce(), b.produce()]);
    const aIds = [fromA.video, fromA.audio];
    const bIds = [fromB.video, fromB.audio];
    await Promise.all([a.consume(2), b.consume(2)]);
    await Promise.all([receiving(b, aIds, 30, "A's media at B (x → y)"), receiving(a, bIds, 30, "B's media at A (y → x)")]);
    // Per node: its peer's send and recv transports and one pipe transport; its peer's two
    // producers and two pipe producers of the other's; its peer's two consumers and two pipe consumers.
    const steady = { transports: 3, producers: 4, consumers: 4 };
    expect([await mediaCounts(x), await mediaCounts(y)]).toEqual([steady, steady]);
    const oldAtA = new Set(openConsumers(a).map((c) => c['id'] as string));
    const oldAtB = new Set(openConsumers(b).map((c) => c['id'] as string));

    fault.begin(x);
    try {
      await until(() => logged(y, 'cluster: node lost', { nodeId: xId, reason: 'silent' }), 15_000, 'y to judge x lost');
      // Y dropped its half: B's consumers of A's producers closed.
      await until(() => aIds.every((id) => consumerOf(b, id) === undefined), 5_000, "B's consumers of A closed");
    } finally {
      fault.end(x);
    }
    const ended = performance.now();

    await until(() => logged(y, 'cluster: node back: judged lost, it was alive (stalled, or cut off from Redis); setting up again what was dropped with it', { nodeId: xId }), 15_000, 'y to hear x back');
    // X found itself missing from the registry (Y removed it) and wrote its entries again.
    await until(() => logged(x, 'cluster: registered again (Redis restarted or this node was judged dead)', { nodeId: xId }), 5_000, 'x to register again');
    await until(() => logged(x, 'cluster: another node had judged this node lost (it stalled, or was cut off from Redis); setting up again what it dropped', { nodeId: yId }), 5_000, 'x to be told');
    const [newAtB, newAtA] = await Promise.all([
      consumeAgain(b, aIds, oldAtB, "B's new consumers of A's producers"),
      consumeAgain(a, bIds, oldAtA, "A's new consumers of B's producers"),
    ]);
    await Promise.all([receiving(b, aIds, 30, "A's media at B again"), receiving(a, bIds, 30, "B's media at A again")]);
    const untold = y.logs().split('could not be told yet').length - 1;
    if (fault.untold) expect(untold).toBeGreaterThan(0);
    console.log(`[stall] fault ended → both listeners receive again in ${Math.round(performance.now() - ended)} ms; x heard back before it could be told: ${untold}× (${fault.name})`);

    // A's old consumers of B (on X's stale half) were closed by X, not left beside the new ones.
    expect(notified(a, 'consumerClosed').filter((d) => oldAtA.has(d['consumerId'])).map((d) => d['reason'])).toEqual(['producer closed', 'producer closed']);
    // One consumer per remote producer, the new ones, at each listener.
    expect(openConsumers(b).map((c) => c['id']).sort()).toEqual(newAtB.map((c) => c['id']).sort());
    expect(openConsumers(a).map((c) => c['id']).sort()).toEqual(newAtA.map((c) => c['id']).sort());
    expect(newAtB.map((c) => c['producerId'])).toEqual(aIds);
    expect(newAtA.map((c) => c['producerId'])).toEqual(bIds);
    // No pipe transport, pipe producer or pipe consumer left over: the old half closes a moment after
    // X is told, the new pair is up already.
    await until(async () => JSON.stringify([await mediaCounts(x), await mediaCounts(y)]) === JSON.stringify([steady, steady]), 5_000, 'the old pipes gone');
    expect([await mediaCounts(x), await mediaCounts(y)]).toEqual([steady, steady]);
    await untilCluster(y, { [xId]: 1, [yId]: 1 });
    // Y's mark of X's death is gone with it: should X's process die for real later, it is cleaned up again.
    const view = createClient({ url: redis.url });
    await view.connect();
    await until(async () => (await view.keys(`mi:lost:${xId}:*`)).length === 0, 2_000, "y's lost mark of x removed");
    view.destroy();
  });
});
