// The Cluster implementations. LocalCluster in memory; RedisCluster against a real redis-server
// (a fresh one per test, on a loopback port), with several nodes (distinct NODE_IDs) in this
// process: registry, room directory, ordered messages, requests, a node killed (its connections
// cut, nothing deregistered: what kill -9 leaves in Redis), a clean close, and Redis restarted.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClient } from '@redis/client';
import pino from 'pino';
import { ClusterRequestError, HEARTBEAT_MS, NODE_DEAD_MS, type ClusterMessage } from '../../src/server/cluster/cluster.js';
import { LocalCluster } from '../../src/server/cluster/localCluster.js';
import { RedisCluster } from '../../src/server/cluster/redisCluster.js';
import { until } from '../support/faults.js';
import { startRedis, type Redis } from '../support/redis.js';

const logger = pino({ level: process.env['CLUSTER_TEST_LOG'] ?? 'silent' });

describe('LocalCluster', () => {
  const local = () => new LocalCluster({ nodeId: 'solo', url: 'http://127.0.0.1:3000', maxPeers: 8 });

  it('is the whole cluster: this node, its own rooms, nobody to tell', async () => {
    const cluster = local();
    await cluster.start();
    expect(cluster.multiNode).toBe(false);
    cluster.setPeers(3);
    cluster.setStats({ rooms: 1 });
    await cluster.setDraining();
    expect(await cluster.nodes()).toEqual([expect.objectContaining({ id: 'solo', url: 'http://127.0.0.1:3000', peers: 3, maxPeers: 8, draining: true, stats: { rooms: 1 } })]);
    cluster.setRoomPeers('r', 2);
    expect([...(await cluster.roomNodes('r'))]).toEqual([['solo', 2]]);
    cluster.setRoomPeers('r', 0);
    expect((await cluster.roomNodes('r')).size).toBe(0);
    await cluster.close();
  });

  it('delivers messages to itself in order and answers its own requests', async () => {
    const cluster = local();
    await cluster.start();
    const seen: unknown[] = [];
    cluster.onMessage('n', (m, from) => seen.push([m['i'], from]));
    for (let i = 0; i < 5; i++) cluster.send('solo', { type: 'n', i });
    cluster.send('elsewhere', { type: 'n', i: 99 });
    cluster.broadcast({ type: 'n', i: 98 });
    cluster.onRequest('add', (m) => (m['a'] as number) + (m['b'] as number));
    cluster.onRequest('fail', () => {
      throw new Error('refused');
    });
    cluster.onRequest('never', () => new Promise(() => undefined));
    expect(await cluster.request('solo', { type: 'add', a: 2, b: 3 })).toBe(5);
    expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => [i, 'solo']));
    await expect(cluster.request('solo', { type: 'fail' })).rejects.toThrow(new ClusterRequestError('node solo: refused'));
    await expect(cluster.request('other', { type: 'add', a: 1, b: 1 })).rejects.toBeInstanceOf(ClusterRequestError);
    await expect(cluster.request('solo', { type: 'never' }, 50)).rejects.toThrow(/no answer from node solo in 50 ms/);
    await cluster.close();
  });
});

