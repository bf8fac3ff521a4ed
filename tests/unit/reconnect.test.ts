// Staying connected, against the in-memory FakeServer and mediasoup-client's FakeHandler: ICE
// restarts, replacement (4003), device reuse, and what calls made while reconnecting do.
import { afterEach, describe, expect, it } from 'vitest';
import type { Device } from 'mediasoup-client';
import type { Transport } from 'mediasoup-client/types';
import type { ProduceManager } from '../../src/client/index.js';
import { rejection, startClient, until, waitForState } from './support/clientHelpers.js';
import { fakeDevice, fakeTrack, FakeServer, NO_ANSWER } from './support/fakeServer.js';

const clients: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function tracked<T extends ReturnType<typeof startClient>>(started: T): T {
  clients.push(started.client);
  return started;
}

/** A fake Device factory that counts Devices and keeps every local transport created. */
function deviceSpy() {
  const spy = { devices: 0, transports: [] as Transport[], factory: (): Device => device() };
  const device = () => {
    spy.devices++;
    const d = fakeDevice();
    d.observer.on('newtransport', (t: Transport) => spy.transports.push(t));
    return d;
  };
  return spy;
}

/** Drives a local transport's connection state, as the browser's RTCPeerConnection would. */
function setConnectionState(transport: Transport, state: string): void {
  (transport as unknown as { handler: { setConnectionState(s: string): void } }).handler.setConnectionState(state);
}

/** A connected client with a live producer (so the send transport is DTLS-connected). */
async function producing(options: Parameters<typeof startClient>[1] = {}, server = new FakeServer()) {
  const spy = deviceSpy();
  const started = tracked(startClient(server, { deviceFactory: spy.factory, ...options }));
  await waitForState(started.client, 'connected');
  const pm = await started.client.produceTrack(fakeTrack('video'));
  const send = spy.transports.find((t) => t.direction === 'send')!;
  setConnectionState(send, 'connected');
  return { ...started, spy, pm, send };
}

describe('ICE restart', () => {
  it('a transport disconnected too long asks for restartIce; connected again, nothing else happens', async () => {
    const { client, server, pm, send, states } = await producing({ iceDisconnectedTimeout: 20, iceRestartTimeout: 1_000 });
    const producerId = pm.id;
    setConnectionState(send, 'disconnected');
    await until(() => server.methods().includes('restartIce'), 2_000, 'restartIce');
    expect(server.requests.find((r) => r.method === 'restartIce')!.data).toEqual({ transportId: send.id });
    setConnectionState(send, 'connected');
    expect(client.state).toBe('connected');
    expect(states).toEqual(['connecting', 'connected']);
    expect(server.sockets).toHaveLength(1);
    expect(pm.id).toBe(producerId);
  });

  it('failed ICE is restarted at once; restarts are bounded, then the client reconnects from scratch', async () => {
    const { client, server, send, pm, states } = await producing({ iceRestartTimeout: 10, maxIceRestarts: 2 });
    setConnectionState(send, 'failed');
    // Two restarts, each waiting iceRestartTimeout for a connection that never comes, then a full reconnect.
    await waitForState(client, 'reconnecting');
    expect(server.methods().filter((m) => m === 'restartIce')).toHaveLength(2);
    await waitForState(client, 'connected');
    expect(states).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);
    await until(() => pm.state === 'live', 2_000, 'the producer back');
  });

  it('a refused restartIce gives up on the transport at once: a full reconnect', async () => {
    const server = new FakeServer();
    server.handlers.restartIce = () => ({ error: { code: 'NOT_FOUND', message: 'no transport' } });
    const { client, send } = await producing({}, server);
    setConnectionState(send, 'failed');
    await waitForState(client, 'reconnecting');
    await waitForState(client, 'connected');
    expect(server.sockets).toHaveLength(2);
  });
});

