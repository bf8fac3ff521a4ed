// The persistent stores: the same tests against the SQLite file and a real PostgreSQL 15; then
// PostgreSQL's own cases (migrations raced by several nodes, the database going down and coming
// back), and a real server on DATABASE_URL while its database is down.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { CloseCode } from '../../src/protocol/codes.js';
import { EXPIRED_GRACE_MS, hashToken, SessionLimitError } from '../../src/server/ma/sessions.js';
import { INTERRUPTED_REASON, NODE_LOST_REASON, type RecordingStart } from '../../src/server/mr/recordingStore.js';
import { StoreUnavailableError } from '../../src/server/store/errors.js';
import { CONNECT_TIMEOUT_MS, MIGRATION_LOCK, numberTypes, PG_SCHEMA_VERSION } from '../../src/server/store/postgresDatabase.js';
import { RetryingWrites } from '../../src/server/store/retryingWrites.js';
import { openStores, type Stores } from '../../src/server/store/stores.js';
import { startPostgres, type Postgres } from '../support/postgres.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';
import { MediaPeer } from '../recording/mediaPeer.js';
import { TestSocket } from './wsClient.js';

const silent = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'media-infra-stores-'));
const NOW = 1_000_000_000_000;
const TTL_S = 60;
const CLUSTER = new URL('redis://127.0.0.1:1');

let postgres: Postgres;
beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(async () => {
  await postgres?.close();
});

let databases = 0;
/** A new, empty PostgreSQL database on the test server (each test starts from nothing). */
async function freshPgUrl(): Promise<URL> {
  const name = `stores_${++databases}`;
  const admin = new pg.Client(postgres.url);
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(postgres.url);
  url.pathname = `/${name}`;
  return url;
}

/** One database, as each engine holds it: nodes open stores on it, and a test can read its raw rows. */
interface Database {
  open(nodeId: string, maxSessions?: number): Promise<Stores>;
  rows(sql: string): Promise<Record<string, unknown>[]>;
}

interface Engine {
  name: 'sqlite' | 'postgres';
  /** PostgreSQL is shared by nodes; the SQLite file belongs to one process (whatever its node id). */
  sharedByNodes: boolean;
  database(): Promise<Database>;
}

const opened: Stores[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});
async function track(stores: Promise<Stores>): Promise<Stores> {
  const s = await stores;
  opened.push(s);
  return s;
}

const engines: Engine[] = [
  {
    name: 'sqlite',
    sharedByNodes: false,
    async database() {
      const databasePath = join(dir, `db-${++databases}.db`);
      return {
        open: (nodeId, maxSessions = 1_000) => track(openStores({ databasePath, sessionTtlSeconds: TTL_S, maxSessions }, nodeId, silent)),
        async rows(sql) {
          const { default: Sqlite } = await import('better-sqlite3');
          const db = new Sqlite(databasePath, { readonly: true });
          try {
            return db.prepare(sql).all() as Record<string, unknown>[];
          } finally {
            db.close();
          }
        },
      };
    },
  },
  {
    name: 'postgres',
    sharedByNodes: true,
    async database() {
      const databaseUrl = await freshPgUrl();
      return {
        // Nodes of a cluster (the stores never contact Redis: REDIS_URL only says they are not alone).
        open: (nodeId, maxSessions = 1_000) =>
          track(openStores({ databasePath: join(dir, 'unused.db'), databaseUrl, redisUrl: CLUSTER, sessionTtlSeconds: TTL_S, maxSessions }, nodeId, silent)),
        async rows(sql) {
          const client = new pg.Client(databaseUrl.href);
          await client.connect();
          try {
            // BIGINT columns as numbers, as the store reads them (pg gives strings by default).
            return (await client.query({ text: sql, types: numberTypes() })).rows as Record<string, unknown>[];
          } finally {
            await client.end();
          }
        },
      };
    },
  },
];

