import { afterEach, describe, expect, it, vi } from 'vitest';
import { MediaInfraError } from '../../src/client/MediaInfraError.js';
import { MediaSignalingService, type SignalingHandlers } from '../../src/client/MediaSignalingService.js';
import { PROTOCOL_VERSION, encodeError, encodeNotification, encodeResponse } from '../../src/protocol/messages.js';
import { FakeSocket } from './support/fakeServer.js';

/** A socket whose server side the test drives by hand. */
function setup(url = 'ws://h/v1/ws') {
  const sockets: FakeSocket[] = [];
  const sent: Array<{ id: number; method: string; data: unknown }> = [];
  const warn = vi.fn();
  const fakeServer = { accept: () => {}, receive: (_s: FakeSocket, text: string) => sent.push(JSON.parse(text)) };
  const service = new MediaSignalingService(url, 'tok en/+', {
    requestTimeout: 1_000,
    webSocketFactory: (u) => {
      const socket = new FakeSocket(u, fakeServer as never);
      sockets.push(socket);
      return socket;
    },
    logger: { warn },
  });
  const events: string[] = [];
  const notifications: unknown[] = [];
  const handlers: SignalingHandlers = {
    opened: () => events.push('opened'),
    notified: (n) => notifications.push(n),
    closed: (code, reason) => events.push(`closed ${code} ${reason}`),
  };
  return { service, sockets, sent, warn, events, notifications, handlers };
}

const flush = () => new Promise((r) => setImmediate(r));

afterEach(() => {
  vi.useRealTimers();
});

