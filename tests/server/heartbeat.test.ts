// The server's WebSocket heartbeat, in-process with a short interval: a client that stops
// answering pings is cut (and its peer released); one that answers stays.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import WebSocket from 'ws';
import { loadConfig } from '../../src/server/config.js';
import { startMediaServer, type MediaServer } from '../../src/server/server.js';

let server: MediaServer;
const KEY = 'heartbeat-test-key-0123456789';

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'media-infra-hb-'));
  const rtcMin = 5_000 + (process.pid % 500) * 10; // apart from the process tests (10000+) and ephemeral ports
  const config = loadConfig({
    PORT: '0',
    MEDIA_API_KEY: KEY,
    DATABASE_PATH: join(dir, 'db.sqlite'),
    RTC_MIN_PORT: String(rtcMin),
    RTC_MAX_PORT: String(rtcMin + 9),
    NUM_WORKERS: '1',
  });
  server = await startMediaServer(config, { logger: pino({ level: 'silent' }), heartbeatMs: 100 });
});
afterAll(async () => {
  await server?.close();
});

async function openSocket(autoPong: boolean): Promise<WebSocket> {
  const res = await fetch(`${server.url}/v1/api/connect`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ roomId: 'hb', userId: autoPong ? 'alive' : 'silent' }),
  });
  const { url, token } = (await res.json()) as { url: string; token: string };
  const ws = new WebSocket(`${url}?token=${token}`, { autoPong });
  await new Promise((resolve, reject) => ws.once('message', resolve).once('error', reject)); // welcome
  return ws;
}

it('terminates a socket that misses a pong and keeps one that answers', async () => {
  const alive = await openSocket(true);
  const silent = await openSocket(false);
  const silentClosed = new Promise<number>((resolve) => silent.once('close', (code) => resolve(code)));
  let pings = 0;
  const threePings = new Promise<void>((resolve) => alive.on('ping', () => ++pings === 3 && resolve()));
  // Cut without a close frame (1006): it was not answering, so no handshake is attempted.
  expect(await silentClosed).toBe(1006);
  await threePings;
  expect(alive.readyState).toBe(WebSocket.OPEN);
  alive.close();
});
