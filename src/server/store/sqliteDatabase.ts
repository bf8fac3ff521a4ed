// The single-process database (DATABASE_PATH, the default without DATABASE_URL): sessions and
// recordings in one SQLite file. The schema is versioned with PRAGMA user_version, so a later
// server migrates an older file in place.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/** Each entry moves the schema from version index to index + 1. Never edit one that shipped. */
const migrations: readonly string[] = [
  `CREATE TABLE session (
     token_hash TEXT PRIMARY KEY NOT NULL,
     room_id    TEXT NOT NULL,
     user_id    TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX session_expires_at ON session (expires_at);`,
  `CREATE TABLE recording (
     id          TEXT PRIMARY KEY NOT NULL,
     room_id     TEXT NOT NULL,
     user_id     TEXT NOT NULL,
     producer_id TEXT NOT NULL,
     kind        TEXT NOT NULL,
     path        TEXT NOT NULL,
     started_at  INTEGER NOT NULL,
     ended_at    INTEGER,
     bytes       INTEGER NOT NULL DEFAULT 0,
     state       TEXT NOT NULL,
     reason      TEXT
   ) WITHOUT ROWID;
   CREATE INDEX recording_room ON recording (room_id, started_at);`,
  // The node that holds the file; '' for rows written before nodes had ids (always local here).
  `ALTER TABLE recording ADD COLUMN node_id TEXT NOT NULL DEFAULT ''`,
];

export const SCHEMA_VERSION = migrations.length;

export function openDatabase(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    // WAL: readers (socket checks, listings) never wait for the writer.
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

function migrate(db: Db): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > migrations.length) {
    throw new Error(`the database at ${db.name} has schema version ${version}, newer than this server (${migrations.length})`);
  }
  for (let v = version; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
