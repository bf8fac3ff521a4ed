// The signaling gateway against a real server process (real mediasoup worker, real SQLite), driven
// by a plain `ws` client: no browser, so RTP parameters are hand-written and no media flows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CloseCode, ErrorCode } from '../../src/protocol/codes.js';
import { MAX_MESSAGE_BYTES, MIN_PROTOCOL_VERSION, PROTOCOL_PARAM, PROTOCOL_VERSION } from '../../src/protocol/messages.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';
import { MAX_CONSUMERS } from '../../src/server/mr/peer.js';
import { TestSocket, rtpParameters, type Frame } from './wsClient.js';

let server: ServerProcess;
const tokens: string[] = [];
let room = 0;

/** A fresh room per test, so tests never see each other's producers. */
function newRoom(): string {
  room += 1;
  return `room-${room}`;
}

async function join(roomId: string, userId: string) {
  const t = await server.connect(roomId, userId);
  tokens.push(t.token);
  const { socket, welcome } = await TestSocket.welcomed(t.url, t.token);
  // The client answers with its capabilities: the router's own are a valid stand-in.
  const { peerId } = await socket.ok<{ peerId: string }>('join', { rtpCapabilities: welcome.data.routerRtpCapabilities });
  return { socket, welcome, peerId, token: t.token, url: t.url };
}

async function producing(socket: TestSocket, kind: 'audio' | 'video' = 'video') {
  const transport = await socket.ok<{ id: string }>('createTransport', { direction: 'send' });
  const { producerId } = await socket.ok<{ producerId: string }>('produce', { transportId: transport.id, kind, rtpParameters: rtpParameters(kind) });
  return { transportId: transport.id, producerId };
}

async function listening(socket: TestSocket) {
  const transport = await socket.ok<{ id: string }>('createTransport', { direction: 'recv' });
  await socket.ok('listen');
  return transport.id;
}

beforeAll(async () => {
  server = await startServerProcess({ env: { LOG_LEVEL: 'debug' } });
});
afterAll(async () => {
  const code = await server?.stop();
  expect(code).toBe(0);
});

describe('welcome', () => {
  it('arrives first, with the protocol version, the session and the router capabilities', async () => {
    const t = await server.connect('room-w', 'ann');
    tokens.push(t.token);
    expect(t.url).toBe(`ws://127.0.0.1:${server.port}/v1/ws`);
    const socket = await TestSocket.open(t.url, t.token);
    const first = await socket.waitFor(() => true);
    expect(first).toMatchObject({ type: 'notification', method: 'welcome', data: { protocolVersion: PROTOCOL_VERSION, roomId: 'room-w', userId: 'ann' } });
    const caps = (first as { data: { routerRtpCapabilities: { codecs: { mimeType: string }[] } } }).data.routerRtpCapabilities;
    expect(caps.codecs.map((c) => c.mimeType)).toEqual(expect.arrayContaining(['audio/opus', 'video/VP8', 'video/VP9', 'video/H264']));
    await socket.close();
  });

  it('refuses other paths than /v1/ws', async () => {
    const t = await server.connect('room-w', 'path');
    const ws = new WebSocket(`${server.httpUrl.replace('http', 'ws')}/v1/other?token=${t.token}`);
    const err = await new Promise<Error>((resolve) => ws.once('error', resolve));
    expect(err.message).toMatch(/404/);
  });
});

describe('protocol 3: transports with the welcome', () => {
  const v = (n: number) => `?${PROTOCOL_PARAM}=${n}`;
  const dtlsParameters = { role: 'server', fingerprints: [{ algorithm: 'sha-256', value: Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':') }] };

  it('a version-3 welcome carries fresh send and recv transports (the server the send one\'s DTLS client); join, connect, produce and listen need no answer in between', async () => {
    const roomId = newRoom();
    const t = await server.connect(roomId, 'eager');
    tokens.push(t.token);
    const { socket, welcome } = await TestSocket.welcomed(`${t.url}${v(3)}`, t.token);
    const { send, recv } = welcome.data.transports!;
    expect(send.id).not.toBe(recv.id);
    // The server is the send transport's DTLS client; the browser always is the recv transport's.
    expect([send.dtlsParameters.role, recv.dtlsParameters.role]).toEqual(['client', 'auto']);
    for (const info of [send, recv]) expect(info.iceCandidates.length).toBeGreaterThan(0);
    // All sent before any answer: the gateway runs them in order.
    const answers = await Promise.all([
      socket.request('join', { rtpCapabilities: welcome.data.routerRtpCapabilities }),
      socket.request('connectTransport', { transportId: send.id, dtlsParameters }),
      socket.request('produce', { transportId: send.id, kind: 'video', rtpParameters: rtpParameters('video') }),
      socket.request('listen'),
    ]);
    expect(answers.map((a) => a.ok)).toEqual([true, true, true, true]);
    // The same session on a new socket: a new peer, new transports; the old ones are gone with the old peer.
    const again = await TestSocket.welcomed(`${t.url}${v(3)}`, t.token);
    const fresh = again.welcome.data.transports!;
    expect([fresh.send.id, fresh.recv.id]).not.toContain(send.id);
    await again.socket.ok('join', { rtpCapabilities: again.welcome.data.routerRtpCapabilities });
    expect(await again.socket.request('connectTransport', { transportId: send.id, dtlsParameters })).toMatchObject({ ok: false, error: { code: ErrorCode.NOT_FOUND } });
    await again.socket.close();
  });

  it('a version-1 or -2 welcome carries none: those clients ask createTransport', async () => {
    const t = await server.connect(newRoom(), 'classic');
    tokens.push(t.token);
    for (const url of [t.url, `${t.url}${v(2)}`]) {
      const { socket, welcome } = await TestSocket.welcomed(url, t.token);
      expect(welcome.data.transports).toBeUndefined();
      await socket.ok('join', { rtpCapabilities: welcome.data.routerRtpCapabilities });
      await producing(socket);
      await socket.close();
    }
  });
});

