import { afterEach, describe, expect, it } from 'vitest';
import { ConsumeManager, MediaInfraError, ProduceManager } from '../../src/client/index.js';
import { CloseCode, ErrorCode } from '../../src/protocol/codes.js';
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from '../../src/protocol/messages.js';
import { rejection, startClient, TOKEN, until, waitForState } from './support/clientHelpers.js';
import { fakeTrack, FakeServer, NO_ANSWER } from './support/fakeServer.js';

const clients: Array<{ close(): Promise<void> }> = [];
function tracked<T extends ReturnType<typeof startClient>>(started: T): T {
  clients.push(started.client);
  return started;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('MediaInfraClient: connecting', () => {
  it('connects: welcome → device → join, the transports built from the welcome, with the token in the URL only', async () => {
    const { client, server, states } = tracked(startClient());
    expect(client.state).toBe('connecting');
    await waitForState(client, 'connected');
    expect(states).toEqual(['connecting', 'connected']);
    expect(server.sockets).toHaveLength(1);
    expect(server.sockets[0]!.url).toBe(`ws://media.test/v1/ws?protocol=${PROTOCOL_VERSION}&token=${TOKEN}`);
    expect(server.methods()).toEqual(['join']);
    expect(server.requests[0]!.data.rtpCapabilities.codecs.length).toBeGreaterThan(0);
    expect(client.closeReason).toBeUndefined();
  });

  it('an older server (no transports in its welcome) is asked createTransport, right behind join; listen follows', async () => {
    const server = new FakeServer();
    server.offerTransports = false;
    server.held.add('join');
    const { client } = tracked(startClient(server));
    client.listenTrack(() => {});
    // listen readies the recv transport at once: its connectTransport follows (probatorHandler.ts).
    await until(() => server.methods().includes('connectTransport'), 3_000, 'listen, then connectTransport');
    expect(server.methods()).toEqual(['join', 'createTransport', 'createTransport', 'listen', 'connectTransport']);
    expect(server.requests.filter((r) => r.method === 'createTransport').map((r) => r.data.direction)).toEqual(['send', 'recv']);
    server.answer('join');
    await waitForState(client, 'connected');
  });

  it('listening once connected sends listen (the recv transport is the welcome\'s)', async () => {
    const { client, server } = tracked(startClient());
    await waitForState(client, 'connected');
    expect(server.methods()).toEqual(['join']);
    client.listenTrack(() => {});
    // listen readies the recv transport at once: its connectTransport follows (probatorHandler.ts).
    await until(() => server.methods().includes('connectTransport'), 3_000, 'listen, then connectTransport');
    expect(server.methods()).toEqual(['join', 'listen', 'connectTransport']);
  });
});

describe('MediaInfraClient: pipelined requests (protocol 3)', () => {
  const held = (server: FakeServer) => server.pending.map((r) => (r.method === 'connectTransport' ? `connectTransport ${r.data.transportId === sendId(server) ? 'send' : 'recv'}` : r.method));
  const sendId = (server: FakeServer) => server.requests.find((r) => r.method === 'produce')?.data.transportId;

  it('join, listen, connectTransport and produce are all sent before any answer', async () => {
    const server = new FakeServer();
    for (const m of ['join', 'listen', 'connectTransport', 'produce'] as const) server.held.add(m);
    const { client } = tracked(startClient(server));
    client.listenTrack(() => {});
    const produced = client.produceTrack(fakeTrack('audio'));
    await until(() => server.pending.length === 5, 3_000, 'five requests in flight');
    expect(held(server)).toEqual(['join', 'listen', 'connectTransport send', 'connectTransport recv', 'produce']);
    expect(client.state).toBe('connecting');
    for (const m of ['join', 'listen', 'connectTransport', 'produce'] as const) server.answer(m);
    await produced;
    await waitForState(client, 'connected');
  });

  it("a connection's tracks are produced together: each produce is sent before the one before is answered", async () => {
    const server = new FakeServer();
    server.held.add('produce');
    const { client } = tracked(startClient(server));
    const produced = [client.produceTrack(fakeTrack('audio')), client.produceTrack(fakeTrack('video'))];
    await until(() => server.pending.filter((r) => r.method === 'produce').length === 2, 3_000, 'two produce requests in flight');
    server.answer('produce');
    server.answer('produce');
    const managers = await Promise.all(produced);
    expect(server.requests.filter((r) => r.method === 'produce').map((r) => r.data.kind)).toEqual(['audio', 'video']);
    expect(new Set(managers.map((m) => m.id)).size).toBe(2);
    // The fake server's ids (p1, p2, ...), not the random ones mediasoup-client's producers got locally.
    expect(managers.every((m) => /^p\d+$/.test(m.id!))).toBe(true);
  });

  it('a remote track: connectTransport (recv) and resumeConsumers are both sent before either answer', async () => {
    const server = new FakeServer();
    server.remoteTracks.push({ kind: 'video', userId: 'user-2' });
    for (const m of ['connectTransport', 'resumeConsumers'] as const) server.held.add(m);
    const { client } = tracked(startClient(server));
    const consumers: ConsumeManager[] = [];
    client.listenTrack((cm) => consumers.push(cm));
    await until(() => server.pending.length === 2, 3_000, 'two requests in flight');
    expect(server.pending.map((r) => r.method)).toEqual(['connectTransport', 'resumeConsumers']);
    server.answer('connectTransport');
    server.answer('resumeConsumers');
    await until(() => consumers.length === 1, 3_000, 'the consumer');
  });

  it("a consumer's score is its offer's (protocol 5): known when the track is handed out, with no consumerScore", async () => {
    const server = new FakeServer();
    server.remoteTracks.push({ kind: 'video', userId: 'user-2', scores: { score: 10, producerScore: 7 } }, { kind: 'audio', userId: 'user-2' });
    const { client } = tracked(startClient(server));
    const consumers: ConsumeManager[] = [];
    client.listenTrack((cm) => consumers.push(cm));
    await until(() => consumers.length === 2, 3_000, 'both consumers');
    // The worse of the two; an offer without scores (an older server) leaves it unknown until a consumerScore.
    expect(consumers.map((c) => [c.kind, c.score])).toEqual([
      ['video', 7],
      ['audio', null],
    ]);
  });

  it('a refused connectTransport is not lost: the transport fails and the client reconnects', async () => {
    const server = new FakeServer();
    server.held.add('connectTransport');
    const { client, states } = tracked(startClient(server));
    const produced = client.produceTrack(fakeTrack('audio'));
    await until(() => server.pending.length === 1, 3_000, 'connectTransport in flight');
    // produce went on without waiting for it
    await until(() => server.methods().includes('produce'), 3_000, 'produce');
    server.held.delete('connectTransport');
    server.refuse('connectTransport', ErrorCode.BAD_REQUEST, 'bad fingerprint');
    await waitForState(client, 'reconnecting');
    expect(states).toContain('reconnecting');
    // Produced again on the next connection.
    await produced;
    await waitForState(client, 'connected');
  });

  it.each([
    [CloseCode.UNAUTHORIZED, 'unauthorized'],
    [CloseCode.EXPIRED, 'expired'],
  ] as const)('a refusal (%i) ends closed/%s after exactly one socket, never retried', async (code, reason) => {
    const server = new FakeServer();
    server.mode = { refuse: code };
    const { client, states } = startClient(server);
    await until(() => client.state === 'closed', 3_000, 'closed');
    expect(client.closeReason).toBe(reason);
    expect(states).toEqual(['connecting', 'closed']);
    // The root actor is final, so nothing can retry; still, let several backoff delays (1-5 ms)
    // pass to show it: a negative check, not a wait for a result.
    await new Promise((r) => setTimeout(r, 30));
    expect(server.sockets).toHaveLength(1);
    await expect(client.produceTrack(fakeTrack('audio'))).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(() => client.listenTrack(() => {})).toThrow(MediaInfraError);
  });

  it.each([
    ['the server refuses this client\'s version (4010)', (server: FakeServer) => (server.mode = { refuse: CloseCode.UNSUPPORTED_PROTOCOL })],
    ['the server is older than this client can speak to', (server: FakeServer) => (server.protocolVersion = MIN_PROTOCOL_VERSION - 1)],
  ])('%s: closed/failed with an UNSUPPORTED_PROTOCOL error, never retried', async (_name, setUp) => {
    const server = new FakeServer();
    setUp(server);
    const { client, states } = startClient(server);
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.code));
    await until(() => client.state === 'closed', 3_000, 'closed');
    expect(client.closeReason).toBe('failed');
    expect(errors).toEqual(['UNSUPPORTED_PROTOCOL']);
    expect(states).toEqual(['connecting', 'closed']);
    expect(server.methods()).toEqual([]);
    // As above: a negative check that no retry follows.
    await new Promise((r) => setTimeout(r, 30));
    expect(server.sockets).toHaveLength(1);
  });

  it('an unreachable server is retried with backoff, then closed/failed', async () => {
    const server = new FakeServer();
    server.mode = { unreachable: true };
    const { client, states } = startClient(server);
    await until(() => client.state === 'closed', 3_000, 'closed');
    expect(client.closeReason).toBe('failed');
    expect(server.sockets).toHaveLength(4); // the first attempt + maxAttempts (3)
    expect(states).toEqual(['connecting', 'reconnecting', 'closed']);
  });

  it('close() sends leave, resolves when the server closed the socket, and ends closed/client', async () => {
    const { client, server, states } = startClient();
    await waitForState(client, 'connected');
    await client.close();
    expect(server.methods().at(-1)).toBe('leave');
    expect(client.state).toBe('closed');
    expect(client.closeReason).toBe('client');
    expect(states).toEqual(['connecting', 'connected', 'closed']);
    await client.close(); // idempotent
  });

  it('close() while connecting ends closed/client at once', async () => {
    const server = new FakeServer();
    server.mode = { unreachable: true };
    const { client } = startClient(server, { reconnect: { initialDelay: 10_000, maxAttempts: 5 } });
    await waitForState(client, 'reconnecting');
    await client.close();
    expect(client.closeReason).toBe('client');
  });

  it('a missed heartbeat means the socket is lost: reconnecting, then connected again', async () => {
    const server = new FakeServer();
    let ignorePing = true;
    server.handlers.ping = () => (ignorePing ? NO_ANSWER : { now: 1 });
    const { client, states } = tracked(startClient(server, { pingInterval: 10, pingTimeout: 10 }));
    await waitForState(client, 'connected');
    await waitForState(client, 'reconnecting');
    ignorePing = false;
    await waitForState(client, 'connected');
    expect(states.slice(0, 4)).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
    expect(server.sockets.length).toBeGreaterThanOrEqual(2);
  });

  it('passes every inspection event to options.inspect, and the token appears in none', async () => {
    const seen: string[] = [];
    const { client } = tracked(
      startClient(new FakeServer(), {
        inspect: (event) => {
          const cache = new WeakSet<object>();
          seen.push(
            JSON.stringify(event, (_k, v: unknown) => {
              if (typeof v === 'object' && v !== null) {
                if (cache.has(v)) return undefined;
                cache.add(v);
              }
              return typeof v === 'function' ? undefined : v;
            }) ?? '',
          );
        },
      }),
    );
    await waitForState(client, 'connected');
    await client.produceTrack(fakeTrack('audio'));
    expect(seen.length).toBeGreaterThan(20);
    expect(seen.some((s) => s.includes('transport.send'))).toBe(true);
    expect(seen.filter((s) => s.includes(TOKEN))).toEqual([]);
  });
});

