// `npm run cluster`: a local cluster to try out: a real PostgreSQL (data kept in ./data/cluster)
// and redis-server, and two nodes on ports 3000 and 3001 with the demo page on both. Ctrl-C stops
// the nodes (each drains: clients closed with 1001, recordings finalized), then the engines.
// The engines are started the way the tests start them (tests/support/postgres.ts, redis.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startPostgres } from '../tests/support/postgres.js';
import { startRedis } from '../tests/support/redis.js';

const ROOT = resolve('.');
const DATA = join(ROOT, 'data', 'cluster');
const NODES = [
  { id: 'node-1', port: 3000, rtc: [40000, 40099] },
  { id: 'node-2', port: 3001, rtc: [40100, 40199] },
] as const;

/** One key for every node, kept so tokens issued before a restart of the cluster stay valid. */
function apiKey(): string {
  const path = join(DATA, 'media-api-key');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const key = randomBytes(32).toString('base64url');
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  return key;
}

function startNode(node: (typeof NODES)[number], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'server', 'main.js')], {
    env: {
      ...process.env,
      ...env,
      NODE_ID: node.id,
      PORT: String(node.port),
      RTC_MIN_PORT: String(node.rtc[0]),
      RTC_MAX_PORT: String(node.rtc[1]),
      RECORDINGS_DIR: join(DATA, `recordings-${node.id}`),
      DATABASE_PATH: join(DATA, `${node.id}.db`),
      DEMO: '1',
      LOG_FORMAT: process.env['LOG_FORMAT'] ?? 'pretty',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = (chunk: Buffer) =>
    chunk
      .toString()
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => `[${node.id}] ${line}\n`)
      .join('');
  child.stdout!.on('data', (chunk: Buffer) => process.stdout.write(prefix(chunk)));
  child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(prefix(chunk)));
  return child;
}

/** Resolves once the node answers /healthz (it is in the cluster then); gives up after a minute. */
async function healthy(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer within a minute`);
}

export async function run(): Promise<void> {
  mkdirSync(DATA, { recursive: true });
  const [pg, redis] = await Promise.all([startPostgres({ dir: join(DATA, 'postgres') }), startRedis()]);
  console.log(`[cluster] PostgreSQL ${pg.url} (data in ${join(DATA, 'postgres')}), Redis ${redis.url}`);
  const env = { DATABASE_URL: pg.url, REDIS_URL: redis.url, MEDIA_API_KEY: apiKey() };
  const children = NODES.map((node) => startNode(node, env));
  await Promise.all(NODES.map((node) => healthy(`http://127.0.0.1:${node.port}/healthz`)));
  console.log(`[cluster] nodes on ${NODES.map((n) => `http://127.0.0.1:${n.port}/`).join(' and ')} (demo page on both); MEDIA_API_KEY in ${join(DATA, 'media-api-key')}; Ctrl-C stops everything`);

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('[cluster] stopping the nodes (they drain), then the engines');
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      ),
    );
    await Promise.all([redis.close(), pg.close()]);
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  // A node that cannot start (a port taken, say) ends the whole cluster with its exit code.
  for (const child of children) child.once('exit', (code) => void stop(code ?? 1));
}