describe('replacement (4003)', () => {
  it('a 4003 on the live socket (another connection took the session) ends closed/replaced with a REPLACED error, never retried', async () => {
    const { client, server, states } = tracked(startClient());
    const errors: string[] = [];
    client.on('error', (e) => errors.push(e.code));
    await waitForState(client, 'connected');
    server.current!.serverClose(4003, 'replaced');
    await until(() => client.state === 'closed', 2_000, 'closed');
    expect(client.closeReason).toBe('replaced');
    expect(errors).toEqual(['REPLACED']);
    expect(states).toEqual(['connecting', 'connected', 'closed']);
    expect(server.sockets).toHaveLength(1);
  });

  it('the 4003 of a socket the client itself gave up on (heartbeat lost) never reaches it', async () => {
    const server = new FakeServer();
    let silent = true;
    server.handlers.ping = () => (silent ? NO_ANSWER : { now: 1 });
    const { client } = tracked(startClient(server, { pingInterval: 10, pingTimeout: 10 }));
    await waitForState(client, 'connected');
    const first = server.current!;
    await waitForState(client, 'reconnecting');
    silent = false;
    await waitForState(client, 'connected');
    // The server replaces the stalled socket only now that the new one exists.
    first.serverClose(4003, 'replaced');
    expect(client.state).toBe('connected');
    expect(first.closedByClient).toBeDefined();
  });
});

describe('after a reconnect', () => {
  it('the device is reused when the router capabilities are the same, reloaded when not', async () => {
    const server = new FakeServer();
    // An older server: every connection asks for its transport (a protocol-3 welcome offers them).
    server.offerTransports = false;
    const spy = deviceSpy();
    const { client } = tracked(startClient(server, { deviceFactory: spy.factory }));
    await waitForState(client, 'connected');
    expect(spy.devices).toBe(1);
    server.current!.serverClose(1006);
    await waitForState(client, 'reconnecting');
    await waitForState(client, 'connected');
    expect(spy.devices).toBe(1);
    server.routerRtpCapabilities = { ...server.routerRtpCapabilities, codecs: server.routerRtpCapabilities.codecs!.slice(0, -1) };
    server.current!.serverClose(1012);
    await waitForState(client, 'reconnecting');
    await waitForState(client, 'connected');
    expect(spy.devices).toBe(2);
    // A new (send) transport on every connection.
    expect(server.methods().filter((m) => m === 'createTransport')).toHaveLength(3);
  });

  it('a track that ended during the outage is not produced again; the others are', async () => {
    const { client, server } = tracked(startClient());
    const mic = await client.produceTrack(fakeTrack('audio'));
    const cam = await client.produceTrack(fakeTrack('video'));
    server.current!.serverClose(1006);
    await waitForState(client, 'reconnecting');
    cam.track.stop();
    const produced = server.requests.filter((r) => r.method === 'produce').length;
    await waitForState(client, 'connected');
    await until(() => mic.state === 'live' && cam.state === 'closed', 2_000, 'mic back, camera closed');
    expect(server.requests.filter((r) => r.method === 'produce').map((r) => r.data.kind).slice(produced)).toEqual(['audio']);
  });

  it('a producer that was recording records again, in a new segment, on its new server producer', async () => {
    const server = new FakeServer();
    let n = 0;
    server.handlers.startRecord = () => ({ recordingId: `rec-${++n}` });
    const { client } = tracked(startClient(server));
    const cam = await client.produceTrack(fakeTrack('video'));
    await cam.startRecord();
    const flags: boolean[] = [];
    cam.on('recording', (r) => flags.push(r));
    const first = cam.id;
    server.current!.serverClose(1006);
    await waitForState(client, 'reconnecting');
    // Suspended, not stopped: it goes on by itself once the track is produced again.
    expect(cam.recording).toBe(true);
    await waitForState(client, 'connected');
    await until(() => server.requests.filter((r) => r.method === 'startRecord').length === 2, 2_000, 'recording again');
    await until(() => cam.state === 'live' && cam.recording, 2_000, 'live and recording');
    expect(server.requests.filter((r) => r.method === 'startRecord').map((r) => r.data.producerId)).toEqual([first, cam.id]);
    expect(flags).toEqual([true]);
  });
});

