// The persistent stores of a node: PostgreSQL when DATABASE_URL is set (the cluster), the SQLite
// file at DATABASE_PATH otherwise (one process, the `npm start` default). Same interfaces, same
// behaviour, same tests (tests/server/stores.test.ts).
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { SessionStore } from '../ma/sessions.js';
import type { RecordingStore } from '../mr/recordingStore.js';
import { PgDatabase } from './postgresDatabase.js';
import { PostgresRecordingStore } from './postgresRecordings.js';
import { PostgresSessionStore } from './postgresSessions.js';
import { openDatabase } from './sqliteDatabase.js';
import { SqliteRecordingStore } from './sqliteRecordings.js';
import { SqliteSessionStore } from './sqliteSessions.js';

export interface Stores {
  readonly engine: 'sqlite' | 'postgres';
  readonly sessions: SessionStore;
  readonly recordings: RecordingStore;
  /** Stops the purge and closes the database (waits for queries in flight). Idempotent. */
  close(): Promise<void>;
}

export type StoresConfig = Pick<Config, 'databasePath' | 'databaseUrl' | 'redisUrl' | 'sessionTtlSeconds' | 'maxSessions'>;

/** Opens and migrates the database. Rejects with StoreUnavailableError when PostgreSQL cannot be reached. */
export async function openStores(config: StoresConfig, nodeId: string, logger: Logger): Promise<Stores> {
  if (config.databaseUrl !== undefined) {
    const db = await PgDatabase.open(config.databaseUrl, nodeId, logger);
    const sessions = new PostgresSessionStore(db, config.sessionTtlSeconds, config.maxSessions);
    let closing: Promise<void> | undefined;
    return {
      engine: 'postgres',
      sessions,
      recordings: new PostgresRecordingStore(db, nodeId, config.redisUrl === undefined),
      close: () => {
        sessions.close();
        return (closing ??= db.close());
      },
    };
  }
  const db = openDatabase(config.databasePath);
  const sessions = new SqliteSessionStore(db, config.sessionTtlSeconds, config.maxSessions);
  return {
    engine: 'sqlite',
    sessions,
    recordings: new SqliteRecordingStore(db, nodeId),
    close: async () => {
      sessions.close();
      if (db.open) db.close();
    },
  };
}