describe('protocol 4: consumers offered together', () => {
  const offers = (socket: TestSocket) => socket.frames.flatMap((f) => (f.type === 'notification' && f.method === 'newConsumers' ? [f.data.consumers] : []));

  it('listen offers every track already there in one newConsumers before its answer, resumed in one resumeConsumers; a later track comes in one of its own; an older client gets newConsumer each', async () => {
    const roomId = newRoom();
    const alice = await join(roomId, 'alice');
    const transport = await alice.socket.ok<{ id: string }>('createTransport', { direction: 'send' });
    const produced: string[] = [];
    for (const [mid, kind] of [['0', 'audio'], ['1', 'video'], ['2', 'audio']] as const) {
      const params = { ...rtpParameters(kind), mid, encodings: [{ ssrc: 7_000 + Number(mid) }] };
      produced.push((await alice.socket.ok<{ producerId: string }>('produce', { transportId: transport.id, kind, rtpParameters: params })).producerId);
    }
    const t = await server.connect(roomId, 'bob');
    tokens.push(t.token);
    const bob = await TestSocket.welcomed(`${t.url}?${PROTOCOL_PARAM}=4`, t.token);
    await bob.socket.ok('join', { rtpCapabilities: bob.welcome.data.routerRtpCapabilities });
    const answer = await bob.socket.request('listen');
    expect(answer).toMatchObject({ ok: true });
    const [first, ...others] = offers(bob.socket);
    expect(others).toEqual([]);
    expect(first!.map((c) => c.producerId).sort()).toEqual([...produced].sort());
    const offerAt = bob.socket.frames.findIndex((f) => f.type === 'notification' && f.method === 'newConsumers');
    expect(offerAt).toBeLessThan(bob.socket.frames.indexOf(answer));
    expect(bob.socket.frames.some((f) => f.type === 'notification' && f.method === 'newConsumer')).toBe(false);

    // The offer's consumers resume in one request, all or nothing: an id that is not one of bob's
    // consumers is NOT_FOUND.
    const ids = first!.map((c) => c.id);
    expect(await bob.socket.request('resumeConsumers', { consumerIds: [...ids, 'no-such-consumer'] })).toMatchObject({ ok: false, error: { code: ErrorCode.NOT_FOUND } });
    expect(await bob.socket.request('resumeConsumers', { consumerIds: [] })).toMatchObject({ ok: false, error: { code: ErrorCode.BAD_REQUEST } });
    expect(await bob.socket.request('resumeConsumers', { consumerIds: ids })).toMatchObject({ ok: true });

    const params = { ...rtpParameters('video'), mid: '3', encodings: [{ ssrc: 7_003 }] };
    const { producerId } = await alice.socket.ok<{ producerId: string }>('produce', { transportId: transport.id, kind: 'video', rtpParameters: params });
    await bob.socket.notification('newConsumers', (d) => d.consumers.some((c) => c.producerId === producerId));
    expect(offers(bob.socket).map((o) => o.length)).toEqual([3, 1]);

    // A version-3 client in the same room: one newConsumer per track, and no newConsumers.
    const t3 = await server.connect(roomId, 'carol');
    tokens.push(t3.token);
    const carol = await TestSocket.welcomed(`${t3.url}?${PROTOCOL_PARAM}=3`, t3.token);
    await carol.socket.ok('join', { rtpCapabilities: carol.welcome.data.routerRtpCapabilities });
    await carol.socket.ok('listen');
    const single = carol.socket.frames.flatMap((f) => (f.type === 'notification' && f.method === 'newConsumer' ? [f.data.producerId] : []));
    expect(single.sort()).toEqual([...produced, producerId].sort());
    expect(offers(carol.socket)).toEqual([]);
    await Promise.all([alice.socket.close(), bob.socket.close(), carol.socket.close()]);
  });
});

