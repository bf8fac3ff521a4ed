// The Session table in PostgreSQL: shared by every node, so a token issued at one is valid at all.
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
import type { PgDatabase } from './postgresDatabase.js';

// One statement: the count is taken and the row inserted together, or neither (cap reached).
const INSERT = `WITH slot AS (UPDATE session_count SET n = n + 1 WHERE n < $6 RETURNING n)
  INSERT INTO session (token_hash, room_id, user_id, created_at, expires_at) SELECT $1, $2, $3, $4, $5 FROM slot`;
const PURGE = `WITH gone AS (DELETE FROM session WHERE expires_at < $1 RETURNING 1),
  counted AS (UPDATE session_count SET n = n - (SELECT count(*) FROM gone))
  SELECT count(*) AS purged FROM gone`;

export class PostgresSessionStore implements SessionStore {
  private stopPurging: (() => void) | undefined;

  constructor(
    private readonly db: PgDatabase,
    private readonly ttlSeconds: number,
    private readonly maxSessions = Number.POSITIVE_INFINITY,
  ) {}

  startPurging(onError: (err: Error) => void): void {
    this.stopPurging ??= purgeHourly(() => this.purgeExpired(), onError);
  }

  async create(roomId: string, userId: string, now = Date.now()): Promise<IssuedSession> {
    const issued = newSession(roomId, userId, this.ttlSeconds, now);
    const { session } = issued;
    const cap = Math.min(this.maxSessions, Number.MAX_SAFE_INTEGER);
    const insert = () => this.db.query(INSERT, [session.tokenHash, roomId, userId, now, session.expiresAt.getTime(), cap]);
    if ((await insert()).rowCount === 1) return issued;
    await this.purgeExpired(now);
    if ((await insert()).rowCount === 1) return issued;
    throw new SessionLimitError(this.maxSessions);
  }

  async lookup(token: string, now = Date.now()): Promise<SessionLookup> {
    const { rows } = await this.db.query<SessionRow>('SELECT token_hash, room_id, user_id, created_at, expires_at FROM session WHERE token_hash = $1', [hashToken(token)]);
    return lookupOf(rows[0], now);
  }

  async purgeExpired(now = Date.now()): Promise<number> {
    const { rows } = await this.db.query<{ purged: number }>(PURGE, [now - EXPIRED_GRACE_MS]);
    return rows[0]!.purged;
  }

  close(): void {
    this.stopPurging?.();
  }
}