describe('MediaInfraClient: producing', () => {
  it('produceTrack resolves with a live ProduceManager; pause/resume/close go to the server', async () => {
    const { client, server } = tracked(startClient());
    const track = fakeTrack('audio');
    // called while connecting: waits for the connection
    const pm = await client.produceTrack(track, { appData: { source: 'mic' } });
    expect(pm).toBeInstanceOf(ProduceManager);
    expect(pm.id).toBe('p1');
    expect(pm.kind).toBe('audio');
    expect(pm.track).toBe(track);
    expect(pm.paused).toBe(false);
    expect(pm.state).toBe('live');
    expect(server.requests.find((r) => r.method === 'produce')!.data).toMatchObject({ kind: 'audio', appData: { source: 'mic' } });
    expect(server.methods()).toContain('connectTransport');

    const events: string[] = [];
    pm.on('paused', () => events.push('paused'));
    pm.on('resumed', () => events.push('resumed'));
    pm.on('closed', (e) => events.push(`closed:${e?.code ?? 'none'}`));
    await pm.pause();
    expect(pm.paused).toBe(true);
    await pm.pause(); // already paused: resolves
    await pm.resume();
    expect(pm.paused).toBe(false);
    await pm.close();
    expect(pm.state).toBe('closed');
    expect(server.methods().filter((m) => m.endsWith('Producer'))).toEqual(['pauseProducer', 'resumeProducer', 'closeProducer']);
    expect(events).toEqual(['paused', 'resumed', 'closed:none']);
    expect((await rejection(pm.pause())).code).toBe('PRODUCER_CLOSED');
    expect((await rejection(pm.startRecord())).code).toBe('PRODUCER_CLOSED');
  });

  it('a refused pause rejects with the server code and stays live', async () => {
    const { client, server } = tracked(startClient());
    await waitForState(client, 'connected');
    const pm = await client.produceTrack(fakeTrack('video'));
    server.handlers.pauseProducer = () => ({ error: { code: 'NOT_FOUND', message: 'no such producer' } });
    expect((await rejection(pm.pause())).code).toBe('NOT_FOUND');
    expect(pm.state).toBe('live');
    expect(pm.paused).toBe(false);
  });

  it('startRecord rejects with SERVER_ERROR (not implemented yet); stopRecord without a recording is INVALID_STATE', async () => {
    const { client } = tracked(startClient());
    const pm = await client.produceTrack(fakeTrack('audio'));
    expect((await rejection(pm.startRecord())).code).toBe('SERVER_ERROR');
    expect(pm.recording).toBe(false);
    expect((await rejection(pm.stopRecord())).code).toBe('INVALID_STATE');
  });

  it('startRecord / stopRecord resolve with the recording when the server records', async () => {
    const server = new FakeServer();
    server.handlers.startRecord = () => ({ recordingId: 'rec-1' });
    server.handlers.stopRecord = () => ({ id: 'rec-1', path: '/recordings/rec-1.webm' });
    const { client } = tracked(startClient(server));
    const pm = await client.produceTrack(fakeTrack('video'));
    const flags: boolean[] = [];
    pm.on('recording', (r) => flags.push(r));
    await pm.startRecord();
    expect(pm.recording).toBe(true);
    expect((await rejection(pm.startRecord())).code).toBe('INVALID_STATE');
    await expect(pm.stopRecord()).resolves.toEqual({ id: 'rec-1', path: '/recordings/rec-1.webm' });
    expect(pm.recording).toBe(false);
    expect(flags).toEqual([true, false]);
  });

  it('a kind the router cannot take rejects with UNSUPPORTED_CODEC', async () => {
    const server = new FakeServer();
    server.routerRtpCapabilities = {
      ...server.routerRtpCapabilities,
      codecs: server.routerRtpCapabilities.codecs!.filter((c) => c.kind === 'audio'),
    };
    const { client } = tracked(startClient(server));
    await waitForState(client, 'connected');
    expect((await rejection(client.produceTrack(fakeTrack('video')))).code).toBe('UNSUPPORTED_CODEC');
    await expect(client.produceTrack(fakeTrack('audio'))).resolves.toBeInstanceOf(ProduceManager);
  });

  it('produceTrack waiting for a connection that never comes rejects with TIMEOUT', async () => {
    const server = new FakeServer();
    server.mode = { unreachable: true };
    const { client } = tracked(startClient(server, { connectTimeout: 50, reconnect: { initialDelay: 10_000, maxAttempts: 3 } }));
    expect((await rejection(client.produceTrack(fakeTrack('audio')))).code).toBe('TIMEOUT');
  });

  it('a producer closed by the server closes its ProduceManager', async () => {
    const { client, server } = tracked(startClient());
    const pm = await client.produceTrack(fakeTrack('audio'));
    const closed = new Promise<MediaInfraError | undefined>((resolve) => pm.on('closed', resolve));
    server.notify('producerClosed', { producerId: 'someone-else', reason: 'x' });
    server.notify('producerClosed', { producerId: pm.id, reason: 'kicked' });
    expect((await closed)?.code).toBe('PRODUCER_CLOSED');
    expect(pm.state).toBe('closed');
  });

  it('closing the client closes its producers', async () => {
    const { client } = startClient();
    const pm = await client.produceTrack(fakeTrack('audio'));
    await client.close();
    expect(pm.state).toBe('closed');
    expect((await rejection(pm.resume())).code).toBe('PRODUCER_CLOSED');
  });
});

