// The Session table (SPEC: "stored in a Session table for 3 days"): one row per issued token.
// Only the token's SHA-256 is stored, so a copy of the database opens no sockets.
//
// Expired rows are kept for EXPIRED_GRACE_MS after expiry and purged after that: within the grace
// period a reconnect with an old token is told 'expired' (the client shows "session ended")
// rather than 'unauthorized' (which would look like a forged token). Past it, the token is
// unknown again: that is the price of not keeping rows forever.
import { createHash, randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Db } from '../database.js';

export const EXPIRED_GRACE_MS = 7 * 24 * 3600 * 1000;
const PURGE_INTERVAL_MS = 3600 * 1000;

export interface Session {
  /** SHA-256 hex of the token: the session's id (safe to log in short form). */
  tokenHash: string;
  roomId: string;
  userId: string;
  createdAt: Date;
  expiresAt: Date;
}

export type SessionLookup = { status: 'valid'; session: Session } | { status: 'expired' } | { status: 'unknown' };

interface Row {
  token_hash: string;
  room_id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The table holds `maxSessions` rows: no token is issued until some expire and are purged. */
export class SessionLimitError extends Error {
  override name = 'SessionLimitError';
}

export class SessionStore {
  /** Rows in the table, kept here so that each issue does not count them. */
  private rows: number;
  private readonly insert: Database.Statement<[string, string, string, number, number]>;
  private readonly select: Database.Statement<[string], Row>;
  private readonly purge: Database.Statement<[number]>;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Db,
    private readonly ttlSeconds: number,
    private readonly maxSessions = Number.POSITIVE_INFINITY,
  ) {
    this.insert = this.db.prepare('INSERT INTO session (token_hash, room_id, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)');
    this.select = this.db.prepare<[string], Row>('SELECT * FROM session WHERE token_hash = ?');
    this.purge = this.db.prepare('DELETE FROM session WHERE expires_at < ?');
    this.rows = (this.db.prepare('SELECT COUNT(*) AS n FROM session').get() as { n: number }).n;
  }

  /** Purges now and then every hour, without keeping the process alive. */
  startPurging(): void {
    this.purgeExpired();
    this.timer = setInterval(() => this.purgeExpired(), PURGE_INTERVAL_MS);
    this.timer.unref();
  }

  /** Issues a new token; the caller hands it out once, the table keeps only its hash. */
  create(roomId: string, userId: string, now = Date.now()): { token: string; session: Session } {
    if (this.rows >= this.maxSessions) {
      this.purgeExpired(now);
      if (this.rows >= this.maxSessions) throw new SessionLimitError(`the Session table holds its maximum of ${this.maxSessions} sessions (MAX_SESSIONS)`);
    }
    const token = randomBytes(32).toString('base64url');
    const tokenHash = hashToken(token);
    const expiresAt = now + this.ttlSeconds * 1000;
    this.insert.run(tokenHash, roomId, userId, now, expiresAt);
    this.rows += 1;
    return { token, session: { tokenHash, roomId, userId, createdAt: new Date(now), expiresAt: new Date(expiresAt) } };
  }

  lookup(token: string, now = Date.now()): SessionLookup {
    const row = this.select.get(hashToken(token));
    if (!row) return { status: 'unknown' };
    if (row.expires_at <= now) return { status: 'expired' };
    return {
      status: 'valid',
      session: {
        tokenHash: row.token_hash,
        roomId: row.room_id,
        userId: row.user_id,
        createdAt: new Date(row.created_at),
        expiresAt: new Date(row.expires_at),
      },
    };
  }

  /** Deletes rows whose grace period is over; returns how many. */
  purgeExpired(now = Date.now()): number {
    const purged = this.purge.run(now - EXPIRED_GRACE_MS).changes;
    this.rows -= purged;
    return purged;
  }

  /** Stops purging; the database itself belongs to the server. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