describe('protocol 5: scores in the offer', () => {
  it("each offered consumer carries its scores and no consumerScore follows; a version-4 client gets the offer without them and a consumerScore each after it", async () => {
    const roomId = newRoom();
    const alice = await join(roomId, 'alice');
    const transport = await alice.socket.ok<{ id: string }>('createTransport', { direction: 'send' });
    for (const [mid, kind] of [['0', 'audio'], ['1', 'video']] as const) {
      await alice.socket.ok('produce', { transportId: transport.id, kind, rtpParameters: { ...rtpParameters(kind), mid, encodings: [{ ssrc: 8_000 + Number(mid) }] } });
    }
    const listener = async (user: string, version: number) => {
      const t = await server.connect(roomId, user);
      tokens.push(t.token);
      const { socket, welcome } = await TestSocket.welcomed(`${t.url}?${PROTOCOL_PARAM}=${version}`, t.token);
      await socket.ok('join', { rtpCapabilities: welcome.data.routerRtpCapabilities });
      await socket.ok('listen');
      // Anything sent right after the offer is here once a later answer is.
      await socket.ok('ping', { now: 0 });
      const notifications = socket.frames.flatMap((f) => (f.type === 'notification' ? [f] : []));
      return { socket, offered: notifications.flatMap((f) => (f.method === 'newConsumers' ? f.data.consumers : [])), scores: notifications.flatMap((f) => (f.method === 'consumerScore' ? [f.data] : [])) };
    };
    const bob = await listener('bob', PROTOCOL_VERSION);
    expect(bob.offered).toHaveLength(2);
    for (const c of bob.offered) {
      // A consumer's own stream starts at 10; its producer's is what mediasoup reads now (0: no media here).
      expect(c.score).toBe(10);
      expect(c.producerScore).toBeTypeOf('number');
    }
    expect(bob.scores).toEqual([]);

    const carol = await listener('carol', 4);
    expect(carol.offered).toHaveLength(2);
    for (const c of carol.offered) expect(Object.keys(c)).not.toContain('score');
    const frames = carol.socket.frames.flatMap((f) => (f.type === 'notification' ? [f.method] : []));
    expect(frames.slice(frames.indexOf('newConsumers'))).toEqual(['newConsumers', 'consumerScore', 'consumerScore']);
    expect(carol.scores.map((d) => d.consumerId).sort()).toEqual(carol.offered.map((c) => c.id).sort());
    for (const d of carol.scores) expect(d.score).toBe(10);
    await Promise.all([alice.socket.close(), bob.socket.close(), carol.socket.close()]);
  });
});

