// The Session table in the SQLite file (single process).
import type Database from 'better-sqlite3';
import {
  EXPIRED_GRACE_MS,
  hashToken,
  lookupOf,
  newSession,
  purgeHourly,
  SessionLimitError,
  type IssuedSession,
  type SessionLookup,
  type SessionRow,
  type SessionStore,
} from '../ma/sessions.js';
import type { Db } from './sqliteDatabase.js';

export class SqliteSessionStore implements SessionStore {
  /** Rows in the table, kept here so that each issue does not count them (this process owns the file). */
  private rows: number;
  private readonly insert: Database.Statement<[string, string, string, number, number]>;
  private readonly select: Database.Statement<[string], SessionRow>;
  private readonly purge: Database.Statement<[number]>;
  private stopPurging: (() => void) | undefined;

  constructor(
    db: Db,
    private readonly ttlSeconds: number,
    private readonly maxSessions = Number.POSITIVE_INFINITY,
  ) {
    this.insert = db.prepare('INSERT INTO session (token_hash, room_id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)');
    this.select = db.prepare<[string], SessionRow>('SELECT * FROM session WHERE token_hash = ?');
    this.purge = db.prepare('DELETE FROM session WHERE expires_at < ?');
    this.rows = (db.prepare('SELECT COUNT(*) AS n FROM session').get() as { n: number }).n;
  }

  startPurging(onError: (err: Error) => void): void {
    this.stopPurging ??= purgeHourly(() => this.purgeExpired(), onError);
  }

  async create(roomId: string, userId: string, now = Date.now()): Promise<IssuedSession> {
    if (this.rows >= this.maxSessions) {
      this.purgeSync(now);
      if (this.rows >= this.maxSessions) throw new SessionLimitError(this.maxSessions);
    }
    const issued = newSession(roomId, userId, this.ttlSeconds, now);
    const { session } = issued;
    this.insert.run(session.tokenHash, roomId, userId, now, session.expiresAt.getTime());
    this.rows += 1;
    return issued;
  }

  async lookup(token: string, now = Date.now()): Promise<SessionLookup> {
    return lookupOf(this.select.get(hashToken(token)), now);
  }

  async purgeExpired(now = Date.now()): Promise<number> {
    return this.purgeSync(now);
  }

  private purgeSync(now: number): number {
    const purged = this.purge.run(now - EXPIRED_GRACE_MS).changes;
    this.rows -= purged;
    return purged;
  }

  close(): void {
    this.stopPurging?.();
  }
}