describe('MediaSignalingService', () => {
  it('puts the encoded token in the URL, with ? or &', () => {
    const a = setup();
    a.service.open(a.handlers);
    expect(a.sockets[0]!.url).toBe(`ws://h/v1/ws?protocol=${PROTOCOL_VERSION}&token=tok%20en%2F%2B`);
    const b = setup('ws://h/v1/ws?room=1');
    b.service.open(b.handlers);
    expect(b.sockets[0]!.url).toBe(`ws://h/v1/ws?room=1&protocol=${PROTOCOL_VERSION}&token=tok%20en%2F%2B`);
  });

  it('sends requests with increasing ids and resolves with the validated response data', async () => {
    const { service, sockets, sent, handlers, events } = setup();
    service.open(handlers);
    sockets[0]!.open();
    expect(events).toEqual(['opened']);
    const join = service.request('join', { rtpCapabilities: {} });
    const ping = service.request('ping', {});
    await flush();
    expect(sent.map((r) => [r.id, r.method])).toEqual([
      [1, 'join'],
      [2, 'ping'],
    ]);
    sockets[0]!.deliver(encodeResponse(2, { now: 42 }));
    sockets[0]!.deliver(encodeResponse(1, { peerId: 'peer-1', extra: 'stripped' }));
    await expect(join).resolves.toEqual({ peerId: 'peer-1' });
    await expect(ping).resolves.toEqual({ now: 42 });
  });

  it('a request without an answer rejects with TIMEOUT', async () => {
    vi.useFakeTimers();
    const { service, sockets, handlers } = setup();
    service.open(handlers);
    sockets[0]!.open();
    const answer = service.request('listen', {}, { timeout: 500 });
    const assertion = expect(answer).rejects.toMatchObject({ name: 'MediaInfraError', code: 'TIMEOUT' });
    await vi.advanceTimersByTimeAsync(499);
    let settled = false;
    void answer.catch(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await assertion;
  });

  it('an error response rejects with the server code', async () => {
    const { service, sockets, handlers } = setup();
    service.open(handlers);
    sockets[0]!.open();
    const answer = service.request('pauseProducer', { producerId: 'p1' });
    sockets[0]!.deliver(encodeError(1, { code: 'NOT_FOUND', message: 'no producer p1' }));
    const error = await answer.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MediaInfraError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', message: 'no producer p1' });
  });

  it('a response whose data does not fit the method rejects with SERVER_ERROR', async () => {
    const { service, sockets, handlers } = setup();
    service.open(handlers);
    sockets[0]!.open();
    const answer = service.request('join', { rtpCapabilities: {} });
    sockets[0]!.deliver(encodeResponse(1, { peerId: 42 }));
    await expect(answer).rejects.toMatchObject({ code: 'SERVER_ERROR' });
  });

  it('logs and ignores malformed messages, and keeps working', async () => {
    const { service, sockets, handlers, warn, notifications } = setup();
    service.open(handlers);
    sockets[0]!.open();
    const answer = service.request('ping', {});
    const s = sockets[0]!;
    s.deliver('not json {');
    s.deliver(JSON.stringify({ type: 'notification', method: 'noSuchThing', data: {} }));
    s.deliver(JSON.stringify({ type: 'notification', method: 'consumerClosed', data: { consumerId: 5 } }));
    s.deliver(JSON.stringify({ type: 'response', id: 'one', ok: true }));
    s.deliver(encodeResponse(99, {}));
    s.onmessage?.({ data: new ArrayBuffer(4) });
    s.deliver('x'.repeat(70_000));
    expect(warn).toHaveBeenCalledTimes(7);
    expect(notifications).toEqual([]);
    s.deliver(encodeNotification('consumerClosed', { consumerId: 'c1', reason: 'gone' }));
    expect(notifications).toEqual([{ type: 'notification', method: 'consumerClosed', data: { consumerId: 'c1', reason: 'gone' } }]);
    s.deliver(encodeResponse(1, { now: 1 }));
    await expect(answer).resolves.toEqual({ now: 1 });
  });

  it('a closed socket rejects pending requests with CONNECTION_CLOSED and reports the code', async () => {
    const { service, sockets, handlers, events } = setup();
    service.open(handlers);
    sockets[0]!.open();
    const answer = service.request('listen', {});
    sockets[0]!.serverClose(4001, 'unauthorized');
    await expect(answer).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(events).toEqual(['opened', 'closed 4001 unauthorized']);
    await expect(service.request('listen', {})).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
  });

  it('closing a connection from the client closes the socket without a closed report', async () => {
    const { service, sockets, handlers, events } = setup();
    const connection = service.open(handlers);
    sockets[0]!.open();
    const answer = service.request('listen', {});
    connection.close();
    await expect(answer).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(sockets[0]!.closedByClient).toEqual({ code: 1000, reason: 'client' });
    expect(events).toEqual(['opened']);
  });

  it('preopen starts the socket at once; the first open takes it over with what it reported meanwhile, in order', async () => {
    const { service, sockets, handlers, events, notifications } = setup();
    service.preopen();
    expect(sockets).toHaveLength(1);
    sockets[0]!.open();
    sockets[0]!.deliver(encodeNotification('welcome', { protocolVersion: 1, routerRtpCapabilities: {}, userId: 'u', roomId: 'r' } as never));
    expect(events).toEqual([]);
    service.open(handlers);
    // Delivered after open() returns, so that its caller has finished setting up.
    expect(events).toEqual([]);
    await flush();
    expect(events).toEqual(['opened']);
    expect(notifications).toMatchObject([{ method: 'welcome' }]);
    expect(sockets).toHaveLength(1);
    expect(service.attempts).toBe(1);
    // Later events go straight through; the next open() is a new socket.
    sockets[0]!.serverClose(1006);
    expect(events).toEqual(['opened', 'closed 1006 ']);
    service.open(handlers);
    expect(sockets).toHaveLength(2);
    expect(service.attempts).toBe(2);
  });

  it('a preopened socket that closes before it is taken over reports the close to the first open', async () => {
    const { service, sockets, handlers, events } = setup();
    service.preopen();
    service.preopen(); // once only
    expect(sockets).toHaveLength(1);
    sockets[0]!.serverClose(4001, 'unauthorized');
    service.open(handlers);
    await flush();
    expect(events).toEqual(['closed 4001 unauthorized']);
  });
});