function recording(id: string, roomId: string, path = join(dir, `${id}.ogg`)): RecordingStart {
  return { id, roomId, userId: 'u', producerId: `p-${id}`, kind: 'audio', path, startedAt: new Date(NOW) };
}

describe.each(engines)('$name stores', (engine) => {
  it('looks tokens up as valid, expired or unknown', async () => {
    const { sessions } = await (await engine.database()).open('node-a');
    const { token, session } = await sessions.create('r', 'u', NOW);
    expect(await sessions.lookup(token, NOW + TTL_S * 1000 - 1)).toEqual({ status: 'valid', session });
    expect(await sessions.lookup(token, NOW + TTL_S * 1000)).toEqual({ status: 'expired' });
    expect(await sessions.lookup(token + 'x', NOW)).toEqual({ status: 'unknown' });
  });

  it('stores the token hash, never the token', async () => {
    const db = await engine.database();
    const { sessions } = await db.open('node-a');
    const { token } = await sessions.create('room-h', 'hana', NOW);
    const rows = await db.rows('SELECT * FROM session');
    expect(rows).toEqual([{ token_hash: hashToken(token), room_id: 'room-h', user_id: 'hana', created_at: NOW, expires_at: NOW + TTL_S * 1000 }]);
    expect(JSON.stringify(rows)).not.toContain(token);
  });

  it('a token issued by one node is valid at another on the same database', async () => {
    const db = await engine.database();
    const a = await db.open('node-a');
    const { token, session } = await a.sessions.create('r', 'u', NOW);
    const b = await db.open('node-b');
    expect(await b.sessions.lookup(token, NOW)).toEqual({ status: 'valid', session });
  });

  it('purges rows past the grace period after expiry and keeps the others', async () => {
    const { sessions } = await (await engine.database()).open('node-a');
    const old = await sessions.create('r', 'old', NOW - EXPIRED_GRACE_MS - 61_000); // expired more than the grace period ago
    const recent = await sessions.create('r', 'recent', NOW - 120_000); // expired a minute ago
    const valid = await sessions.create('r', 'valid', NOW);
    expect(await sessions.purgeExpired(NOW)).toBe(1);
    expect(await sessions.lookup(old.token, NOW)).toEqual({ status: 'unknown' });
    expect(await sessions.lookup(recent.token, NOW)).toEqual({ status: 'expired' });
    expect((await sessions.lookup(valid.token, NOW)).status).toBe('valid');
    expect(await sessions.purgeExpired(NOW)).toBe(0);
    // Once its own grace period is over, the recently expired one goes too.
    expect(await sessions.purgeExpired(NOW + EXPIRED_GRACE_MS)).toBe(1);
    expect((await sessions.lookup(valid.token, NOW)).status).toBe('valid');
  });

  it('holds MAX_SESSIONS rows at most: a full table purges first, then refuses with SessionLimitError', async () => {
    const { sessions } = await (await engine.database()).open('node-a', 2);
    const stale = await sessions.create('r', 'stale', NOW - EXPIRED_GRACE_MS - 61_000);
    await sessions.create('r', 'one', NOW);
    // Full, but the stale row's grace period is over: purged, and the new one fits.
    const two = await sessions.create('r', 'two', NOW);
    expect(await sessions.lookup(stale.token, NOW)).toEqual({ status: 'unknown' });
    await expect(sessions.create('r', 'three', NOW)).rejects.toBeInstanceOf(SessionLimitError);
    expect((await sessions.lookup(two.token, NOW)).status).toBe('valid');
  });

  it('records a recording from start to end, with the node that holds its file', async () => {
    const { recordings } = await (await engine.database()).open('node-a');
    await recordings.started(recording('rec-1', 'room-1'));
    await recordings.started({ ...recording('rec-2', 'room-2'), startedAt: new Date(NOW + 1) });
    expect(await recordings.get('rec-1')).toEqual({
      id: 'rec-1',
      roomId: 'room-1',
      userId: 'u',
      producerId: 'p-rec-1',
      kind: 'audio',
      path: join(dir, 'rec-1.ogg'),
      startedAt: new Date(NOW).toISOString(),
      endedAt: null,
      bytes: 0,
      state: 'recording',
      nodeId: 'node-a',
    });
    await recordings.ended('rec-1', { state: 'finished', endedAt: new Date(NOW + 5000), bytes: 1234 });
    // An end never overwrites an earlier one.
    await recordings.ended('rec-1', { state: 'failed', endedAt: new Date(NOW + 6000), bytes: 0, reason: 'late' });
    expect(await recordings.get('rec-1')).toMatchObject({ state: 'finished', bytes: 1234, endedAt: new Date(NOW + 5000).toISOString() });
    expect((await recordings.get('rec-1'))?.reason).toBeUndefined();
    expect((await recordings.list('room-2')).map((r) => r.id)).toEqual(['rec-2']);
    expect(await recordings.list()).toMatchObject([{ id: 'rec-1' }, { id: 'rec-2' }]);
    expect(await recordings.list()).not.toMatchObject([{ nodeId: expect.anything() }, {}]);
    expect(await recordings.get('rec-none')).toBeUndefined();
  });

  it("at start fails this node's interrupted recordings with their files' real size", async () => {
    const db = await engine.database();
    const a = await db.open('node-a');
    const b = await db.open('node-b');
    const path = join(dir, `cut-${engine.name}.ogg`);
    writeFileSync(path, Buffer.alloc(777));
    await a.recordings.started(recording('rec-a', 'room', path));
    await b.recordings.started(recording('rec-b', 'room'));
    await a.recordings.started(recording('rec-done', 'room'));
    await a.recordings.ended('rec-done', { state: 'finished', endedAt: new Date(NOW + 1), bytes: 5 });

    const restarted = await db.open('node-a');
    expect(await restarted.recordings.failInterrupted(NOW + 10)).toBe(engine.sharedByNodes ? 1 : 2);
    expect(await restarted.recordings.get('rec-a')).toMatchObject({ state: 'failed', reason: INTERRUPTED_REASON, bytes: 777, endedAt: new Date(NOW + 10).toISOString() });
    expect(await restarted.recordings.get('rec-done')).toMatchObject({ state: 'finished', bytes: 5 });
    // Another node's running recording is its own business; in the single-process file every row is this process's.
    expect((await restarted.recordings.get('rec-b'))?.state).toBe(engine.sharedByNodes ? 'recording' : 'failed');
  });

  it("fails a lost node's running recordings and nobody else's", async () => {
    const db = await engine.database();
    const a = await db.open('node-a');
    const b = await db.open('node-b');
    await a.recordings.started(recording('rec-a', 'room'));
    await b.recordings.started(recording('rec-b', 'room'));
    await b.recordings.started(recording('rec-b-done', 'room'));
    await b.recordings.ended('rec-b-done', { state: 'finished', endedAt: new Date(NOW + 1), bytes: 9 });
    expect(await a.recordings.failNodeLost('node-b', NOW + 20)).toBe(1);
    expect(await a.recordings.get('rec-b')).toMatchObject({ state: 'failed', reason: NODE_LOST_REASON, endedAt: new Date(NOW + 20).toISOString(), nodeId: 'node-b' });
    expect(await a.recordings.get('rec-b-done')).toMatchObject({ state: 'finished', bytes: 9 });
    expect((await a.recordings.get('rec-a'))?.state).toBe('recording');
  });
});

