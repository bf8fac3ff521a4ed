// Cluster mode, client side: a client whose node dies moves to another live node by itself (the
// nodes its last welcome listed), with the same token and the same ProduceManager; a socket closed
// with 1013 (the token cannot be checked now) is retried, never taken as a refusal. Each node is
// its own in-memory FakeServer; the client's socket factory reaches the one its URL names.
import { afterEach, describe, expect, it } from 'vitest';
import { CloseCode } from '../../src/protocol/codes.js';
import { createMediaClient, type ClientState } from '../../src/client/index.js';
import type { WebSocketLike } from '../../src/client/MediaSignalingService.js';
import { TOKEN, until, waitForState } from './support/clientHelpers.js';
import { fakeDevice, fakeTrack, FakeServer, type FakeSocket } from './support/fakeServer.js';

const clients: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

const baseUrl = (socket: FakeSocket) => socket.url.split('?')[0]!;

/** Nodes by socket URL; every welcome lists the others (in this order). */
function cluster(...urls: string[]) {
  const nodes = new Map(urls.map((url) => [url, new FakeServer()]));
  for (const server of nodes.values()) server.welcomeNodes = (socket) => urls.filter((url) => url !== baseUrl(socket));
  /** Every socket the client opened, in order, as `<node URL> <token>`. */
  const opened: string[] = [];
  const factory = (url: string): WebSocketLike => {
    const base = url.split('?')[0]!;
    opened.push(`${base} ${new URL(url).searchParams.get('token')}`);
    const server = nodes.get(base);
    if (!server) throw new Error(`no node at ${base}`);
    return server.factory(url);
  };
  /** The node dies: its sockets drop, and nothing answers there any more. */
  const kill = (url: string) => {
    const server = nodes.get(url)!;
    server.mode = { unreachable: true };
    for (const socket of server.sockets) socket.serverClose(1006, 'node died');
  };
  return { nodes, opened, factory, kill, node: (url: string) => nodes.get(url)! };
}

const A = 'ws://node-a.test/v1/ws';
const B = 'ws://node-b.test/v1/ws';
const C = 'ws://node-c.test/v1/ws';

/** A client given node `url` (as the token API would say), its states recorded. */
function connect(url: string, factory: (url: string) => WebSocketLike, maxAttempts = 6) {
  const client = createMediaClient(url, TOKEN, {
    webSocketFactory: factory,
    deviceFactory: fakeDevice,
    pingInterval: 60_000,
    reconnect: { initialDelay: 1, maxDelay: 5, maxAttempts, jitter: 0 },
    logger: {},
  });
  clients.push(client);
  const states: ClientState[] = [client.state];
  client.on('state', (s) => states.push(s));
  return { client, states };
}

describe('a client whose node dies', () => {
  it('lands on the next node its welcome listed, by itself, with the same token and the same ProduceManager', async () => {
    const { opened, factory, kill, node } = cluster(A, B);
    const { client, states } = connect(A, factory);
    await waitForState(client, 'connected');
    const pm = await client.produceTrack(fakeTrack('audio'));
    const produced: string[] = [];
    pm.on('produced', (id) => produced.push(id));
    expect(node(A).methods()).toContain('produce');

    kill(A);
    await waitForState(client, 'reconnecting');
    await waitForState(client, 'connected');
    // Its own node first (dead), then the other one.
    expect(opened).toEqual([`${A} ${TOKEN}`, `${A} ${TOKEN}`, `${B} ${TOKEN}`]);
    expect(states).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
    await until(() => produced.length > 0, 3_000, 'produced again');
    // The same ProduceManager, produced again on B (once).
    expect(pm.state).toBe('live');
    expect(node(B).requests.filter((r) => r.method === 'produce')).toHaveLength(1);
    expect(produced).toEqual([pm.id]);
  });
});

describe('the nodes a client tries', () => {
  it('cycles through every node its last welcome listed, its own first, until one answers', async () => {
    const { opened, factory, kill, node } = cluster(A, B, C);
    const { client } = connect(A, factory, 8);
    await waitForState(client, 'connected');
    node(B).mode = { unreachable: true };
    node(C).mode = { unreachable: true };
    kill(A);
    await waitForState(client, 'reconnecting');
    // A comes back once every other node was tried: the client is on A again.
    await until(() => opened.length === 4, 3_000, 'A, B and C tried');
    node(A).mode = { accept: true };
    await waitForState(client, 'connected');
    expect(opened.map((o) => o.split(' ')[0])).toEqual([A, A, B, C, A]);
  });

  it('a single node (no nodes in its welcome) is tried again and again', async () => {
    const server = new FakeServer();
    const { client } = connect(A, server.factory, 8);
    await waitForState(client, 'connected');
    server.mode = { unreachable: true };
    server.current!.serverClose(1006);
    await until(() => server.sockets.length === 3, 3_000, 'two attempts');
    server.mode = { accept: true };
    await waitForState(client, 'connected');
    expect(new Set(server.sockets.map(baseUrl))).toEqual(new Set([A]));
  });

  it('a wss: client never moves to a ws: node, whatever its welcome says', async () => {
    const secure = 'wss://node-a.test/v1/ws';
    const { opened, factory, node } = cluster(secure, B, 'wss://node-c.test/v1/ws');
    const { client } = connect(secure, factory, 8);
    await waitForState(client, 'connected');
    node(secure).mode = { unreachable: true };
    node(secure).current!.serverClose(1006);
    await waitForState(client, 'connected');
    expect(opened.map((o) => o.split(' ')[0])).toEqual([secure, secure, 'wss://node-c.test/v1/ws']);
  });
});

describe('close code 1013 (try again later)', () => {
  it('is retried with backoff, never a refusal: the client connects once the node can check the token', async () => {
    const server = new FakeServer();
    server.mode = { refuse: CloseCode.TRY_AGAIN_LATER };
    const { client, states } = connect(A, server.factory, 8);
    await until(() => server.sockets.length === 3, 3_000, 'two retries');
    expect(client.state).not.toBe('closed');
    server.mode = { accept: true };
    await waitForState(client, 'connected');
    expect(client.closeReason).toBeUndefined();
    expect(states).toEqual(['connecting', 'reconnecting', 'connected']);
  });
});