describe('bad requests', () => {
  it('answer with typed errors, change nothing, and the socket keeps answering', async () => {
    const t = await server.connect(newRoom(), 'bad');
    tokens.push(t.token);
    const { socket } = await TestSocket.welcomed(t.url, t.token);

    socket.sendRaw('{not json');
    const notJson = await socket.waitFor((f) => f.type === 'response' && !f.ok);
    expect(notJson).toMatchObject({ ok: false, id: 0, error: { code: ErrorCode.BAD_REQUEST } });

    socket.sendRaw(JSON.stringify({ type: 'request', id: 9999, method: 'fly', data: {} }));
    expect(await socket.waitFor((f) => f.type === 'response' && f.id === 9999)).toMatchObject({ ok: false, error: { code: ErrorCode.UNKNOWN_METHOD } });

    socket.sendRaw(Buffer.from(JSON.stringify({ type: 'request', id: 9998, method: 'ping', data: {} })));
    expect(await socket.waitFor((f) => f.type === 'response' && !f.ok && f.error.message.includes('binary'))).toMatchObject({ error: { code: ErrorCode.BAD_REQUEST } });

    expect(await socket.request('createTransport', { direction: 'sideways' })).toMatchObject({ ok: false, error: { code: ErrorCode.BAD_REQUEST } });
    expect(await socket.request('createTransport', { direction: 'send' })).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_STATE } });
    expect(await socket.request('listen')).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_STATE } });
    expect(await socket.request('join', { rtpCapabilities: { codecs: 'all' } })).toMatchObject({ ok: false, error: { code: ErrorCode.BAD_REQUEST } });

    const pong = await socket.request('ping');
    expect(pong.ok).toBe(true);
    expect((pong as { data: { now: number } }).data.now).toBeGreaterThan(0);
    // Nothing was changed by the refusals: join still works, once.
    const welcome = await socket.notification('welcome');
    expect(await socket.request('join', { rtpCapabilities: welcome.data.routerRtpCapabilities })).toMatchObject({ ok: true });
    expect(await socket.request('join', { rtpCapabilities: welcome.data.routerRtpCapabilities })).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_STATE } });
    expect(await socket.request('listen')).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_STATE, message: expect.stringMatching(/recv transport/) } });
    await socket.close();
  });

  it('an oversized message closes that socket (1009) and the server keeps serving others', async () => {
    const roomId = newRoom();
    const a = await join(roomId, 'big');
    const b = await join(roomId, 'small');
    a.socket.sendRaw('x'.repeat(MAX_MESSAGE_BYTES + 1));
    expect((await a.socket.waitClosed()).code).toBe(1009);
    expect(await b.socket.request('ping')).toMatchObject({ ok: true });
    await b.socket.close();
  });

  it('a produce with a codec the router lacks is UNSUPPORTED_CODEC; a kind mismatch is BAD_REQUEST', async () => {
    const { socket } = await join(newRoom(), 'codec');
    const transport = await socket.ok<{ id: string }>('createTransport', { direction: 'send' });
    const av1 = await socket.request('produce', { transportId: transport.id, kind: 'video', rtpParameters: rtpParameters('video', 'video/AV1') });
    expect(av1).toMatchObject({ ok: false, error: { code: ErrorCode.UNSUPPORTED_CODEC } });
    const mismatch = await socket.request('produce', { transportId: transport.id, kind: 'audio', rtpParameters: rtpParameters('video') });
    expect(mismatch).toMatchObject({ ok: false, error: { code: ErrorCode.BAD_REQUEST } });
    const recv = await socket.ok<{ id: string }>('createTransport', { direction: 'recv' });
    const onRecv = await socket.request('produce', { transportId: recv.id, kind: 'video', rtpParameters: rtpParameters('video') });
    expect(onRecv).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_STATE } });
    await socket.close();
  });

  it('recording requests in the wrong state or naming unknown producers are refused and change nothing', async () => {
    const roomId = newRoom();
    const { socket } = await join(roomId, 'rec');
    const other = await join(roomId, 'other');
    const { producerId } = await producing(socket);
    expect(await socket.request('stopRecord', { producerId })).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_STATE } });
    expect(await socket.request('stopRecord', { producerId: 'nope' })).toMatchObject({ ok: false, error: { code: ErrorCode.NOT_FOUND } });
    // Another user's producer is not theirs to record.
    expect(await other.socket.request('startRecord', { producerId })).toMatchObject({ ok: false, error: { code: ErrorCode.NOT_FOUND } });
    expect(await server.recordings(roomId)).toEqual([]);

    expect(await socket.request('startRecord', { producerId })).toMatchObject({ ok: true, data: { recordingId: expect.any(String) } });
    expect(await socket.request('startRecord', { producerId })).toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_STATE } });
    expect(await server.recordings(roomId)).toMatchObject([{ producerId, state: 'recording' }]);
    // Leaving ends the recording; this producer never sent a packet, so it is failed, and says why.
    await socket.close();
    await expect
      .poll(async () => (await server.recordings(roomId))[0], { timeout: 15_000, interval: 100 })
      .toMatchObject({ producerId, state: 'failed', reason: 'no media arrived before it stopped', bytes: 0 });
    await other.socket.close();
  });
});