describe('PostgreSQL', () => {
  const config = (databaseUrl: URL) => ({ databasePath: join(dir, 'unused.db'), databaseUrl, sessionTtlSeconds: TTL_S, maxSessions: 1_000 });

  it('migrates once when several nodes start at the same time on a fresh database', async () => {
    const url = await freshPgUrl();
    const client = new pg.Client(url.href);
    await client.connect();
    try {
      // The test holds the migration lock, so the six nodes all reach it and wait (seen in
      // pg_locks), then race for it the moment it is released.
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      const opening = Array.from({ length: 6 }, (_, i) => track(openStores(config(url), `node-${i}`, silent)));
      const waiting = async () =>
        (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted", [MIGRATION_LOCK])).rows[0]!.n;
      await expect.poll(waiting, { timeout: 20_000, interval: 50 }).toBe(6);
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      const nodes = await Promise.all(opening);

      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_version ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1));
      // Every node works on the schema the first one left.
      const issued = await Promise.all(nodes.map((n, i) => n.sessions.create('r', `u${i}`, NOW)));
      expect(await nodes[0]!.sessions.lookup(issued[5]!.token, NOW)).toMatchObject({ status: 'valid' });
      await client.query('INSERT INTO schema_version (version) VALUES (99)');
    } finally {
      await client.end();
    }
    await expect(openStores(config(url), 'node-new', silent)).rejects.toThrow(/schema version 99/);
  });

  it('a node alone on it (no REDIS_URL) fails every interrupted recording at start, whatever node id an earlier start had', async () => {
    const url = await freshPgUrl();
    const before = await track(openStores(config(url), 'node-before', silent));
    await before.recordings.started(recording('rec-before', 'room'));
    const after = await track(openStores(config(url), 'node-after', silent));
    expect(await after.recordings.failInterrupted(NOW + 1)).toBe(1);
    expect(await after.recordings.get('rec-before')).toMatchObject({ state: 'failed', reason: INTERRUPTED_REASON, nodeId: 'node-before' });
  });

  it('a database that accepts connections but never answers counts as down after CONNECT_TIMEOUT_MS', async () => {
    // A silent peer on loopback: TCP connects, no byte ever comes back (a stalled path or a hung engine).
    const sockets: Socket[] = [];
    const silentServer = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silentServer.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silentServer.address() as AddressInfo;
      const started = Date.now();
      await expect(openStores(config(new URL(`postgres://postgres@127.0.0.1:${port}/none`)), 'node-a', silent)).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(Date.now() - started).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 50);
      expect(sockets.length).toBeGreaterThan(0);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((resolve) => silentServer.close(resolve));
    }
  });

  it('a down database is StoreUnavailableError, answered fast; the same stores work again once it is back', async () => {
    const url = await freshPgUrl();
    const stores = await track(openStores(config(url), 'node-a', silent));
    const { token } = await stores.sessions.create('r', 'u', NOW);
    await stores.recordings.started(recording('rec-down', 'room'));
    const writes = new RetryingWrites(silent);

    await postgres.stop();
    try {
      const started = Date.now();
      await expect(stores.sessions.lookup(token, NOW)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.sessions.create('r', 'v', NOW)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.recordings.list()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(stores.recordings.get('rec-down')).rejects.toBeInstanceOf(StoreUnavailableError);
      // Four refusals, each well within one connection timeout (2 s) plus slack for a loaded machine.
      expect(Date.now() - started).toBeLessThan(4 * 2_000 + 2_000);
      // A node starting now cannot migrate: it says why.
      await expect(openStores(config(url), 'node-b', silent)).rejects.toBeInstanceOf(StoreUnavailableError);
      // The end of a recording is kept, not lost, while the database is down.
      expect(await writes.run({ recordingId: 'rec-down' }, () => stores.recordings.ended('rec-down', { state: 'finished', endedAt: new Date(NOW + 1), bytes: 42 }))).toBe('queued');
      expect(writes.queued).toBe(1);
    } finally {
      await postgres.start();
    }
    expect(await stores.sessions.lookup(token, NOW)).toMatchObject({ status: 'valid' });
    await expect.poll(async () => (await stores.recordings.get('rec-down'))?.state, { timeout: 15_000, interval: 100 }).toBe('finished');
    expect(await stores.recordings.get('rec-down')).toMatchObject({ bytes: 42 });
    expect(writes.queued).toBe(0);
  });
});

