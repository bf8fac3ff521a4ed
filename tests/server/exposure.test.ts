// What the HTTP side exposes, against the real server process: the demo's token route only in
// development and only to this server's own pages, the socket URL from configuration and never
// from a request header, wrong API keys throttled per source, no source maps unless asked for,
// and clients that stop reading cut after STALLED_CONNECTION_MS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { request } from 'node:http';
import { STALLED_CONNECTION_MS } from '../../src/server/server.js';
import { WRONG_KEYS_PER_WINDOW } from '../../src/server/ma/sourceThrottle.js';
import { DEMO_TOKEN_BURST } from '../../src/server/ma/demo.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';

const json = { 'content-type': 'application/json' };
const body = JSON.stringify({ roomId: 'demo', userId: 'me' });

async function errorCode(res: Response): Promise<string> {
  return ((await res.json()) as { error: { code: string } }).error.code;
}

/** A POST with exactly these headers (fetch would set Host and Origin itself). */
function rawPost(port: number, path: string, headers: Record<string, string>, payload: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { ...json, 'content-length': Buffer.byteLength(payload), ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

describe('a server given its own MEDIA_API_KEY', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({ env: { PUBLIC_URL: 'https://media.example.com/sfu' } });
  });
  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
  });

  it('has no demo: no page, no token route', async () => {
    expect((await fetch(`${server.httpUrl}/`)).status).toBe(404);
    const res = await fetch(`${server.httpUrl}/demo/connect`, { method: 'POST', headers: json, body });
    expect(res.status).toBe(404);
    expect(server.logs()).toMatch(/demo off/);
  });

  it('returns the socket URL of PUBLIC_URL whatever Host the request names', async () => {
    const res = await rawPost(server.port, '/v1/api/connect', { authorization: `Bearer ${server.apiKey}`, host: 'evil.example.com' }, body);
    expect(res.status).toBe(200);
    expect((JSON.parse(res.text) as { url: string }).url).toBe('wss://media.example.com/sfu/v1/ws');
  });

  it('serves the client bundle but not its source maps', async () => {
    const bundle = await fetch(`${server.httpUrl}/media-infra-client.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(1000);
    expect((await fetch(`${server.httpUrl}/media-infra-client.js.map`)).status).toBe(404);
  });

  it(`answers 429 to a source that keeps sending wrong keys (${WRONG_KEYS_PER_WINDOW} a minute); the right key still passes`, async () => {
    const wrong = () => fetch(`${server.httpUrl}/v1/api/recordings`, { headers: { authorization: 'Bearer not-the-key-not-the-key' } });
    for (let i = 0; i < WRONG_KEYS_PER_WINDOW; i++) expect((await wrong()).status).toBe(401);
    const blocked = await wrong();
    expect(blocked.status).toBe(429);
    expect(await errorCode(blocked)).toBe('RATE_LIMITED');
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    // A customer's backend behind the same proxy address is not locked out by someone else's guesses.
    const right = await fetch(`${server.httpUrl}/v1/api/recordings`, { headers: { authorization: `Bearer ${server.apiKey}` } });
    expect(right.status).toBe(200);
    expect((await wrong()).status).toBe(429);
    // Another source's wrong key is still a plain 401.
    const other = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', localAddress: '127.0.0.2', port: server.port, path: '/v1/api/recordings', headers: { authorization: 'Bearer not-the-key-not-the-key' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(other).toBe(401);
  });
});

describe('a development server (no MEDIA_API_KEY): the demo', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServerProcess({ env: { MEDIA_API_KEY: '', SOURCE_MAPS: '1' } });
  });
  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
  });

  it('serves the page and issues tokens to its own pages', async () => {
    const page = await fetch(`${server.httpUrl}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect((await fetch(`${server.httpUrl}/favicon.ico`)).status).toBe(200);
    const res = await fetch(`${server.httpUrl}/demo/connect`, { method: 'POST', headers: { ...json, origin: server.httpUrl }, body });
    expect(res.status).toBe(200);
    const issued = (await res.json()) as { url: string; token: string };
    expect(issued.url).toBe(`ws://127.0.0.1:${server.port}/v1/ws`);
    expect(issued.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const bad = await fetch(`${server.httpUrl}/demo/connect`, { method: 'POST', headers: json, body: '{}' });
    expect(bad.status).toBe(400);
  });

  it('refuses a request addressed to another name (DNS rebinding) or from another site', async () => {
    const rebound = await rawPost(server.port, '/demo/connect', { host: `evil.example.com:${server.port}` }, body);
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.text)).toMatchObject({ error: { code: 'FORBIDDEN' } });
    const foreign = await rawPost(server.port, '/demo/connect', { host: `127.0.0.1:${server.port}`, origin: 'http://evil.example.com' }, body);
    expect(foreign.status).toBe(403);
    const own = await rawPost(server.port, '/demo/connect', { host: `localhost:${server.port}`, origin: `http://localhost:${server.port}` }, body);
    expect(own.status).toBe(200);
  });

  it('limits the tokens one source gets', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < DEMO_TOKEN_BURST + 5; i++) {
      statuses.push((await rawPost(server.port, '/demo/connect', { host: `127.0.0.1:${server.port}`, 'x-i': String(i) }, body)).status);
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(4);
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(DEMO_TOKEN_BURST + 1);
  });

  it('never serves files outside demo/', async () => {
    for (const path of ['/demo/..%2Fpackage.json', '/demo/%2e%2e/package.json', '/demo/..%5Cpackage.json', '/demo/%00', '/demo/../package.json']) {
      const res = await fetch(`${server.httpUrl}${path}`);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(await res.text(), path).not.toContain('"name": "media-infra"');
    }
  });

  it(`cuts a client that stops reading after ${STALLED_CONNECTION_MS / 1000} s`, async () => {
    const map = await fetch(`${server.httpUrl}/media-infra-client.js.map`);
    expect(map.status).toBe(200);
    const size = (await map.arrayBuffer()).byteLength;
    // 20 pipelined requests for the largest file: far more than the kernel's socket buffers hold.
    const count = 20;
    const socket = connect(server.port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause();
    socket.write(`GET /media-infra-client.js.map HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`.repeat(count));
    await new Promise((resolve) => setTimeout(resolve, STALLED_CONNECTION_MS + 3_000));
    let received = 0;
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (d: Buffer) => (received += d.length));
    socket.on('error', () => {});
    socket.resume();
    await closed;
    expect(received).toBeLessThan(size * count);
  }, STALLED_CONNECTION_MS + 30_000);
});