describe('what one client sends never reaches another', () => {
  it('appData nested thousands of levels deep is BAD_REQUEST while a peer listens; the listener gets the next producer', async () => {
    const roomId = newRoom();
    const sender = await join(roomId, 'deep');
    const listener = await join(roomId, 'ear');
    await listening(listener.socket);
    const transport = await sender.socket.ok<{ id: string }>('createTransport', { direction: 'send' });
    // 5,000 levels in about 25 KB: under the frame limit, past what JSON.stringify can walk (so
    // the frame is written by hand).
    const appData = '{"a":'.repeat(5_000) + '{}' + '}'.repeat(5_000);
    const frame = JSON.stringify({ type: 'request', id: 7_001, method: 'produce', data: { transportId: transport.id, kind: 'video', rtpParameters: rtpParameters('video'), appData: 'DEEP' } });
    sender.socket.sendRaw(frame.replace('"DEEP"', appData));
    const deep = await sender.socket.waitFor((f) => f.type === 'response' && f.id === 7_001);
    expect(deep).toMatchObject({ ok: false, error: { code: ErrorCode.BAD_REQUEST, message: expect.stringMatching(/appData/) } });
    const wide = await sender.socket.request('produce', { transportId: transport.id, kind: 'video', rtpParameters: rtpParameters('video'), appData: { pad: 'x'.repeat(5_000) } });
    expect(wide).toMatchObject({ ok: false, error: { code: ErrorCode.BAD_REQUEST } });
    const { producerId } = await sender.socket.ok<{ producerId: string }>('produce', {
      transportId: transport.id,
      kind: 'video',
      rtpParameters: rtpParameters('video'),
      appData: { source: 'camera', nested: { a: { b: 1 } } },
    });
    const offered = await listener.socket.notification('newConsumer', (d) => d.producerId === producerId);
    expect(offered.data.appData).toEqual({ source: 'camera', nested: { a: { b: 1 } } });
    expect((await fetch(`${server.httpUrl}/healthz`)).status).toBe(200);
    await sender.socket.close();
    await listener.socket.close();
  });

  it('a second producer with a MID the client already uses is BAD_REQUEST', async () => {
    const { socket } = await join(newRoom(), 'mid');
    const { transportId } = await producing(socket);
    const again = await socket.request('produce', { transportId, kind: 'video', rtpParameters: rtpParameters('video') });
    expect(again).toMatchObject({ ok: false, error: { code: ErrorCode.BAD_REQUEST, message: expect.stringMatching(/mid '0'/) } });
    await socket.close();
  });

  const video = rtpParameters('video') as { codecs: Array<Record<string, unknown>>; encodings: Array<Record<string, unknown>>; headerExtensions: unknown[]; rtcp: Record<string, unknown> };
  const codec = video.codecs[0]!;
  it.each([
    // JSON has no Infinity: 1e999 parses to it.
    ['payloadType 1e999 (Infinity)', { ...video, codecs: [{ ...codec, payloadType: '1e999' }] }],
    ['payloadType -1', { ...video, codecs: [{ ...codec, payloadType: -1 }] }],
    ['payloadType 3.5', { ...video, codecs: [{ ...codec, payloadType: 3.5 }] }],
    ['payloadType 300', { ...video, codecs: [{ ...codec, payloadType: 300 }] }],
    ['ssrc -1', { ...video, encodings: [{ ssrc: -1 }] }],
    ['ssrc 2^60', { ...video, encodings: [{ ssrc: 2 ** 60 }] }],
    ['a 60 KB rid', { ...video, encodings: [{ rid: 'r'.repeat(60_000) }] }],
    ['a 60 KB mid', { ...video, mid: 'm'.repeat(60_000) }],
    ['a 60 KB cname', { ...video, rtcp: { cname: 'c'.repeat(60_000) } }],
    ['header extension id -3', { ...video, headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: -3 }] }],
    ['no codec', { ...video, codecs: [] }],
  ])('produce with %s is BAD_REQUEST and produces nothing', async (_name, rtp) => {
    const roomId = newRoom();
    const sender = await join(roomId, 'odd');
    const listener = await join(roomId, 'ear');
    await listening(listener.socket);
    const transport = await sender.socket.ok<{ id: string }>('createTransport', { direction: 'send' });
    const frame = JSON.stringify({ type: 'request', id: 7_000, method: 'produce', data: { transportId: transport.id, kind: 'video', rtpParameters: rtp } });
    sender.socket.sendRaw(frame.replace('"payloadType":"1e999"', '"payloadType":1e999'));
    const res = await sender.socket.waitFor((f) => f.type === 'response' && f.id === 7_000);
    // Frames over the size limit close the socket instead (1009): the 60 KB cases stay under it.
    expect(res).toMatchObject({ ok: false, error: { code: ErrorCode.BAD_REQUEST } });
    const { producerId } = await producing(sender.socket);
    const offered = await listener.socket.notification('newConsumer');
    expect(offered.data.producerId).toBe(producerId);
    await sender.socket.close();
    await listener.socket.close();
  });
});

