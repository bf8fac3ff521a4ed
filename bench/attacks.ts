// The attacks of issue 12, rerun against one or more server trees (bounded, loopback only): each
// tree's built server (`<dir>/dist/server/main.js`) is started per attack with a temporary
// database and its own ports, attacked, and stopped. One line per attack and tree, then a
// before → after table when two trees are given.
//
//   npx esbuild bench/attacks.ts --bundle --platform=node --format=esm --packages=external --outfile=dist/bench/attacks.mjs
//   node dist/bench/attacks.mjs /work/before /work/main        (ATTACKS=1,3 for some of them)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { TestSocket } from '../tests/server/wsClient.js';
import { freePort } from '../tests/support/server.js';

const API_KEY = 'attack-bench-key-0123456789abcdef';
let refusedFrames = 0;
type Json = Record<string, any>;

interface Server {
  dir: string;
  port: number;
  httpUrl: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  logs: () => string;
  stop(): Promise<void>;
}

/** The tree's built server on free ports (RTC ports below the ephemeral range), production-like unless `env` says otherwise. */
async function startServer(dir: string, env: Record<string, string> = {}): Promise<Server> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const data = mkdtempSync(join(tmpdir(), 'media-infra-attacks-'));
    const rtcMin = 5_000 + (port % 400) * 10;
    const child = spawn(process.execPath, [join(dir, 'dist', 'server', 'main.js')], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env['PATH'],
        PORT: String(port),
        HOST: '127.0.0.1',
        MEDIA_API_KEY: API_KEY,
        DATABASE_PATH: join(data, 'media-infra.db'),
        RECORDINGS_DIR: join(data, 'recordings'),
        RTC_MIN_PORT: String(rtcMin),
        RTC_MAX_PORT: String(rtcMin + 9),
        NUM_WORKERS: '1',
        LOG_LEVEL: 'warn',
        ...env,
      },
    });
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const httpUrl = `http://127.0.0.1:${port}`;
    const server: Server = {
      dir,
      port,
      httpUrl,
      child,
      exited,
      logs: () => output,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
        rmSync(data, { recursive: true, force: true });
      },
    };
    const deadline = Date.now() + 30_000;
    let healthy = false;
    while (!healthy && Date.now() < deadline && child.exitCode === null) {
      healthy = await fetch(`${httpUrl}/healthz`).then((r) => r.ok, () => false);
      if (!healthy) await new Promise((r) => setTimeout(r, 100));
    }
    if (healthy) return server;
    await server.stop();
    if (attempt >= 3 || !/EADDRINUSE|address already in use/.test(output)) throw new Error(`server in ${dir} did not start:\n${output.slice(-2000)}`);
  }
}

const alive = (s: Server) => s.child.exitCode === null && s.child.signalCode === null;

/** An HTTP request with headers fetch() will not set (Host, Origin). */
function raw(server: Server, method: string, path: string, headers: Record<string, string>, body = ''): Promise<{ status: number; text: string }> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port: server.port, method, path, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', fail);
    req.end(body);
  });
}

async function token(server: Server, roomId: string, userId: string): Promise<{ url: string; token: string }> {
  const res = await fetch(`${server.httpUrl}/v1/api/connect`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ roomId, userId }),
  });
  if (!res.ok) throw new Error(`connect: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { url: string; token: string };
  // The advertised URL may name another host (attack 5): the socket is always the one we started.
  return { url: `ws://127.0.0.1:${server.port}/v1/ws`, token: body.token };
}

async function peer(server: Server, roomId: string, userId: string): Promise<{ socket: TestSocket; caps: Json }> {
  const t = await token(server, roomId, userId);
  const { socket, welcome } = await TestSocket.welcomed(t.url, t.token);
  // A frame the client would refuse (e.g. a newConsumer too deep or too big) is counted, not thrown.
  socket.onInvalidFrame = () => (refusedFrames += 1);
  const caps = welcome.data.routerRtpCapabilities as Json;
  await socket.ok('join', { rtpCapabilities: caps });
  return { socket, caps };
}

function vp8(mid: string, ssrc: number): Json {
  return {
    mid,
    codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, parameters: {}, rtcpFeedback: [] }],
    headerExtensions: [{ uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 4 }],
    encodings: [{ ssrc }],
    rtcp: { cname: 'attack', reducedSize: true },
  };
}