describe('MediaInfraClient: listening', () => {
  it('listenTrack sends listen once and delivers a ConsumeManager per remote track, resumed on the server', async () => {
    const server = new FakeServer();
    server.remoteTracks.push({ kind: 'audio', userId: 'user-2' }, { kind: 'video', userId: 'user-3' });
    const { client } = tracked(startClient(server));
    const consumers: ConsumeManager[] = [];
    client.listenTrack((cm) => consumers.push(cm));
    await until(() => consumers.length === 2, 3_000, 'two consumers');
    expect(server.methods().filter((m) => m === 'listen')).toHaveLength(1);
    expect(consumers.map((c) => [c.kind, c.userId, c.track.kind])).toEqual([
      ['audio', 'user-2', 'audio'],
      ['video', 'user-3', 'video'],
    ]);
    // Offered together, consumed together: resumed in one request (protocol 4).
    expect(server.requests.filter((r) => r.method === 'resumeConsumers').map((r) => r.data.consumerIds)).toEqual([consumers.map((c) => c.id)]);
    expect(server.methods()).not.toContain('resumeConsumer');
    // a later track arrives too
    server.newConsumer('audio', 'user-4');
    await until(() => consumers.length === 3, 3_000, 'a third consumer');
    expect(consumers[2]!.userId).toBe('user-4');
  });

  it('with a server older than protocol 4: one newConsumer and one resumeConsumer per track', async () => {
    const server = new FakeServer();
    server.protocolVersion = 3;
    server.remoteTracks.push({ kind: 'audio', userId: 'user-2' }, { kind: 'video', userId: 'user-3' });
    const { client } = tracked(startClient(server));
    const consumers: ConsumeManager[] = [];
    client.listenTrack((cm) => consumers.push(cm));
    await until(() => consumers.length === 2, 3_000, 'two consumers');
    expect(server.requests.filter((r) => r.method === 'resumeConsumer').map((r) => r.data.consumerId).sort()).toEqual(consumers.map((c) => c.id).sort());
    expect(server.methods()).not.toContain('resumeConsumers');
  });

  it('a consumer the server no longer has fails its resumeConsumers (NOT_FOUND, none resumed): each is asked alone, that one closes with why, the others stay live', async () => {
    const server = new FakeServer();
    server.remoteTracks.push({ kind: 'audio', userId: 'user-2' }, { kind: 'video', userId: 'user-3' });
    let gone: string | undefined;
    server.handlers.resumeConsumers = (data: { consumerIds: string[] }) => {
      gone = data.consumerIds[0];
      return { error: { code: ErrorCode.NOT_FOUND, message: `no consumer ${gone}` } };
    };
    server.handlers.resumeConsumer = (data: { consumerId: string }) => (data.consumerId === gone ? { error: { code: ErrorCode.NOT_FOUND, message: `no consumer ${gone}` } } : {});
    const { client } = tracked(startClient(server));
    const consumers: ConsumeManager[] = [];
    const closed: string[] = [];
    client.listenTrack((cm) => {
      consumers.push(cm);
      cm.on('closed', (error) => closed.push(`${cm.kind} ${error.code}: ${error.message}`));
    });
    // Both are handed out as their resume goes out; the one the server refused then closes, saying why.
    await until(() => closed.length === 1, 3_000, 'the refused consumer closed');
    expect(consumers.map((c) => c.kind)).toEqual(['audio', 'video']);
    expect(closed).toEqual([`audio CONSUMER_CLOSED: the consumer is closed: the server did not start sending it: no consumer ${gone}`]);
    expect(consumers[1]!.state).toBe('live');
    expect(server.requests.filter((r) => r.method === 'resumeConsumer').map((r) => r.data.consumerId).sort()).toEqual(['c1', 'c2']);
  });

  it('pause/resume, producer pause flags, and a server close → every method rejects CONSUMER_CLOSED', async () => {
    const server = new FakeServer();
    server.remoteTracks.push({ kind: 'audio', userId: 'user-2' });
    const { client } = tracked(startClient(server));
    const consumers: ConsumeManager[] = [];
    client.listenTrack((cm) => consumers.push(cm));
    await until(() => consumers.length === 1);
    const cm = consumers[0]!;
    const events: string[] = [];
    for (const name of ['paused', 'resumed', 'producerpaused', 'producerresumed', 'closed'] as const) cm.on(name, () => events.push(name));
    await cm.pause();
    expect(cm.paused).toBe(true);
    await cm.resume();
    expect(cm.paused).toBe(false);
    server.notify('consumerProducerPaused', { consumerId: cm.id });
    await until(() => cm.producerPaused);
    server.notify('consumerProducerResumed', { consumerId: cm.id });
    await until(() => !cm.producerPaused);
    server.notify('consumerClosed', { consumerId: cm.id, reason: 'producer closed' });
    await until(() => cm.state === 'closed');
    expect(events).toEqual(['paused', 'resumed', 'producerpaused', 'producerresumed', 'closed']);
    expect((await rejection(cm.pause())).code).toBe('CONSUMER_CLOSED');
    expect((await rejection(cm.resume())).code).toBe('CONSUMER_CLOSED');
  });

  it("a remote track the server will not send is an 'error' event with its code, and nothing else changes", async () => {
    const server = new FakeServer();
    const { client } = tracked(startClient(server, { logger: { warn: () => {} } }));
    const errors: MediaInfraError[] = [];
    client.on('error', (error) => errors.push(error));
    const consumers: ConsumeManager[] = [];
    client.listenTrack((cm) => consumers.push(cm));
    await until(() => server.methods().includes('listen'));
    server.notify('trackNotConsumed', { producerId: 'p-9', userId: 'user-9', kind: 'video', code: 'INVALID_STATE', message: 'receives 256 tracks' });
    server.notify('trackNotConsumed', { producerId: 'p-8', userId: 'user-8', kind: 'audio', code: 'UNSUPPORTED_CODEC', message: 'no common codec' });
    await until(() => errors.length === 2);
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['INVALID_STATE', 'receives 256 tracks'],
      ['UNSUPPORTED_CODEC', 'no common codec'],
    ]);
    expect(errors[0]).toBeInstanceOf(MediaInfraError);
    expect(client.state).toBe('connected');
    expect(consumers).toHaveLength(0);
    server.newConsumer('audio', 'user-2');
    await until(() => consumers.length === 1);
  });

  it('calling listenTrack again replaces the callback without a second listen', async () => {
    const server = new FakeServer();
    const { client } = tracked(startClient(server));
    const first: ConsumeManager[] = [];
    const second: ConsumeManager[] = [];
    client.listenTrack((cm) => first.push(cm));
    await waitForState(client, 'connected');
    await until(() => server.methods().includes('listen'));
    client.listenTrack((cm) => second.push(cm));
    server.newConsumer('video');
    await until(() => second.length === 1);
    expect(first).toHaveLength(0);
    expect(server.methods().filter((m) => m === 'listen')).toHaveLength(1);
  });
});