describe('media between peers', () => {
  it('a listening peer gets paused consumers for existing and new producers, with pause/resume/close relayed', async () => {
    const roomId = newRoom();
    const alice = await join(roomId, 'alice');
    const bob = await join(roomId, 'bob');
    const audio = await producing(alice.socket, 'audio');

    await listening(bob.socket);
    const first = await bob.socket.notification('newConsumer', (d) => d.producerId === audio.producerId);
    expect(first.data).toMatchObject({ kind: 'audio', userId: 'alice', producerPaused: false });

    // A producer created after `listen` is announced too, in the sender's transport.
    const videoTransport = await alice.socket.ok<{ id: string }>('createTransport', { direction: 'send' });
    const { producerId: videoId } = await alice.socket.ok<{ producerId: string }>('produce', {
      transportId: videoTransport.id,
      kind: 'video',
      rtpParameters: rtpParameters('video'),
      paused: true,
    });
    const second = await bob.socket.notification('newConsumer', (d) => d.producerId === videoId);
    expect(second.data).toMatchObject({ kind: 'video', userId: 'alice', producerPaused: true });
    expect(await bob.socket.request('resumeConsumer', { consumerId: second.data.id })).toMatchObject({ ok: true });
    expect(await bob.socket.request('pauseConsumer', { consumerId: second.data.id })).toMatchObject({ ok: true });

    await alice.socket.ok('resumeProducer', { producerId: videoId });
    await bob.socket.notification('consumerProducerResumed', (d) => d.consumerId === second.data.id);
    await alice.socket.ok('pauseProducer', { producerId: videoId });
    await bob.socket.notification('consumerProducerPaused', (d) => d.consumerId === second.data.id);

    await alice.socket.ok('closeProducer', { producerId: audio.producerId });
    expect((await bob.socket.notification('consumerClosed', (d) => d.consumerId === first.data.id)).data.reason).toBe('producer closed');
    expect(await bob.socket.request('resumeConsumer', { consumerId: first.data.id })).toMatchObject({ ok: false, error: { code: ErrorCode.NOT_FOUND } });

    // Alice's socket goes away: her remaining producer closes for Bob.
    await alice.socket.close();
    await bob.socket.notification('consumerClosed', (d) => d.consumerId === second.data.id);
    // Each producer was consumed exactly once.
    expect(bob.socket.frames.filter((f) => f.type === 'notification' && f.method === 'newConsumer')).toHaveLength(2);
    await bob.socket.close();
  });

  it("another peer's transport, producer and consumer ids are NOT_FOUND and stay untouched", async () => {
    const roomId = newRoom();
    const alice = await join(roomId, 'alice');
    const mallory = await join(roomId, 'mallory');
    const carol = await join(roomId, 'carol');
    const { transportId, producerId } = await producing(alice.socket);
    await listening(carol.socket);
    const consumer = await carol.socket.notification('newConsumer', (d) => d.producerId === producerId);

    await listening(mallory.socket);
    await mallory.socket.notification('newConsumer', (d) => d.producerId === producerId);
    const attempts: [string, unknown][] = [
      ['pauseProducer', { producerId }],
      ['closeProducer', { producerId }],
      ['restartIce', { transportId }],
      ['produce', { transportId, kind: 'video', rtpParameters: rtpParameters('video') }],
      ['pauseConsumer', { consumerId: consumer.data.id }],
      ['startRecord', { producerId }],
    ];
    for (const [method, data] of attempts) {
      expect(await mallory.socket.request(method, data), method).toMatchObject({ ok: false, error: { code: ErrorCode.NOT_FOUND } });
    }
    // Alice's producer is still live for Carol: nothing closed or paused.
    await alice.socket.ok('pauseProducer', { producerId });
    await carol.socket.notification('consumerProducerPaused', (d) => d.consumerId === consumer.data.id);
    expect(carol.socket.frames.some((f) => f.type === 'notification' && f.method === 'consumerClosed')).toBe(false);
    await Promise.all([alice.socket.close(), mallory.socket.close(), carol.socket.close()]);
  });

  it('rooms are isolated: a producer in one room is never offered in another', async () => {
    const a = await join(newRoom(), 'a');
    const b = await join(newRoom(), 'b');
    await listening(b.socket);
    const { producerId } = await producing(a.socket);
    // b gets an answer to a later request before any newConsumer could have been sent for it.
    await b.socket.ok('ping');
    await a.socket.ok('pauseProducer', { producerId });
    await b.socket.ok('ping');
    expect(b.socket.frames.filter((f) => f.type === 'notification' && f.method !== 'welcome')).toEqual([]);
    await Promise.all([a.socket.close(), b.socket.close()]);
  });
});

describe('tracks a client cannot receive', () => {
  it('a client without a common codec is told UNSUPPORTED_CODEC for that track, and gets the others', async () => {
    const roomId = newRoom();
    const sender = await join(roomId, 'sender');
    const video = await producing(sender.socket, 'video');
    const audio = await producing(sender.socket, 'audio');
    // An audio-only client: its capabilities name no video codec.
    const t = await server.connect(roomId, 'audio-only');
    tokens.push(t.token);
    const { socket, welcome } = await TestSocket.welcomed(t.url, t.token);
    const caps = welcome.data.routerRtpCapabilities as { codecs: Array<{ kind: string }> };
    await socket.ok('join', { rtpCapabilities: { ...caps, codecs: caps.codecs.filter((c) => c.kind === 'audio') } });
    await listening(socket);
    const notConsumed = await socket.notification('trackNotConsumed');
    expect(notConsumed.data).toMatchObject({ producerId: video.producerId, userId: 'sender', kind: 'video', code: ErrorCode.UNSUPPORTED_CODEC });
    await socket.notification('newConsumer', (d) => d.producerId === audio.producerId);
    // `listen` answered after every producer of the room was announced: nothing more follows.
    const notifications = socket.frames.flatMap((f) => (f.type === 'notification' && f.method !== 'welcome' ? [f.method] : []));
    expect(notifications.sort()).toEqual(['newConsumer', 'trackNotConsumed']);
    await Promise.all([socket.close(), sender.socket.close()]);
  });
});