/** A request whose data is JSON text (for 1e999): 'ok' or the error code, 'no answer' or 'socket closed', and the data. */
async function sendFull(socket: TestSocket, method: string, dataText: string): Promise<{ out: string; data?: Json }> {
  const closed = socket.closed.then(() => ({ out: 'socket closed' }));
  const answer = socket.requestText(method, dataText, 5_000).then(
    (res) => (res.ok ? { out: 'ok', data: res.data as Json } : { out: res.error.code }),
    () => ({ out: 'no answer' }),
  );
  return Promise.race([answer, closed]);
}
const send = async (socket: TestSocket, method: string, dataText: string) => (await sendFull(socket, method, dataText)).out;

const deep = (levels: number) => `${'{"a":'.repeat(levels)}0${'}'.repeat(levels)}`;

// --- the attacks --------------------------------------------------------------------------------

type Attack = { name: string; run: (dir: string) => Promise<string> };

const attacks: Attack[] = [
  {
    name: '1 deep appData (5,000 levels) produce: a listener later, then one listening',
    async run(dir) {
      refusedFrames = 0;
      const server = await startServer(dir);
      try {
        const a = await peer(server, 'deep', 'producer');
        const send1 = await a.socket.ok<{ id: string }>('createTransport', { direction: 'send' });
        const base = (mid: string, ssrc: number) => encodeProduce(send1.id, vp8(mid, ssrc));
        const first = await send(a.socket, 'produce', base('0', 1111).replace('"appData":{}', `"appData":${deep(5_000)}`));
        // A listener that comes after it.
        const late = await peer(server, 'deep', 'late');
        await late.socket.ok('createTransport', { direction: 'recv' });
        const lateListen = await send(late.socket, 'listen', '{}');
        // A second one, produced while that listener listens.
        const second = await send(a.socket, 'produce', base('1', 2222).replace('"appData":{}', `"appData":${deep(5_000)}`));
        await Promise.race([server.exited, new Promise((r) => setTimeout(r, 2_000))]);
        const up = alive(server) && (await fetch(`${server.httpUrl}/healthz`).then((r) => r.status, () => 0)) === 200;
        return `produce ${first}; later listen ${lateListen}; produce while listening ${second}; server ${up ? 'alive' : `DEAD (exit ${server.child.exitCode})`}${refusedFrames ? `; ${refusedFrames} frames the client refuses` : ''}`;
      } finally {
        await server.stop();
      }
    },
  },
  {
    name: '2a /demo/connect, MEDIA_API_KEY set, no DEMO: 200 requests',
    async run(dir) {
      const server = await startServer(dir);
      try {
        return await mint(server, {});
      } finally {
        await server.stop();
      }
    },
  },
  {
    name: '2b /demo/connect with DEMO=1, Host and Origin of evil.example.com: 200 requests',
    async run(dir) {
      const server = await startServer(dir, { DEMO: '1' });
      try {
        return await mint(server, { host: 'evil.example.com', origin: 'http://evil.example.com' });
      } finally {
        await server.stop();
      }
    },
  },
  {
    name: '2c /demo/connect with DEMO=1, own Host and Origin: 200 requests',
    async run(dir) {
      const server = await startServer(dir, { DEMO: '1' });
      try {
        const own = `127.0.0.1:${server.port}`;
        return await mint(server, { host: own, origin: `http://${own}` });
      } finally {
        await server.stop();
      }
    },
  },
  {
    name: '3a 200 slow readers x 5 pipelined GETs of the biggest static file served',
    run: (dir) => slowReaders(dir, undefined),
  },
  {
    name: '3b the same with /media-infra-client.iife.js (served by both trees)',
    run: (dir) => slowReaders(dir, '/media-infra-client.iife.js'),
  },
  {
    name: '4 rtpParameters extremes (11 from the issue): accepted / refused, listener consumed',
    async run(dir) {
      const server = await startServer(dir);
      try {
        const a = await peer(server, 'rtp', 'producer');
        const b = await peer(server, 'rtp', 'listener');
        await b.socket.ok('createTransport', { direction: 'recv' });
        await b.socket.ok('listen');
        const t = await a.socket.ok<{ id: string }>('createTransport', { direction: 'send' });
        const long = 'r'.repeat(60_000);
        // [label, mutation of valid params (a unique mid and ssrc each), raw JSON replacements]
        const cases: [string, (p: Json) => void, [string, string]?][] = [
          ['payloadType Infinity', (p) => (p['codecs'][0].payloadType = 'PT'), ['"PT"', '1e999']],
          ['payloadType -1', (p) => (p['codecs'][0].payloadType = -1)],
          ['payloadType 3.5', (p) => (p['codecs'][0].payloadType = 3.5)],
          ['payloadType 300', (p) => (p['codecs'][0].payloadType = 300)],
          ['ssrc -1', (p) => (p['encodings'][0].ssrc = -1)],
          ['ssrc 2^60', (p) => (p['encodings'][0].ssrc = 2 ** 60)],
          ['60 KB rid', (p) => (p['encodings'] = [{ rid: long }])],
          ['60 KB mid', (p) => (p['mid'] = long)],
          ['60 KB cname', (p) => (p['rtcp'].cname = long)],
          ['header extension id -3', (p) => (p['headerExtensions'][0].id = -3)],
          ['header extension id 3.5', (p) => (p['headerExtensions'][0].id = 3.5)],
        ];
        const accepted: string[] = [];
        let consumed = 0;
        for (const [i, [label, mutate, replace]] of cases.entries()) {
          const params = vp8(`m${i}`, 100_000 + i);
          mutate(params);
          let text = encodeProduce(t.id, params);
          if (replace) text = text.replace(replace[0], replace[1]);
          const { out, data } = await sendFull(a.socket, 'produce', text);
          if (out === 'ok') {
            accepted.push(label);
            const told = (f: { type: string; method?: string; data?: unknown }) => f.type === 'notification' && f.method === 'newConsumer' && (f.data as Json)['producerId'] === data!['producerId'];
            consumed += await b.socket.waitFor(told, 'newConsumer', 3_000).then(() => 1, () => 0);
          }
          if (out === 'socket closed' || !alive(server)) return `${label}: ${out}, server ${alive(server) ? 'alive' : 'DEAD'}`;
        }
        return `accepted ${accepted.length}/${cases.length}${accepted.length ? ` (${accepted.join(', ')})` : ''}; listener consumed ${consumed}`;
      } finally {
        await server.stop();
      }
    },
  },
  {
    name: '5 POST /v1/api/connect with Host: evil.example.com: the url returned',
    async run(dir) {
      const server = await startServer(dir);
      try {
        const res = await raw(server, 'POST', '/v1/api/connect', { host: 'evil.example.com', authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' }, JSON.stringify({ roomId: 'r', userId: 'u' }));
        return res.status === 200 ? `url ${(JSON.parse(res.text) as { url: string }).url}` : `${res.status} ${res.text.slice(0, 100)}`;
      } finally {
        await server.stop();
      }
    },
  },
  {
    name: '6 500 wrong-key requests from one source, then the right key',
    async run(dir) {
      const server = await startServer(dir);
      try {
        const statuses = new Map<number, number>();
        for (let i = 0; i < 500; i++) {
          const res = await fetch(`${server.httpUrl}/v1/api/connect`, {
            method: 'POST',
            headers: { authorization: `Bearer wrong-key-${i}`, 'content-type': 'application/json' },
            body: JSON.stringify({ roomId: 'r', userId: 'u' }),
          });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
        const right = await fetch(`${server.httpUrl}/v1/api/connect`, {
          method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ roomId: 'r', userId: 'u' }),
        });
        return `${[...statuses].map(([s, n]) => `${n}× ${s}`).join(', ')}; then the right key: ${right.status}`;
      } finally {
        await server.stop();
      }
    },
  },
  {
    name: '7 sessions issued: 3,000 connects with the right key, MAX_SESSIONS=1000 (a tree without the cap ignores it)',
    async run(dir) {
      const server = await startServer(dir, { MAX_SESSIONS: '1000' });
      try {
        const statuses = new Map<number, number>();
        for (let i = 0; i < 3_000; i++) {
          const res = await fetch(`${server.httpUrl}/v1/api/connect`, {
            method: 'POST',
            headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
            body: JSON.stringify({ roomId: 'r', userId: `u${i}` }),
          });
          await res.arrayBuffer();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
        return [...statuses].map(([s, n]) => `${n}× ${s}`).join(', ');
      } finally {
        await server.stop();
      }
    },
  },
];

/** 200 sockets that each pipeline 5 GETs of one file and never read: the server's memory, and whether it cuts them. */
async function slowReaders(dir: string, path: string | undefined): Promise<string> {
  const server = await startServer(dir);
  const sockets: Socket[] = [];
  try {
    const file = path ? { path, bytes: (await (await fetch(`${server.httpUrl}${path}`)).arrayBuffer()).byteLength } : await biggestStatic(server);
    if (!file) return 'no static file served';
    const rss0 = rssMb(server);
    const started = Date.now();
    const req = `GET ${file.path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`.repeat(5);
    for (let i = 0; i < 200; i++) {
      const s = connect(server.port, '127.0.0.1');
      s.on('error', () => undefined);
      s.pause(); // never read
      s.write(req);
      sockets.push(s);
    }
    // Sampled for 25 s: long enough for a stated cut-off of 20 s to have acted.
    let peak = rss0;
    while (Date.now() - started < 25_000) {
      await new Promise((r) => setTimeout(r, 250));
      peak = Math.max(peak, rssMb(server));
    }
    const open = established(server.port);
    for (const s of sockets) s.destroy();
    await new Promise((r) => setTimeout(r, 3_000));
    return `${file.path} (${Math.round(file.bytes / 1024)} KB): RSS ${rss0} → peak ${peak} → ${rssMb(server)} MB 3 s after close; ${open}/200 still connected after 25 s`;
  } finally {
    for (const s of sockets) s.destroy();
    await server.stop();
  }
}

function encodeProduce(transportId: string, rtpParameters: Json): string {
  return JSON.stringify({ transportId, kind: 'video', rtpParameters, appData: {} });
}

/** Tokens minted by 200 requests to /demo/connect with these Host/Origin headers (none: fetch's own). */
async function mint(server: Server, headers: { host?: string; origin?: string }): Promise<string> {
  const statuses = new Map<number, number>();
  let tokens = 0;
  const body = JSON.stringify({ roomId: 'demo', userId: 'alice' });
  const started = performance.now();
  for (let i = 0; i < 200; i++) {
    const res = await raw(server, 'POST', '/demo/connect', { host: headers.host ?? `127.0.0.1:${server.port}`, ...(headers.origin && { origin: headers.origin }), 'content-type': 'application/json' }, body);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (res.status === 200 && /"token"/.test(res.text)) tokens += 1;
  }
  const ms = Math.round(performance.now() - started);
  return `${tokens} tokens minted in ${ms} ms (${[...statuses].map(([s, n]) => `${n}× ${s}`).join(', ')})`;
}

async function biggestStatic(server: Server): Promise<{ path: string; bytes: number } | undefined> {
  const candidates = ['/media-infra-client.js.map', '/media-infra-client.iife.js.map', '/media-infra-inspector.js.map', '/media-infra-client.js', '/media-infra-client.iife.js', '/media-infra-inspector.js'];
  let best: { path: string; bytes: number } | undefined;
  for (const path of candidates) {
    const res = await fetch(`${server.httpUrl}${path}`);
    const bytes = (await res.arrayBuffer()).byteLength;
    if (res.ok && (!best || bytes > best.bytes)) best = { path, bytes };
  }
  return best;
}

function rssMb(server: Server): number {
  try {
    const status = readFileSync(`/proc/${server.child.pid}/status`, 'utf8');
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

/** Server-side TCP connections on `port` still established (from /proc/net/tcp). */
function established(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(`:${hex}`) && cols[3] === '01') n += 1;
    }
  }
  return n;
}

async function main(): Promise<void> {
  const dirs = process.argv.slice(2).map((d) => resolve(d.replace(/\/dist\/server\/main\.js$/, '')));
  if (dirs.length === 0) throw new Error('usage: node dist/bench/attacks.mjs <server dir> [<server dir> …]');
  const only = process.env['ATTACKS']?.split(',');
  const chosen = attacks.filter((a) => !only || only.includes(a.name.split(' ')[0]!));
  const table = new Map<string, string[]>();
  for (const dir of dirs) {
    console.log(`\n== ${dir}`);
    for (const attack of chosen) {
      const started = Date.now();
      const outcome = await attack.run(dir).catch((err: unknown) => `failed: ${(err as Error).message.split('\n')[0]}`);
      console.log(`${attack.name}: ${outcome} [${Math.round((Date.now() - started) / 1000)} s]`);
      table.set(attack.name, [...(table.get(attack.name) ?? []), outcome]);
    }
  }
  if (dirs.length > 1) {
    console.log(`\n== ${dirs.join(' → ')}`);
    for (const [name, outcomes] of table) console.log(`${name}\n    ${outcomes.join('\n  → ')}`);
  }
}

await main();
