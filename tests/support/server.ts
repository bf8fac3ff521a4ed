// Starts the built server (`node dist/server/main.js`) as a child process on a free port with a
// temporary database, for the server tests and the e2e tests. The server bundle is rebuilt first
// when any server or protocol source is newer than it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, renameSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newest, serverBuildOptions } from '../../scripts/buildConfig.mjs';
import type { RecordingInfo } from '../../src/server/mr/recordingStore.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVER_JS = join(root, 'dist', 'server', 'main.js');
export const TEST_API_KEY = 'test-key-0123456789abcdef0123456789';

export interface ConnectResult {
  url: string;
  token: string;
  expiresAt: string;
}

/** A row of GET /v1/api/recordings. */
export type RecordingListing = RecordingInfo;

export interface ServerProcess {
  httpUrl: string;
  port: number;
  apiKey: string;
  databasePath: string;
  recordingsDir: string;
  /** The mediasoup worker's WebRTC port (UDP + TCP; NUM_WORKERS is 1 unless `env` says otherwise). */
  rtcPort: number;
  /** Issues a token the way a customer's server does (POST /v1/api/connect with the key). */
  connect(roomId: string, userId: string): Promise<ConnectResult>;
  /** GET /v1/api/recordings?roomId= with the key. */
  recordings(roomId: string): Promise<RecordingListing[]>;
  /** Everything the process wrote to stdout and stderr so far. */
  logs(): string;
  /** Sends the signal and resolves with the exit code (null if killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** SIGKILL, no clean-up: for crash tests. */
  kill9(): Promise<void>;
  readonly process: ChildProcess;
}

export interface StartServerOptions {
  /** Extra environment; a value of '' removes the variable (e.g. MEDIA_API_KEY: '' for the dev key). */
  env?: Record<string, string>;
  /** Reuse a database (restart tests); default: a new temporary one. */
  databasePath?: string;
  /** Listen on this port (a restart on the same port, as a real deployment does); default: a free one. */
  port?: number;
}

let built: Promise<void> | undefined;

/** esbuild's server bundle only (the client bundle has its own build): written aside, then renamed, so parallel test files never see half a file. */
export function buildServer(): Promise<void> {
  built ??= (async () => {
    const sources = [join(root, 'src', 'server'), join(root, 'src', 'protocol')];
    if (existsSync(SERVER_JS) && statSync(SERVER_JS).mtimeMs > Math.max(...sources.map(newest))) return;
    const { build } = await import('esbuild');
    const tmp = `${SERVER_JS}.${process.pid}.tmp`;
    await build(serverBuildOptions(tmp));
    renameSync(tmp, SERVER_JS);
    renameSync(`${tmp}.map`, `${SERVER_JS}.map`);
  })();
  return built;
}

/**
 * The first of the 10 WebRTC ports of a test server (or an in-process worker pool) whose HTTP port,
 * or any free port, is `port`: below the kernel's ephemeral range, apart for servers running side by
 * side (parallel test files). Two ports equal modulo 2 000 share a range: the caller starts again on
 * new ports when its worker finds the range taken.
 */
export function rtcMinPortFor(port: number): number {
  return 10_000 + (port % 2_000) * 10;
}

/** A TCP port nobody listens on right now (another process may take it before it is bound). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitForHealth(httpUrl: string, child: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited (${child.exitCode ?? child.signalCode}) before it was healthy:\n${logs()}`);
    try {
      const res = await fetch(`${httpUrl}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server not healthy after 30 s:\n${logs()}`);
}

export async function startServerProcess(opts: StartServerOptions = {}): Promise<ServerProcess> {
  // Ports are picked free but bound by another process a moment later: when another test's server
  // (or a browser) took one meanwhile, start again on new ports. A fixed port is never changed.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts);
    } catch (err) {
      if (opts.port !== undefined || attempt >= 3 || !/address already in use|EADDRINUSE/.test((err as Error).message)) throw err;
    }
  }
}

async function startOnce(opts: StartServerOptions): Promise<ServerProcess> {
  await buildServer();
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'media-infra-test-'));
  const databasePath = opts.databasePath ?? join(dir, 'media-infra.db');
  const recordingsDir = opts.env?.['RECORDINGS_DIR'] ?? join(dir, 'recordings');
  const rtcMin = rtcMinPortFor(port);
  const env: Record<string, string | undefined> = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    MEDIA_API_KEY: TEST_API_KEY,
    DATABASE_PATH: databasePath,
    RECORDINGS_DIR: recordingsDir,
    RTC_MIN_PORT: String(rtcMin),
    RTC_MAX_PORT: String(rtcMin + 9),
    NUM_WORKERS: '1',
    LOG_LEVEL: 'debug',
    ...opts.env,
  };
  for (const [k, v] of Object.entries(env)) if (v === '') delete env[k];
  const apiKey = env['MEDIA_API_KEY'] ?? '';

  const child = spawn(process.execPath, [SERVER_JS], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logs = () => output;
  const httpUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(httpUrl, child, logs);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }

  return {
    httpUrl,
    port,
    apiKey,
    databasePath,
    recordingsDir,
    rtcPort: Number(env['RTC_MIN_PORT']),
    process: child,
    logs,
    async connect(roomId, userId) {
      const res = await fetch(`${httpUrl}/v1/api/connect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ roomId, userId }),
      });
      if (!res.ok) throw new Error(`connect failed: ${res.status} ${await res.text()}`);
      return (await res.json()) as ConnectResult;
    },
    async recordings(roomId) {
      const res = await fetch(`${httpUrl}/v1/api/recordings?roomId=${encodeURIComponent(roomId)}`, { headers: { authorization: `Bearer ${apiKey}` } });
      if (!res.ok) throw new Error(`recordings failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { recordings: RecordingListing[] }).recordings;
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