describe('per-client limits', () => {
  it(`a client is offered at most MAX_CONSUMERS (${MAX_CONSUMERS}) remote tracks; the senders are untouched`, async () => {
    const roomId = newRoom();
    const senders = await Promise.all(Array.from({ length: 9 }, (_, i) => join(roomId, `sender-${i}`)));
    // 9 × 32 = 288 producers, more than one client may receive.
    await Promise.all(
      senders.map(async ({ socket }, i) => {
        const transport = await socket.ok<{ id: string }>('createTransport', { direction: 'send' });
        for (let n = 0; n < 32; n++) {
          const params = { ...rtpParameters('audio'), mid: String(n), encodings: [{ ssrc: 1_000_000 * (i + 1) + n }] };
          await socket.ok('produce', { transportId: transport.id, kind: 'audio', rtpParameters: params });
        }
        expect(await socket.request('produce', { transportId: transport.id, kind: 'audio', rtpParameters: { ...rtpParameters('audio'), mid: '99', encodings: [{ ssrc: 99 }] } }))
          .toMatchObject({ ok: false, error: { code: ErrorCode.INVALID_STATE, message: expect.stringMatching(/at most 32 producers/) } });
      }),
    );
    const listener = await join(roomId, 'listener');
    await listening(listener.socket);
    await expect.poll(() => listener.socket.frames.filter((f) => f.type === 'notification' && f.method === 'newConsumer').length, { timeout: 20_000 }).toBe(MAX_CONSUMERS);
    await expect.poll(() => server.logs().includes('this client receives the most tracks it may'), { timeout: 5_000 }).toBe(true);
    // The client is told about each of the 32 it will not receive, with a typed code.
    const notConsumed = () => listener.socket.frames.flatMap((f) => (f.type === 'notification' && f.method === 'trackNotConsumed' ? [f.data] : []));
    await expect.poll(() => notConsumed().length, { timeout: 5_000 }).toBe(9 * 32 - MAX_CONSUMERS);
    expect(new Set(notConsumed().map((d) => d.code))).toEqual(new Set([ErrorCode.INVALID_STATE]));
    expect(notConsumed()[0]!.message).toMatch(/already receives 256 tracks/);
    expect(await listener.socket.request('ping')).toMatchObject({ ok: true });
    expect(listener.socket.frames.filter((f) => f.type === 'notification' && f.method === 'newConsumer')).toHaveLength(MAX_CONSUMERS);

    // A version-4 client gets the same offer in newConsumers frames that each fit the frame bound, all before listen's answer.
    const t4 = await server.connect(roomId, 'listener-4');
    tokens.push(t4.token);
    const v4 = await TestSocket.welcomed(`${t4.url}?${PROTOCOL_PARAM}=4`, t4.token);
    await v4.socket.ok('join', { rtpCapabilities: v4.welcome.data.routerRtpCapabilities });
    const answer = await v4.socket.request('listen');
    const offerAt = v4.socket.frames.flatMap((f, i) => (f.type === 'notification' && f.method === 'newConsumers' ? [i] : []));
    expect(offerAt.length).toBeGreaterThan(1);
    expect(offerAt.at(-1)).toBeLessThan(v4.socket.frames.indexOf(answer));
    for (const i of offerAt) expect(v4.socket.frameBytes[i]).toBeLessThanOrEqual(MAX_MESSAGE_BYTES);
    const offered = offerAt.flatMap((i) => (v4.socket.frames[i] as Extract<Frame, { method: 'newConsumers' }>).data.consumers.map((c) => c.producerId));
    expect(new Set(offered).size).toBe(MAX_CONSUMERS);
    expect(offered).toHaveLength(MAX_CONSUMERS);
    await Promise.all([v4.socket.close(), listener.socket.close(), ...senders.map(({ socket }) => socket.close())]);
  });
});