describe('a server on DATABASE_URL while PostgreSQL is down', () => {
  let server: ServerProcess;
  let peer: MediaPeer | undefined;
  afterAll(async () => {
    await peer?.close();
    await server?.stop();
  });

  it('writes the end of a recording stopped while the database is down once it is back', async () => {
    const url = await freshPgUrl();
    server = await startServerProcess({ env: { DATABASE_URL: url.href } });
    const t = await server.connect('room-rec', 'rae');
    peer = await MediaPeer.produce(t.url, t.token);
    const producerId = peer.producerId('audio');
    await peer.socket.ok('startRecord', { producerId });
    const [row] = await server.recordings('room-rec');
    expect(row).toMatchObject({ state: 'recording', producerId });
    // Some sound in the file before the database goes away.
    await expect.poll(() => (existsSync(row!.path) ? statSync(row!.path).size : 0), { timeout: 10_000, interval: 50 }).toBeGreaterThan(2_000);

    await postgres.stop();
    try {
      // The client's stop is answered at once: the row's update waits for the database, not the client.
      expect(await peer.socket.ok('stopRecord', { producerId })).toMatchObject({ id: row!.id });
      expect(await peer.socket.request('ping')).toMatchObject({ ok: true });
    } finally {
      await postgres.start();
    }
    await expect.poll(async () => (await server.recordings('room-rec'))[0]?.state, { timeout: 20_000, interval: 200 }).toBe('finished');
    expect((await server.recordings('room-rec'))[0]!.bytes).toBe(statSync(row!.path).size);
    await peer.close();
    peer = undefined;
    expect(await server.stop()).toBe(0);
  });

  it('answers the API 503, closes new sockets 1013 (never 4001), keeps connected clients, and works again once it is back', async () => {
    const url = await freshPgUrl();
    server = await startServerProcess({ env: { DATABASE_URL: url.href } });
    const connected = await server.connect('room-pg', 'ada');
    const later = await server.connect('room-pg', 'bob');
    // A request sent while the socket's token is still being looked up is answered once the
    // check is done, not dropped: the test holds the lookup back with a lock on the session table.
    const locker = new pg.Client(url.href);
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE session IN ACCESS EXCLUSIVE MODE');
    const eager = await TestSocket.open(later.url, later.token);
    const answered = eager.request('ping');
    const blockedLookups = async () =>
      (await locker.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'session' AND NOT l.granted")).rows[0]!.n;
    await expect.poll(blockedLookups, { timeout: 4_000, interval: 20 }).toBe(1);
    await locker.query('COMMIT');
    await locker.end();
    expect(await answered).toMatchObject({ ok: true });
    await eager.close();
    const { socket } = await TestSocket.welcomed(connected.url, connected.token);

    await postgres.stop();
    try {
      const res = await fetch(`${server.httpUrl}/v1/api/connect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ roomId: 'room-pg', userId: 'cyd' }),
      });
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await res.json()).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String) } });
      const listing = await fetch(`${server.httpUrl}/v1/api/recordings`, { headers: { authorization: `Bearer ${server.apiKey}` } });
      expect(listing.status).toBe(503);
      expect(await listing.json()).toMatchObject({ error: { code: 'SERVICE_UNAVAILABLE' } });

      // The connected client is untouched: its socket is open and answers.
      expect(await socket.request('ping')).toMatchObject({ ok: true });
      // A valid token that cannot be checked now: "try again later", not "unauthorized".
      const refused = await TestSocket.open(later.url, later.token);
      expect(await refused.waitClosed()).toEqual({ code: CloseCode.TRY_AGAIN_LATER, reason: 'try again later' });
      expect(refused.frames).toEqual([]);
    } finally {
      await postgres.start();
    }
    const again = await server.connect('room-pg', 'cyd');
    expect(again.token).toEqual(expect.any(String));
    const { socket: back, welcome } = await TestSocket.welcomed(later.url, later.token);
    expect(welcome.data).toMatchObject({ roomId: 'room-pg', userId: 'bob' });
    expect(await socket.request('ping')).toMatchObject({ ok: true });
    await back.close();
    await socket.close();
    expect(await server.stop()).toBe(0);
  });
});
