// A real PostgreSQL 15 for the tests (Debian's binaries, installed by the set-up), on a free
// loopback port with its own data directory: no docker, no mock. initdb and pg_ctl refuse to run
// as root, so they run as the `postgres` user. stop() keeps the data (a "database down" fault that
// start() ends); close() also removes it, unless the caller named its own directory (`npm run
// cluster` keeps ./data/cluster/postgres across runs).
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './server.js';

const BIN = '/usr/lib/postgresql/15/bin';
const DB_NAME = 'media_infra_test';
/** pg_ctl's own bounded wait for the server to accept connections (or to be gone). */
const PG_CTL_WAIT_S = '60';

const run = promisify(execFile);

export interface Postgres {
  /** postgres://postgres@127.0.0.1:PORT/media_infra_test */
  url: string;
  /** Stops the server (fast shutdown: open connections are cut), keeping its data. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data (a no-op while it runs); resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops it and removes its data. Idempotent. */
  close(): Promise<void>;
}

async function uidOf(user: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Runs a PostgreSQL binary as the postgres user (as root) or as ourselves (as anyone else). */
function asPostgres(binary: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const path = join(BIN, binary);
  return process.getuid?.() === 0 ? run('runuser', ['-u', 'postgres', '--', path, ...args]) : run(path, args);
}

export interface PostgresOptions {
  /** Keep the cluster here (created when missing, kept by close()); default: a new temporary one. */
  dir?: string;
}

export async function startPostgres({ dir: keptDir }: PostgresOptions = {}): Promise<Postgres> {
  const dir = keptDir ?? mkdtempSync(join(tmpdir(), 'media-infra-pg-'));
  mkdirSync(dir, { recursive: true });
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  if (process.getuid?.() === 0) {
    const { uid, gid } = await uidOf('postgres');
    chownSync(dir, uid, gid);
  }
  const fresh = !existsSync(join(data, 'PG_VERSION'));
  if (fresh) await asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  let port = 0;
  let running = false;
  let closed = false;

  // -w: pg_ctl itself waits until the server accepts connections (bounded by -t); -l keeps the
  // server's output out of our pipes (a child holding them would keep execFile waiting).
  const start = async () => {
    if (running) return;
    const options = `-p ${port} -k ${dir} -c fsync=off -c listen_addresses=127.0.0.1`;
    try {
      await asPostgres('pg_ctl', ['start', '-D', data, '-l', log, '-w', '-t', PG_CTL_WAIT_S, '-o', options]);
    } catch (err) {
      throw new Error(`PostgreSQL did not start: ${(err as Error).message}\n${existsSync(log) ? readFileSync(log, 'utf8').slice(-2_000) : ''}`);
    }
    running = true;
  };
  // A free port may be taken by another process before PostgreSQL binds it: then a new one.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await start();
      break;
    } catch (err) {
      if (attempt >= 3 || !/Address already in use|could not bind/.test((err as Error).message)) throw err;
    }
  }
  const stop = async () => {
    if (!running) return;
    await asPostgres('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', PG_CTL_WAIT_S]);
    running = false;
  };

  if (fresh) await asPostgres('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', DB_NAME]);
  // pg_isready: the database answers over TCP on loopback, as the server will reach it.
  await asPostgres('pg_isready', ['-h', '127.0.0.1', '-p', String(port), '-d', DB_NAME, '-t', PG_CTL_WAIT_S]);

  return {
    url: `postgres://postgres@127.0.0.1:${port}/${DB_NAME}`,
    stop,
    start,
    async close() {
      if (closed) return;
      closed = true;
      await stop();
      if (keptDir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}
