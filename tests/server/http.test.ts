// MA's HTTP API against the real server process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { connect } from 'node:net';
import { IDLE_CONNECTION_MS } from '../../src/server/server.js';
import type { ServerStats } from '../../src/server/ma/stats.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';
import { rtpParameters, TestSocket } from './wsClient.js';

let server: ServerProcess;
const TTL = 3600;

beforeAll(async () => {
  server = await startServerProcess({ env: { SESSION_TTL_SECONDS: String(TTL) } });
});
afterAll(async () => {
  expect(await server?.stop()).toBe(0);
});

function post(body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.httpUrl}/v1/api/connect`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json', ...headers },
    body,
  });
}

async function expectError(res: Response, status: number, code: string): Promise<string> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  expect(body.error.code).toBe(code);
  expect(body.error.message).not.toMatch(/\n\s+at |\.ts:\d|\.js:\d/);
  return body.error.message;
}

describe('POST /v1/api/connect', () => {
  it('issues {url, token, expiresAt} for a valid key and body', async () => {
    const before = Date.now();
    const res = await post(JSON.stringify({ roomId: 'class-1A', userId: 'user:42@school.example' }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { url: string; token: string; expiresAt: string };
    expect(Object.keys(body).sort()).toEqual(['expiresAt', 'token', 'url']);
    expect(body.url).toBe(`ws://127.0.0.1:${server.port}/v1/ws`);
    expect(body.token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes, base64url
    expect(body.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const expires = Date.parse(body.expiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + TTL * 1000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + TTL * 1000 + 1000);
    const again = (await (await post(JSON.stringify({ roomId: 'class-1A', userId: 'user:42@school.example' }))).json()) as { token: string };
    expect(again.token).not.toBe(body.token);
  });

  it('accepts a charset parameter on the content type', async () => {
    expect((await post(JSON.stringify({ roomId: 'r', userId: 'u' }), { 'content-type': 'application/json; charset=utf-8' })).status).toBe(200);
  });

  it.each([
    ['not JSON', '{"roomId":'],
    ['an array', '[]'],
    ['null', 'null'],
    ['missing userId', JSON.stringify({ roomId: 'r' })],
    ['missing roomId', JSON.stringify({ userId: 'u' })],
    ['a number roomId', JSON.stringify({ roomId: 5, userId: 'u' })],
    ['an empty userId', JSON.stringify({ roomId: 'r', userId: '' })],
    ['a 129-character roomId', JSON.stringify({ roomId: 'r'.repeat(129), userId: 'u' })],
    ['a space in userId', JSON.stringify({ roomId: 'r', userId: 'a b' })],
    ['a slash in roomId', JSON.stringify({ roomId: '../x', userId: 'u' })],
  ])('400 for %s', async (_name, body) => {
    await expectError(await post(body), 400, 'BAD_REQUEST');
  });

  it('accepts a 128-character id', async () => {
    expect((await post(JSON.stringify({ roomId: 'r'.repeat(128), userId: 'u' }))).status).toBe(200);
  });

  it.each([
    ['no Authorization header', { authorization: '' }],
    ['a wrong key', { authorization: 'Bearer wrong-key-wrong-key-wrong-key' }],
    ['the key with another scheme', { authorization: `Basic ${'x'}` }],
    ['the key without a scheme', { authorization: 'KEY' }],
    ['the key plus a suffix', { authorization: 'KEYx' }],
  ])('401 for %s', async (_name, headers) => {
    const authorization = headers.authorization.replace('KEY', server.apiKey).replace(/^Basic x$/, `Basic ${server.apiKey}`);
    const h: Record<string, string> = authorization ? { authorization } : {};
    const res = await fetch(`${server.httpUrl}/v1/api/connect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...h },
      body: JSON.stringify({ roomId: 'r', userId: 'u' }),
    });
    await expectError(res, 401, 'UNAUTHORIZED');
  });

  it('401 comes before anything about the body', async () => {
    const res = await fetch(`${server.httpUrl}/v1/api/connect`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    await expectError(res, 401, 'UNAUTHORIZED');
  });

  it('415 for a body that is not declared JSON', async () => {
    await expectError(await post(JSON.stringify({ roomId: 'r', userId: 'u' }), { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('413 for a body over 16 KiB, declared or streamed', async () => {
    const big = JSON.stringify({ roomId: 'r', userId: 'u', pad: 'x'.repeat(17 * 1024) });
    await expectError(await post(big), 413, 'TOO_LARGE');
    // Chunked, so no Content-Length announces the size: counted while reading.
    const status = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${server.httpUrl}/v1/api/connect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      for (let i = 0; i < 17; i++) req.write('x'.repeat(1024));
      req.end();
    });
    expect(status.status).toBe(413);
    expect(JSON.parse(status.body)).toMatchObject({ error: { code: 'TOO_LARGE' } });
  });

  it('405 for GET', async () => {
    await expectError(await fetch(`${server.httpUrl}/v1/api/connect`), 405, 'METHOD_NOT_ALLOWED');
  });
});

describe('other routes', () => {
  it('GET /healthz is 200 {ok:true}', async () => {
    const res = await fetch(`${server.httpUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('GET /v1/api/recordings needs the key and lists recordings', async () => {
    await expectError(await fetch(`${server.httpUrl}/v1/api/recordings?roomId=r`), 401, 'UNAUTHORIZED');
    const res = await fetch(`${server.httpUrl}/v1/api/recordings?roomId=r`, { headers: { authorization: `Bearer ${server.apiKey}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ recordings: [] });
    const bad = await fetch(`${server.httpUrl}/v1/api/recordings?roomId=a%20b`, { headers: { authorization: `Bearer ${server.apiKey}` } });
    await expectError(bad, 400, 'BAD_REQUEST');
  });

  it('GET /v1/api/stats needs the key and counts what the server holds, from the workers too', async () => {
    await expectError(await fetch(`${server.httpUrl}/v1/api/stats`), 401, 'UNAUTHORIZED');
    const stats = async (query = ''): Promise<ServerStats> => {
      const res = await fetch(`${server.httpUrl}/v1/api/stats${query}`, { headers: { authorization: `Bearer ${server.apiKey}` } });
      expect(res.status).toBe(200);
      return (await res.json()) as ServerStats;
    };
    const idle = await stats();
    expect(idle).toMatchObject({ rooms: 0, peers: 0, transports: 0, producers: 0, consumers: 0 });
    expect(idle.process.heapUsedBytes).toBeGreaterThan(0);

    const t = await server.connect('stats-room', 'u1');
    const { socket, welcome } = await TestSocket.welcomed(t.url, t.token);
    await socket.ok('join', { rtpCapabilities: welcome.data.routerRtpCapabilities });
    const transport = await socket.ok<{ id: string }>('createTransport', { direction: 'send' });
    await socket.ok('produce', { transportId: transport.id, kind: 'video', rtpParameters: rtpParameters('video') });
    const busy = await stats();
    expect(busy).toMatchObject({ rooms: 1, peers: 1, transports: 1, producers: 1, consumers: 0 });
    // A single node is a cluster of one: its row, at the address it really listens on, counting its peer.
    const { nodes } = busy as ServerStats & { nodes: Array<{ url: string; peers: number; draining: boolean }> };
    expect(nodes).toEqual([expect.objectContaining({ url: server.httpUrl, peers: 1, draining: false })]);
    // Workers are listed once a room was placed on them.
    expect(busy.workers.length).toBeGreaterThan(0);
    expect(busy.workers.reduce((n, w) => n + w.routers, 0)).toBe(1);

    await socket.ok('leave');
    await socket.waitClosed();
    // Released asynchronously after the socket closes; `?gc=1` is harmless without --expose-gc.
    await expect.poll(() => stats('?gc=1')).toMatchObject({ rooms: 0, peers: 0, transports: 0, producers: 0, consumers: 0 });
    expect((await stats()).workers.reduce((n, w) => n + w.routers, 0)).toBe(0);
  });

  it('a connection that never sends a request is answered 408 and closed after IDLE_CONNECTION_MS', async () => {
    const socket = connect(server.port, '127.0.0.1');
    const opened = Date.now();
    let answer = '';
    socket.on('data', (d) => (answer += d.toString()));
    await new Promise((resolve) => socket.once('close', resolve));
    const after = Date.now() - opened;
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(after).toBeGreaterThanOrEqual(IDLE_CONNECTION_MS - 100);
    expect(after).toBeLessThan(IDLE_CONNECTION_MS + 5_000);
  }, IDLE_CONNECTION_MS + 20_000);

  it('unknown paths are a JSON 404', async () => {
    await expectError(await fetch(`${server.httpUrl}/v1/api/nope`), 404, 'NOT_FOUND');
  });
});