describe('MediaInfraClient: reconnecting', () => {
  it('a lost socket: producers produce again (same objects, paused kept), consumers close and new ones arrive', async () => {
    const server = new FakeServer();
    server.remoteTracks.push({ kind: 'video', userId: 'user-2' });
    const { client, states } = tracked(startClient(server));
    const consumers: ConsumeManager[] = [];
    client.listenTrack((cm) => consumers.push(cm));
    const mic = await client.produceTrack(fakeTrack('audio'));
    const cam = await client.produceTrack(fakeTrack('video'));
    await cam.pause();
    await until(() => consumers.length === 1);
    const oldIds = [mic.id, cam.id];

    server.current!.serverClose(1006, 'network down');
    await waitForState(client, 'reconnecting');
    await waitForState(client, 'connected');
    await until(() => consumers.length === 2, 3_000, 'a new consumer');
    await until(() => mic.state === 'live' && cam.state === 'paused', 3_000, 'producers back');

    expect(states).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
    expect(server.sockets).toHaveLength(2);
    expect([mic.id, cam.id]).not.toEqual(oldIds);
    expect(cam.paused).toBe(true);
    // the paused producer was produced again paused: the server's producer is paused from its first moment
    const produced = server.requests.filter((r) => r.method === 'produce');
    expect(produced.map((r) => [r.data.kind, r.data.paused ?? false])).toEqual([['audio', false], ['video', false], ['audio', false], ['video', true]]);
    expect(server.requests.filter((r) => r.method === 'pauseProducer')).toHaveLength(1);
    expect(consumers[0]!.state).toBe('closed');
    expect((await rejection(consumers[0]!.pause())).code).toBe('CONSUMER_CLOSED');
    expect(consumers[1]!.state).toBe('live');
    expect(server.methods().filter((m) => m === 'listen')).toHaveLength(2);
  });
});