describe('RedisCluster', () => {
  let redis: Redis;
  let nodes: RedisCluster[] = [];

  beforeEach(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    nodes = [];
    await redis.close();
  });

  /** Started nodes, each recording the nodeLost events it sees (with when, from the test's start). */
  async function startNodes(...ids: string[]) {
    const started = ids.map((id) => {
      const node = new RedisCluster({ redisUrl: redis.url, nodeId: id, url: `http://${id}.test:3000`, maxPeers: 10, logger: logger.child({ node: id }) });
      nodes.push(node);
      const lost: Array<{ nodeId: string; cleanup: boolean; at: number }> = [];
      node.on('nodeLost', (nodeId, cleanup) => lost.push({ nodeId, cleanup, at: performance.now() }));
      return { node, lost };
    });
    await Promise.all(started.map((s) => s.node.start()));
    return started;
  }

  /** A plain connection to look at Redis itself. */
  async function raw() {
    const client = createClient({ url: redis.url });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  const ids = async (node: RedisCluster) => (await node.nodes()).map((n) => n.id).sort();
  const entries = async (node: RedisCluster, roomId: string) => Object.fromEntries(await node.roomNodes(roomId));

  it('keeps a registry of live nodes and a room directory', async () => {
    const [a, b, c] = await startNodes('a', 'b', 'c');
    expect(await ids(a!.node)).toEqual(['a', 'b', 'c']);
    const bSeenByA = async () => (await a!.node.nodes()).find((n) => n.id === 'b')!;
    expect(await bSeenByA()).toMatchObject({ url: 'http://b.test:3000', peers: 0, maxPeers: 10, draining: false });

    b!.node.setPeers(4); // published at once, not at the next heartbeat
    await until(async () => (await bSeenByA()).peers === 4, HEARTBEAT_MS / 2, "b's peers at a");
    await b!.node.setDraining();
    expect((await bSeenByA()).draining).toBe(true);
    b!.node.setStats({ rooms: 7 }); // with the next heartbeat
    await until(async () => (await bSeenByA()).stats?.['rooms'] === 7, 2 * HEARTBEAT_MS, "b's stats at a");

    a!.node.setRoomPeers('r1', 2);
    b!.node.setRoomPeers('r1', 1);
    c!.node.setRoomPeers('r2', 3);
    await until(async () => Object.keys(await entries(c!.node, 'r1')).length === 2, 1_000, 'r1 at c');
    expect(await entries(c!.node, 'r1')).toEqual({ a: 2, b: 1 });
    expect(await entries(a!.node, 'r2')).toEqual({ c: 3 });
    b!.node.setRoomPeers('r1', 0);
    await until(async () => !('b' in (await entries(c!.node, 'r1'))), 1_000, 'b out of r1');
    expect(await entries(c!.node, 'r1')).toEqual({ a: 2 });
    expect(a!.lost).toEqual([]);
  });

  it('carries one node\'s messages to another in the order sent; broadcasts reach every other node', async () => {
    const [a, b, c] = await startNodes('a', 'b', 'c');
    const atB: unknown[] = [];
    const atC: unknown[] = [];
    const atA: unknown[] = [];
    const record = (into: unknown[]) => (m: ClusterMessage, from: string) => into.push(`${from}:${m.type}:${m['i']}`);
    for (const [node, into] of [[a!.node, atA], [b!.node, atB], [c!.node, atC]] as const) {
      node.onMessage('direct', record(into));
      node.onMessage('all', record(into));
    }
    const expected: string[] = [];
    for (let i = 0; i < 300; i++) {
      if (i % 3 === 0) {
        a!.node.broadcast({ type: 'all', i });
        expected.push(`a:all:${i}`);
      } else {
        a!.node.send('b', { type: 'direct', i });
        expected.push(`a:direct:${i}`);
      }
    }
    await until(() => atB.length === expected.length, 5_000, 'every message at b');
    expect(atB).toEqual(expected);
    await until(() => atC.length === 100, 5_000, 'the broadcasts at c');
    expect(atC).toEqual(expected.filter((e) => e.includes(':all:')));
    expect(atA).toEqual([]); // a broadcast is for the others
  });

  it('answers requests, passes a handler\'s refusal back, and times out', async () => {
    const [a, b] = await startNodes('a', 'b');
    b!.node.onRequest('add', (m, from) => ({ sum: (m['a'] as number) + (m['b'] as number), from }));
    b!.node.onRequest('fail', async () => {
      throw new Error('not here');
    });
    b!.node.onRequest('never', () => new Promise(() => undefined));
    expect(await a!.node.request('b', { type: 'add', a: 2, b: 40 })).toEqual({ sum: 42, from: 'a' });
    const many = await Promise.all(Array.from({ length: 50 }, (_, i) => a!.node.request<{ sum: number }>('b', { type: 'add', a: i, b: 1 })));
    expect(many.map((r) => r.sum)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    await expect(a!.node.request('b', { type: 'fail' })).rejects.toThrow(new ClusterRequestError('node b: not here'));
    await expect(a!.node.request('b', { type: 'unknown' })).rejects.toThrow(/node b: no handler for request 'unknown'/);
    const asked = performance.now();
    await expect(a!.node.request('b', { type: 'never' }, 300)).rejects.toThrow(new ClusterRequestError('no answer from node b in 300 ms'));
    expect(performance.now() - asked).toBeGreaterThanOrEqual(299);
    // Nobody subscribed under that id: known at once from Redis, not after the timeout.
    const quick = performance.now();
    await expect(a!.node.request('nobody', { type: 'add' }, 10_000)).rejects.toThrow(/node nobody is not listening/);
    expect(performance.now() - quick).toBeLessThan(1_000);
  });

  it('loses a node that stops heartbeating after NODE_DEAD_MS at every survivor, with exactly one cleanup', async () => {
    const [a, b, c] = await startNodes('a', 'b', 'c');
    c!.node.setRoomPeers('shared', 2);
    a!.node.setRoomPeers('shared', 1);
    await until(async () => Object.keys(await entries(b!.node, 'shared')).length === 2, 1_000, 'directory written');
    const killedAt = performance.now();
    c!.node.kill();
    // Its subscription went with its connection: a request is refused at once, not after 10 s.
    await expect(a!.node.request('c', { type: 'x' }, 10_000)).rejects.toThrow(/node c is not listening/);

    await until(() => a!.lost.length > 0 && b!.lost.length > 0, NODE_DEAD_MS + 3_000, 'nodeLost at both survivors');
    for (const survivor of [a!, b!]) {
      expect(survivor.lost.map((l) => l.nodeId)).toEqual(['c']);
      // Silence is counted from c's last heartbeat, at most one period before the kill.
      const after = survivor.lost[0]!.at - killedAt;
      expect(after).toBeGreaterThanOrEqual(NODE_DEAD_MS - HEARTBEAT_MS - 100);
      console.log(`c lost at a survivor ${Math.round(after)} ms after the kill`);
    }
    expect([a!, b!].filter((s) => s.lost[0]!.cleanup)).toHaveLength(1);

    // The cleanup survivor removed c from the registry and the directory, not only its TTL.
    const redisView = await raw();
    expect(await redisView.hGetAll('mi:room:shared')).toEqual({ a: '1' });
    expect(Object.keys(await redisView.hGetAll('mi:nodes')).sort()).toEqual(['a', 'b']);
    expect(await redisView.exists('mi:node-rooms:c')).toBe(0);
    redisView.destroy();
    expect(await ids(a!.node)).toEqual(['a', 'b']);
  });

  it('loses a node at once when it comes back as a new process under the same NODE_ID, keeping the new one\'s entries', async () => {
    const [a, old] = await startNodes('a', 'b');
    old!.node.setRoomPeers('before', 1);
    await until(async () => 'b' in (await entries(a!.node, 'before')), 1_000, 'b in before');
    old!.node.kill();
    const [again] = await startNodes('b'); // restarted before it was judged dead
    again!.node.setRoomPeers('after', 2);
    await until(() => a!.lost.length > 0, HEARTBEAT_MS, 'the old b lost at a');
    expect(a!.lost).toEqual([expect.objectContaining({ nodeId: 'b', cleanup: true })]);
    expect(await ids(a!.node)).toEqual(['a', 'b']);
    await until(async () => 'b' in (await entries(a!.node, 'after')), 1_000, 'the new b in after');
    const redisView = await raw();
    expect(await redisView.hGet('mi:nodes', 'b')).toBe(again!.node.incarnation);
    expect(await redisView.hGetAll('mi:room:before')).toEqual({}); // the old process's entry, removed by the new one's start
    expect(await redisView.hGetAll('mi:room:after')).toEqual({ b: '2' }); // the cleanup spared the new process's entries
    redisView.destroy();
    expect(a!.lost).toHaveLength(1);
  });

  it('tells the others at once when a node closes cleanly, and removes its entries', async () => {
    const [a, b, c] = await startNodes('a', 'b', 'c');
    c!.node.setRoomPeers('r', 1);
    await until(async () => 'c' in (await entries(a!.node, 'r')), 1_000, 'c in r');
    const closedAt = performance.now();
    await c!.node.close();
    await until(() => a!.lost.length > 0 && b!.lost.length > 0, 1_000, 'nodeLost at both');
    console.log(`clean close seen after ${Math.round(Math.max(a!.lost[0]!.at, b!.lost[0]!.at) - closedAt)} ms`);
    expect(a!.lost.map((l) => l.nodeId)).toEqual(['c']);
    expect(b!.lost.map((l) => l.nodeId)).toEqual(['c']);
    expect([a!, b!].filter((s) => s.lost[0]!.cleanup)).toHaveLength(1);
    expect(await ids(a!.node)).toEqual(['a', 'b']);
    expect(await entries(a!.node, 'r')).toEqual({});
    await c!.node.close(); // idempotent
  });

  it('survives Redis restarting: nobody lost, the registry and directory rebuilt, messages flow again', async () => {
    const [a, b, c] = await startNodes('a', 'b', 'c');
    a!.node.setRoomPeers('r', 1);
    b!.node.setRoomPeers('r', 2);
    c!.node.setRoomPeers('other', 1);
    b!.node.onRequest('echo', (m) => m['v']);
    const atB: unknown[] = [];
    b!.node.onMessage('note', (m) => atB.push(m['i']));
    await until(async () => Object.keys(await entries(c!.node, 'r')).length === 2, 1_000, 'directory written');

    await redis.stop();
    const stoppedAt = performance.now();
    // While it is down: nothing throws, requests are refused at once, the node's own view stays.
    const asked = performance.now();
    await expect(a!.node.request('b', { type: 'echo', v: 1 }, 10_000)).rejects.toBeInstanceOf(ClusterRequestError);
    expect(performance.now() - asked).toBeLessThan(500);
    a!.node.send('b', { type: 'note', i: -1 });
    a!.node.broadcast({ type: 'note', i: -2 });
    a!.node.setPeers(5);
    a!.node.setRoomPeers('r', 3); // changed during the outage: written on reconnect
    expect(await ids(a!.node)).toEqual(['a']);
    expect(await entries(a!.node, 'r')).toEqual({ a: 3 });
    // Longer than NODE_DEAD_MS with every heartbeat silent: the outage this test is about.
    await until(() => performance.now() - stoppedAt > NODE_DEAD_MS + HEARTBEAT_MS, NODE_DEAD_MS + HEARTBEAT_MS + 1_000, 'a long outage', 250);

    await redis.start();
    const backAt = performance.now();
    await until(async () => (await ids(c!.node)).length === 3, 2 * HEARTBEAT_MS, 'every node registered again');
    await until(async () => Object.keys(await entries(c!.node, 'r')).length === 2, 2 * HEARTBEAT_MS, 'directory rewritten');
    console.log(`registry and directory back ${Math.round(performance.now() - backAt)} ms after Redis`);
    expect(await entries(c!.node, 'r')).toEqual({ a: 3, b: 2 });
    expect(await entries(a!.node, 'other')).toEqual({ c: 1 });
    expect((await c!.node.nodes()).find((n) => n.id === 'a')!.peers).toBe(5);

    await until(async () => (await a!.node.request('b', { type: 'echo', v: 'back' }).catch(() => undefined)) === 'back', 2 * HEARTBEAT_MS, 'requests answered again');
    for (let i = 0; i < 3; i++) a!.node.send('b', { type: 'note', i });
    await until(() => atB.length === 3, 1_000, 'messages at b');
    expect(atB).toEqual([0, 1, 2]);
    // A full NODE_DEAD_MS after the restart, still nobody lost at any node.
    await until(() => performance.now() - backAt > NODE_DEAD_MS + 500, NODE_DEAD_MS + 1_500, 'a death period after the restart', 250);
    expect([a!, b!, c!].flatMap((n) => n.lost)).toEqual([]);
  });
});
