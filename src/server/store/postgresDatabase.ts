// The cluster's database (DATABASE_URL): one pg.Pool per node, the schema migrated at start, and
// every failure of the engine itself (down, restarting, unreachable, out of connections) turned
// into StoreUnavailableError, so callers can tell "try again later" from a bug.
import pg from 'pg';
import type { Logger } from 'pino';
import { StoreUnavailableError } from './errors.js';

/** A connection that cannot be made within this long counts as "database down" (ms). */
export const CONNECT_TIMEOUT_MS = 2_000;
/** A query without an answer this long counts as "database down" (a silent network path; ms). */
export const QUERY_TIMEOUT_MS = 5_000;
/** Migrating (waiting for other nodes' migrations included) may take this long (ms). */
const MIGRATION_TIMEOUT_MS = 120_000;
/** The key of the advisory lock that lets one starting node at a time migrate. */
export const MIGRATION_LOCK = 0x6d656469; // 'medi'

/** Each entry moves the schema from version index to index + 1. Never edit one that shipped. */
const migrations: readonly string[] = [
  `CREATE TABLE session (
     token_hash TEXT PRIMARY KEY,
     room_id    TEXT NOT NULL,
     user_id    TEXT NOT NULL,
     created_at BIGINT NOT NULL,
     expires_at BIGINT NOT NULL
   );
   CREATE INDEX session_expires_at ON session (expires_at);
   -- The row count that MAX_SESSIONS caps, kept beside the rows (a count(*) per token would grow with them).
   CREATE TABLE session_count (only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row), n BIGINT NOT NULL);
   INSERT INTO session_count (n) VALUES (0);
   CREATE TABLE recording (
     id          TEXT PRIMARY KEY,
     room_id     TEXT NOT NULL,
     user_id     TEXT NOT NULL,
     producer_id TEXT NOT NULL,
     kind        TEXT NOT NULL,
     path        TEXT NOT NULL,
     started_at  BIGINT NOT NULL,
     ended_at    BIGINT,
     bytes       BIGINT NOT NULL DEFAULT 0,
     state       TEXT NOT NULL,
     reason      TEXT,
     node_id     TEXT NOT NULL
   );
   CREATE INDEX recording_room ON recording (room_id, started_at);
   CREATE INDEX recording_running ON recording (node_id) WHERE state = 'recording';`,
];

export const PG_SCHEMA_VERSION = migrations.length;

/** Node's socket errors and PostgreSQL's SQLSTATEs that mean "the engine cannot answer now". */
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
// 08: connection exception; 53: insufficient resources (too many connections, disk full); 57P01-03: shutting down, starting.
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[123])/;
// What pg itself says when a connection cannot be made or is lost (its errors have no code).
const UNAVAILABLE_MESSAGE = /timeout exceeded when trying to connect|^timeout expired$|Connection terminated|Query read timeout|not queryable|Connection ended/i;

export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_ERRNOS.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
  return UNAVAILABLE_MESSAGE.test(err.message);
}

/** The error a store passes on: StoreUnavailableError for the engine's faults, the error itself otherwise. */
function storeError(err: unknown): unknown {
  return isUnavailable(err) ? new StoreUnavailableError(`the database is unavailable: ${(err as Error).message}`, { cause: err }) : err;
}

/** BIGINT (epoch ms, bytes, counts) as numbers, not pg's strings: all of them stay far below 2^53. */
export function numberTypes(): pg.CustomTypesConfig {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, Number);
  return types;
}

export class PgDatabase {
  private constructor(private readonly pool: pg.Pool) {}

  /** Migrates, then opens the pool; rejects (StoreUnavailableError when the database cannot be reached). */
  static async open(url: URL, nodeId: string, logger: Logger): Promise<PgDatabase> {
    const settings = {
      connectionString: url.href,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      application_name: `media-infra ${nodeId}`,
      types: numberTypes(),
    };
    try {
      // Its own connection: waiting for other nodes' migrations is not "the database is down".
      await migrate(new pg.Client({ ...settings, query_timeout: MIGRATION_TIMEOUT_MS }), logger);
    } catch (err) {
      throw storeError(err);
    }
    const pool = new pg.Pool({ ...settings, query_timeout: QUERY_TIMEOUT_MS });
    // An idle connection that fails (the database restarted) is dropped by the pool; without a
    // listener its 'error' would crash the process. The next query opens a new one.
    pool.on('error', (err) => logger.warn({ err: err.message }, 'an idle database connection failed'));
    return new PgDatabase(pool);
  }

  async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (err) {
      throw storeError(err);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * Applies the migrations this database lacks, in one transaction that holds an advisory lock:
 * nodes starting together wait for each other, and each finds the schema the first one left.
 */
async function migrate(client: pg.Client, logger: Logger): Promise<void> {
  // A failure of the connection reaches the pending query; this keeps the event itself handled.
  client.on('error', (err) => logger.warn({ err: err.message }, 'the migration connection failed'));
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_version');
    const version = rows[0]?.version ?? 0;
    if (version > migrations.length) throw new Error(`the database has schema version ${version}, newer than this server (${migrations.length})`);
    for (let v = version; v < migrations.length; v++) {
      await client.query(migrations[v]!);
      await client.query('INSERT INTO schema_version (version) VALUES ($1)', [v + 1]);
    }
    await client.query('COMMIT');
    if (version < migrations.length) logger.info({ from: version, to: migrations.length }, 'database schema migrated');
  } finally {
    // Ending the connection rolls back whatever was not committed.
    await client.end().catch(() => undefined);
  }
}