describe('calls made while reconnecting', () => {
  /** A client that lost its socket and cannot get a new one until `back()`. */
  async function outage() {
    const server = new FakeServer();
    const started = tracked(startClient(server, { reconnect: { initialDelay: 1, maxDelay: 5, maxAttempts: 1_000, jitter: 0 } }));
    const pm: ProduceManager = await started.client.produceTrack(fakeTrack('audio'));
    server.mode = { unreachable: true };
    server.current!.serverClose(1006);
    await waitForState(started.client, 'reconnecting');
    return { ...started, pm, back: () => (server.mode = { accept: true }) };
  }

  it('pause / resume / startRecord / stopRecord are intents: kept at once, applied once produced again, the last one wins', async () => {
    const { pm, back, client, server } = await outage();
    server.handlers.startRecord = () => ({ recordingId: 'rec-1', path: '/recordings/rec-1.webm' });
    expect(pm.state).toBe('waiting');
    const outcomes: string[] = [];
    const track = (name: string, call: Promise<unknown>) => call.then(() => outcomes.push(`${name}:ok`), (e: { code: string }) => outcomes.push(`${name}:${e.code}`));
    const settled = [track('pause', pm.pause()), track('resume', pm.resume()), track('pause again', pm.pause()), track('startRecord', pm.startRecord())];
    // Said at once, nothing settled yet: nothing can be applied before the reconnect.
    expect([pm.paused, pm.recording]).toEqual([true, true]);
    await new Promise((r) => setTimeout(r, 20));
    expect(outcomes).toEqual([]);
    const before = server.requests.length;
    back();
    await Promise.all(settled);
    expect(outcomes.sort()).toEqual(['pause again:ok', 'pause:ok', 'resume:ok', 'startRecord:ok']);
    expect([client.state, pm.state, pm.paused, pm.recording]).toEqual(['connected', 'paused', true, true]);
    // The last intent, applied once: produced paused (no pause or resume request), then recorded.
    const sent = server.requests.slice(before).filter((r) => ['produce', 'pauseProducer', 'resumeProducer', 'startRecord'].includes(r.method));
    expect(sent.map((r) => [r.method, r.data.paused ?? r.data.producerId])).toEqual([
      ['produce', true],
      ['startRecord', pm.id],
    ]);
  });

  it('stopRecord() while reconnecting resolves at once with the segment the server finalized; no new segment starts', async () => {
    const server = new FakeServer();
    server.handlers.startRecord = () => ({ recordingId: 'rec-1', path: '/recordings/rec-1.webm' });
    const { client } = tracked(startClient(server, { reconnect: { initialDelay: 1, maxDelay: 5, maxAttempts: 1_000, jitter: 0 } }));
    const pm = await client.produceTrack(fakeTrack('video'));
    await pm.startRecord();
    server.mode = { unreachable: true };
    server.current!.serverClose(1006);
    await waitForState(client, 'reconnecting');
    expect(pm.recording).toBe(true);
    await expect(pm.stopRecord()).resolves.toEqual({ id: 'rec-1', path: '/recordings/rec-1.webm' });
    expect(pm.recording).toBe(false);
    server.mode = { accept: true };
    await waitForState(client, 'connected');
    await until(() => pm.state === 'live');
    expect(server.methods().filter((m) => m === 'startRecord')).toHaveLength(1);
  });

  it('close() is applied at once: resolved, and the track is not produced again', async () => {
    const { pm, back, client, server } = await outage();
    const produced = server.requests.filter((r) => r.method === 'produce').length;
    await pm.close();
    expect(pm.state).toBe('closed');
    back();
    await waitForState(client, 'connected');
    // A track produced after the reconnect is the only produce since: the closed one was not redone.
    await client.produceTrack(fakeTrack('video'));
    expect(server.requests.filter((r) => r.method === 'produce').slice(produced).map((r) => r.data.kind)).toEqual(['video']);
  });

  it('produceTrack is queued: it resolves once reconnected and produced', async () => {
    const { back, client } = await outage();
    const pending = client.produceTrack(fakeTrack('video'));
    back();
    const cam = await pending;
    expect(cam.state).toBe('live');
    expect(client.state).toBe('connected');
  });

  it('a pause in flight when the socket drops is kept: the track is produced paused after the reconnect, and the call resolves then', async () => {
    const server = new FakeServer();
    const { client } = tracked(startClient(server));
    const pm = await client.produceTrack(fakeTrack('audio'));
    server.handlers.pauseProducer = () => NO_ANSWER;
    let outcome = 'pending';
    const pausing = pm.pause().then(() => (outcome = 'ok'), (e: { code: string }) => (outcome = e.code));
    await until(() => server.methods().includes('pauseProducer'));
    server.current!.serverClose(1006);
    await waitForState(client, 'reconnecting');
    expect(outcome).toBe('pending');
    await pausing;
    expect(outcome).toBe('ok');
    expect([client.state, pm.state, pm.paused]).toEqual(['connected', 'paused', true]);
    expect(server.requests.filter((r) => r.method === 'produce').at(-1)!.data.paused).toBe(true);
  });

  it('close() while a pause and a startRecord are in flight: both reject with PRODUCER_CLOSED', async () => {
    const server = new FakeServer();
    const { client } = tracked(startClient(server));
    const cam = await client.produceTrack(fakeTrack('video'));
    const mic = await client.produceTrack(fakeTrack('audio'));
    server.handlers.pauseProducer = () => NO_ANSWER;
    server.handlers.startRecord = () => NO_ANSWER;
    const pausing = cam.pause();
    const starting = mic.startRecord();
    await until(() => server.methods().includes('pauseProducer') && server.methods().includes('startRecord'));
    void cam.close();
    void mic.close();
    expect((await rejection(pausing)).code).toBe('PRODUCER_CLOSED');
    expect((await rejection(starting)).code).toBe('PRODUCER_CLOSED');
  });

  it('a startRecord in flight when the socket drops resolves once it records again, after the reconnect', async () => {
    const server = new FakeServer();
    const { client } = tracked(startClient(server));
    const pm = await client.produceTrack(fakeTrack('video'));
    server.handlers.startRecord = () => NO_ANSWER;
    const starting = pm.startRecord();
    await until(() => server.methods().includes('startRecord'));
    server.handlers.startRecord = () => ({ recordingId: 'rec-2', path: '/recordings/rec-2.webm' });
    server.current!.serverClose(1006);
    await starting;
    expect([client.state, pm.state, pm.recording]).toEqual(['connected', 'live', true]);
    expect(server.requests.filter((r) => r.method === 'startRecord').map((r) => r.data.producerId).at(-1)).toBe(pm.id);
  });

  it('a stopRecord in flight when the socket drops resolves with the recording the server finalized, never an earlier one', async () => {
    const server = new FakeServer();
    let n = 0;
    server.handlers.startRecord = () => ({ recordingId: `rec-${++n}`, path: `/recordings/rec-${n}.webm` });
    server.handlers.stopRecord = () => ({ id: `rec-${n}`, path: `/recordings/rec-${n}.webm` });
    const { client } = tracked(startClient(server));
    const pm = await client.produceTrack(fakeTrack('video'));
    await pm.startRecord();
    await expect(pm.stopRecord()).resolves.toEqual({ id: 'rec-1', path: '/recordings/rec-1.webm' });
    await pm.startRecord();
    server.handlers.stopRecord = () => NO_ANSWER;
    const stopping = pm.stopRecord();
    await until(() => server.methods().filter((m) => m === 'stopRecord').length === 2);
    server.current!.serverClose(1006);
    await expect(stopping).resolves.toEqual({ id: 'rec-2', path: '/recordings/rec-2.webm' });
    // The server finalized that recording with its producer: it is not recorded again.
    await waitForState(client, 'connected');
    await until(() => pm.state === 'live');
    expect(pm.recording).toBe(false);
    expect(server.methods().filter((m) => m === 'startRecord')).toHaveLength(2);
  });
});
