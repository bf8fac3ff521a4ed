// The Session table of a server on its SQLite file: what is stored, restarts, expiry, forgery; and the file's migrations.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { CloseCode } from '../../src/protocol/codes.js';
import pino from 'pino';
import { INTERRUPTED_REASON } from '../../src/server/mr/recordingStore.js';
import { openDatabase, SCHEMA_VERSION } from '../../src/server/store/sqliteDatabase.js';
import { openStores } from '../../src/server/store/stores.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';
import { TestSocket } from './wsClient.js';

const running: ServerProcess[] = [];
async function start(...args: Parameters<typeof startServerProcess>): Promise<ServerProcess> {
  const s = await startServerProcess(...args);
  running.push(s);
  return s;
}
afterAll(async () => {
  await Promise.all(running.map((s) => s.stop()));
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const silent = pino({ level: 'silent' });

describe('the Session table', () => {
  it('stores the token hash, never the token', async () => {
    const server = await start();
    const t = await server.connect('room-s', 'sam');
    const db = new Database(server.databasePath, { readonly: true });
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      const rows = db.prepare('SELECT * FROM session').all() as Record<string, unknown>[];
      expect(rows).toHaveLength(1);
      expect(rows[0]).toEqual({
        token_hash: sha256(t.token),
        room_id: 'room-s',
        user_id: 'sam',
        created_at: expect.any(Number),
        expires_at: Date.parse(t.expiresAt),
      });
      // Not in any column, nor anywhere in the file.
      expect(JSON.stringify(rows)).not.toContain(t.token);
    } finally {
      db.close();
    }
    const { readFileSync, existsSync } = await import('node:fs');
    for (const file of [server.databasePath, `${server.databasePath}-wal`]) {
      if (existsSync(file)) expect(readFileSync(file).includes(Buffer.from(t.token))).toBe(false);
    }
  });

  it('a token survives a server restart on the same database', async () => {
    const first = await start();
    const t = await first.connect('room-r', 'rita');
    expect(await first.stop()).toBe(0);
    const second = await start({ databasePath: first.databasePath });
    // Same token, new process (and port): the socket opens and gets its welcome.
    const url = `${second.httpUrl.replace('http', 'ws')}/v1/ws`;
    const { socket, welcome } = await TestSocket.welcomed(url, t.token);
    expect(welcome.data).toMatchObject({ roomId: 'room-r', userId: 'rita' });
    await socket.close();
  });

  it('an expired token is refused with 4002, a forged one with 4001', async () => {
    const server = await start({ env: { SESSION_TTL_SECONDS: '1' } });
    const t = await server.connect('room-e', 'late');
    // A socket opened while valid is not cut when the token expires.
    const { socket: early } = await TestSocket.welcomed(t.url, t.token);
    const expiresAt = Date.parse(t.expiresAt);
    await expect.poll(() => Date.now() > expiresAt + 20, { timeout: 5_000, interval: 25 }).toBe(true);
    const late = await TestSocket.open(t.url, t.token);
    expect(await late.waitClosed()).toEqual({ code: CloseCode.EXPIRED, reason: 'expired' });
    expect(late.frames).toEqual([]);
    expect(await early.request('ping')).toMatchObject({ ok: true });
    await early.close();

    const forged = await TestSocket.open(t.url, t.token.slice(0, -2) + (t.token.endsWith('AA') ? 'BB' : 'AA'));
    expect(await forged.waitClosed()).toEqual({ code: CloseCode.UNAUTHORIZED, reason: 'unauthorized' });
  });
});

// The SQLite file's own migrations (the store behaviour itself is in stores.test.ts, for both engines).
describe('the SQLite file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'media-infra-sessions-'));
  const config = (path: string) => ({ databasePath: path, sessionTtlSeconds: 60, maxSessions: 1_000 });

  it('refuses a database with a newer schema than it knows', () => {
    const path = join(dir, 'future.db');
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    expect(() => openDatabase(path)).toThrow(/schema version 99/);
  });

  it('migrates a database of schema version 1 in place, keeping its sessions', async () => {
    const path = join(dir, 'v1.db');
    const old = new Database(path);
    old.exec(`CREATE TABLE session (token_hash TEXT PRIMARY KEY NOT NULL, room_id TEXT NOT NULL, user_id TEXT NOT NULL,
      created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX session_expires_at ON session (expires_at);
      INSERT INTO session VALUES ('${sha256('old-token')}', 'r', 'u', 1, ${Date.now() + 60_000});
      PRAGMA user_version = 1;`);
    old.close();
    const stores = await openStores(config(path), 'node-a', silent);
    try {
      expect((await stores.sessions.lookup('old-token')).status).toBe('valid');
      expect(await stores.recordings.list()).toEqual([]);
    } finally {
      await stores.close();
    }
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });

  it('migrates a database of schema version 2: its running recordings (no node id) are failed at the next start', async () => {
    const path = join(dir, 'v2.db');
    const old = new Database(path);
    old.exec(`CREATE TABLE session (token_hash TEXT PRIMARY KEY NOT NULL, room_id TEXT NOT NULL, user_id TEXT NOT NULL,
      created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX session_expires_at ON session (expires_at);
      CREATE TABLE recording (id TEXT PRIMARY KEY NOT NULL, room_id TEXT NOT NULL, user_id TEXT NOT NULL, producer_id TEXT NOT NULL,
        kind TEXT NOT NULL, path TEXT NOT NULL, started_at INTEGER NOT NULL, ended_at INTEGER, bytes INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL, reason TEXT) WITHOUT ROWID;
      CREATE INDEX recording_room ON recording (room_id, started_at);
      INSERT INTO recording (id, room_id, user_id, producer_id, kind, path, started_at, state)
        VALUES ('rec-old', 'r', 'u', 'p', 'audio', '${join(dir, 'missing.ogg')}', 1000, 'recording');
      PRAGMA user_version = 2;`);
    old.close();
    const stores = await openStores(config(path), 'node-new', silent);
    try {
      expect(await stores.recordings.failInterrupted(5000)).toBe(1);
      expect(await stores.recordings.get('rec-old')).toMatchObject({ state: 'failed', reason: INTERRUPTED_REASON, nodeId: '', bytes: 0 });
    } finally {
      await stores.close();
    }
  });
});