describe('session lifecycle on the socket', () => {
  it('leave answers, then the server closes with 1000 and releases the peer', async () => {
    const roomId = newRoom();
    const alice = await join(roomId, 'alice');
    const bob = await join(roomId, 'bob');
    const { producerId } = await producing(alice.socket);
    await listening(bob.socket);
    const consumer = await bob.socket.notification('newConsumer', (d) => d.producerId === producerId);
    expect(await alice.socket.request('leave')).toMatchObject({ ok: true });
    expect(await alice.socket.waitClosed()).toEqual({ code: 1000, reason: 'left' });
    await bob.socket.notification('consumerClosed', (d) => d.consumerId === consumer.data.id);
    await bob.socket.close();
  });

  it('the same token connecting again replaces the first socket (4003); its producers close first', async () => {
    const roomId = newRoom();
    const first = await join(roomId, 'twice');
    const watcher = await join(roomId, 'watcher');
    const { producerId } = await producing(first.socket);
    await listening(watcher.socket);
    const consumer = await watcher.socket.notification('newConsumer', (d) => d.producerId === producerId);

    const second = await TestSocket.welcomed(first.url, first.token);
    expect(await first.socket.waitClosed()).toEqual({ code: CloseCode.REPLACED, reason: 'replaced' });
    // The old peer's producer was closed (before the new peer existed), and the new socket works.
    const closedFrame = await watcher.socket.notification('consumerClosed', (d) => d.consumerId === consumer.data.id);
    expect(watcher.socket.frames.indexOf(closedFrame)).toBeGreaterThan(-1);
    const { peerId: newPeerId } = await second.socket.ok<{ peerId: string }>('join', { rtpCapabilities: second.welcome.data.routerRtpCapabilities });
    // Never two peers for one session: the old one was closed before the new one was created.
    // (The log reaches us through a pipe, which may lag behind the socket: wait for the line.)
    const isNewConnected = (l: string) => l.includes(`"peerId":"${newPeerId}"`) && l.includes('"msg":"client connected"');
    await expect.poll(() => server.logs().split('\n').some(isNewConnected), { timeout: 5_000, interval: 20 }).toBe(true);
    const lines = server.logs().split('\n');
    const oldClosed = lines.findIndex((l) => l.includes(`"peerId":"${first.peerId}"`) && l.includes('"msg":"peer closed"'));
    const newConnected = lines.findIndex(isNewConnected);
    expect(oldClosed).toBeGreaterThan(-1);
    expect(newConnected).toBeGreaterThan(oldClosed);
    await Promise.all([second.socket.close(), watcher.socket.close()]);
  });

  it(`refuses a client older than protocol ${MIN_PROTOCOL_VERSION} with ${CloseCode.UNSUPPORTED_PROTOCOL} and no welcome; no parameter counts as 1`, async () => {
    const t = await server.connect(newRoom(), 'old-client');
    for (const version of ['0', '-1', 'x']) {
      const old = await TestSocket.open(`${t.url}?${PROTOCOL_PARAM}=${version}`, t.token);
      const closed = await old.waitClosed();
      expect(closed.code, version).toBe(CloseCode.UNSUPPORTED_PROTOCOL);
      expect(closed.reason).toMatch(/update the client/);
      expect(old.frames).toEqual([]);
    }
    const current = await TestSocket.welcomed(`${t.url}?${PROTOCOL_PARAM}=${PROTOCOL_VERSION}`, t.token);
    expect(current.welcome.data.protocolVersion).toBe(PROTOCOL_VERSION);
    await current.socket.close();
    const unstated = await TestSocket.welcomed(t.url, t.token);
    await unstated.socket.close();
  });

  it('refuses a forged token with 4001 and no welcome', async () => {
    const socket = await TestSocket.open(`${server.httpUrl.replace('http', 'ws')}/v1/ws`, 'forged-token-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect(await socket.waitClosed()).toEqual({ code: CloseCode.UNAUTHORIZED, reason: 'unauthorized' });
    expect(socket.frames).toEqual([]);
    const noToken = new WebSocket(`${server.httpUrl.replace('http', 'ws')}/v1/ws`);
    expect(await new Promise<number>((resolve) => noToken.once('close', (code) => resolve(code)))).toBe(CloseCode.UNAUTHORIZED);
  });
});

describe('a mediasoup worker crash', () => {
  it('drops the sockets of its rooms (1012, not final), respawns, and the same token works again', async () => {
    const roomId = newRoom();
    const alice = await join(roomId, 'alice');
    const pidOf = (logs: string) =>
      logs
        .split('\n')
        .filter((l) => l.includes('"msg":"mediasoup worker started"'))
        .map((l) => (JSON.parse(l) as { pid: number }).pid);
    const [pid] = pidOf(server.logs());
    process.kill(pid!, 'SIGKILL');
    expect((await alice.socket.waitClosed()).code).toBe(1012);
    // Healthy again once the new worker is up; then the client's reconnect lands in a fresh room.
    await expect.poll(() => pidOf(server.logs()).length, { timeout: 10_000, interval: 50 }).toBe(2);
    await expect.poll(async () => (await fetch(`${server.httpUrl}/healthz`)).status, { timeout: 5_000, interval: 50 }).toBe(200);
    const again = await TestSocket.welcomed(alice.url, alice.token);
    expect(await again.socket.request('join', { rtpCapabilities: again.welcome.data.routerRtpCapabilities })).toMatchObject({ ok: true });
    await producing(again.socket);
    await again.socket.close();
  });
});

describe('logs', () => {
  it('log the signaling flow at debug level but never a token', async () => {
    const logs = server.logs();
    expect(tokens.length).toBeGreaterThan(5);
    expect(logs).toMatch(/"method":"produce"/);
    for (const token of tokens) expect(logs).not.toContain(token);
    // Each line is one JSON object.
    for (const line of logs.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });
});
