// The Session table: what is stored, restarts, expiry, forgery and the purge.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { CloseCode } from '../../src/protocol/codes.js';
import { openDatabase, SCHEMA_VERSION } from '../../src/server/database.js';
import { EXPIRED_GRACE_MS, SessionStore } from '../../src/server/ma/sessions.js';
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

describe('SessionStore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'media-infra-sessions-'));

  it('looks tokens up as valid, expired or unknown', () => {
    const db = openDatabase(join(dir, 'lookup.db'));
    const store = new SessionStore(db, 60);
    try {
      const now = 1_000_000_000_000;
      const { token, session } = store.create('r', 'u', now);
      expect(store.lookup(token, now + 59_999)).toEqual({ status: 'valid', session });
      expect(store.lookup(token, now + 60_000)).toEqual({ status: 'expired' });
      expect(store.lookup(token + 'x', now)).toEqual({ status: 'unknown' });
    } finally {
      store.close();
      db.close();
    }
  });

  it('purges rows past the grace period after expiry and keeps the others', () => {
    const db = openDatabase(join(dir, 'purge.db'));
    const store = new SessionStore(db, 60);
    try {
      const now = 1_000_000_000_000;
      const old = store.create('r', 'old', now - EXPIRED_GRACE_MS - 61_000); // expired more than the grace period ago
      const recent = store.create('r', 'recent', now - 120_000); // expired a minute ago
      const valid = store.create('r', 'valid', now);
      expect(store.purgeExpired(now)).toBe(1);
      expect(store.lookup(old.token, now)).toEqual({ status: 'unknown' });
      expect(store.lookup(recent.token, now)).toEqual({ status: 'expired' });
      expect(store.lookup(valid.token, now).status).toBe('valid');
      expect(store.purgeExpired(now)).toBe(0);
      // Once its own grace period is over, the recently expired one goes too.
      expect(store.purgeExpired(now + EXPIRED_GRACE_MS)).toBe(1);
      expect(store.lookup(valid.token, now).status).toBe('valid');
    } finally {
      store.close();
      db.close();
    }
  });

  it('refuses a database with a newer schema than it knows', () => {
    const path = join(dir, 'future.db');
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    expect(() => openDatabase(path)).toThrow(/schema version 99/);
  });

  it('migrates a database of schema version 1 in place, keeping its sessions', () => {
    const path = join(dir, 'v1.db');
    const old = new Database(path);
    old.exec(`CREATE TABLE session (token_hash TEXT PRIMARY KEY NOT NULL, room_id TEXT NOT NULL, user_id TEXT NOT NULL,
      created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX session_expires_at ON session (expires_at);
      INSERT INTO session VALUES ('${sha256('old-token')}', 'r', 'u', 1, ${Date.now() + 60_000});
      PRAGMA user_version = 1;`);
    old.close();
    const db = openDatabase(path);
    try {
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(new SessionStore(db, 60).lookup('old-token').status).toBe('valid');
      expect(db.prepare('SELECT count(*) AS n FROM recording').get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
  });
});
