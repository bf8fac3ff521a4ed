// The Session table (SPEC: "stored in a Session table for 3 days"): one row per issued token, in
// SQLite or PostgreSQL (src/server/store/). Only the token's SHA-256 is stored, so a copy of the
// database opens no sockets.
//
// Expired rows are kept for EXPIRED_GRACE_MS after expiry and purged after that: within the grace
// period a reconnect with an old token is told 'expired' (the client shows "session ended")
// rather than 'unauthorized' (which would look like a forged token). Past it, the token is
// unknown again: that is the price of not keeping rows forever.
import { createHash, randomBytes } from 'node:crypto';

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

export interface IssuedSession {
  /** Handed out once by the caller; never stored. */
  token: string;
  session: Session;
}

/**
 * Every method may reject with StoreUnavailableError (store/errors.ts) when the database cannot
 * answer now: the caller says "try again later", never "unauthorized".
 */
export interface SessionStore {
  /** Issues a new token. Rejects with SessionLimitError when the table holds `maxSessions` rows even after a purge. */
  create(roomId: string, userId: string, now?: number): Promise<IssuedSession>;
  lookup(token: string, now?: number): Promise<SessionLookup>;
  /** Deletes rows whose grace period is over; resolves with how many. */
  purgeExpired(now?: number): Promise<number>;
  /** Purges now and then every hour, without keeping the process alive; a failed purge is logged by `onError`. */
  startPurging(onError: (err: Error) => void): void;
  /** Stops purging; the database itself belongs to the Stores. */
  close(): void;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The table holds `maxSessions` rows: no token is issued until some expire and are purged. */
export class SessionLimitError extends Error {
  override name = 'SessionLimitError';
  constructor(maxSessions: number) {
    super(`the Session table holds its maximum of ${maxSessions} sessions (MAX_SESSIONS)`);
  }
}

/** A new random token and the row it stands for (what every store inserts). */
export function newSession(roomId: string, userId: string, ttlSeconds: number, now: number): IssuedSession {
  const token = randomBytes(32).toString('base64url');
  const session = { tokenHash: hashToken(token), roomId, userId, createdAt: new Date(now), expiresAt: new Date(now + ttlSeconds * 1000) };
  return { token, session };
}

/** A row of the Session table as both engines store it (times in epoch ms). */
export interface SessionRow {
  token_hash: string;
  room_id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
}

/** A stored row as a lookup answers it: `expired` from the instant it expires. */
export function lookupOf(row: SessionRow | undefined, now: number): SessionLookup {
  if (!row) return { status: 'unknown' };
  if (row.expires_at <= now) return { status: 'expired' };
  return {
    status: 'valid',
    session: { tokenHash: row.token_hash, roomId: row.room_id, userId: row.user_id, createdAt: new Date(row.created_at), expiresAt: new Date(row.expires_at) },
  };
}

/** The hourly purge of a store, started at once; returns what stops it. */
export function purgeHourly(purge: () => Promise<number>, onError: (err: Error) => void): () => void {
  const run = () => void purge().catch(onError);
  run();
  const timer = setInterval(run, PURGE_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
