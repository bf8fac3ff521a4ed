// The recording table: one row per recording, written when it starts and again when it ends, so
// the API never shows a file as fine before ffmpeg has finalized it.
import { statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { Db } from '../database.js';

export type RecordingRowState = 'recording' | 'finished' | 'failed';

/** A recording as the API lists it (SPEC: id, roomId, userId, producerId, kind, path, times, bytes, state). */
export interface RecordingInfo {
  id: string;
  roomId: string;
  userId: string;
  producerId: string;
  kind: 'audio' | 'video';
  path: string;
  startedAt: string;
  endedAt: string | null;
  bytes: number;
  state: RecordingRowState;
  /** Why it failed; absent otherwise. */
  reason?: string;
}

interface Row {
  id: string;
  room_id: string;
  user_id: string;
  producer_id: string;
  kind: 'audio' | 'video';
  path: string;
  started_at: number;
  ended_at: number | null;
  bytes: number;
  state: RecordingRowState;
  reason: string | null;
}

const LIST_LIMIT = 1000;
/** The reason of a recording whose server died (kill -9, power loss) while it ran. */
export const INTERRUPTED_REASON = 'server stopped';

function toInfo(row: Row): RecordingInfo {
  return {
    id: row.id,
    roomId: row.room_id,
    userId: row.user_id,
    producerId: row.producer_id,
    kind: row.kind,
    path: row.path,
    startedAt: new Date(row.started_at).toISOString(),
    endedAt: row.ended_at === null ? null : new Date(row.ended_at).toISOString(),
    bytes: row.bytes,
    state: row.state,
    ...(row.reason !== null && { reason: row.reason }),
  };
}

export class RecordingStore {
  private readonly insertRow: Database.Statement<[string, string, string, string, string, string, number]>;
  private readonly endRow: Database.Statement<[number, number, string, string | null, string]>;
  private readonly byRoom: Database.Statement<[string, number], Row>;
  private readonly all: Database.Statement<[number], Row>;
  private readonly byId: Database.Statement<[string], Row>;
  private readonly unfinished: Database.Statement<[], Pick<Row, 'id' | 'path'>>;
  private readonly markInterrupted: Database.Statement<[number, number, string, string]>;
  private readonly transaction: Db['transaction'];

  constructor(db: Db) {
    this.insertRow = db.prepare(
      "INSERT INTO recording (id, room_id, user_id, producer_id, kind, path, started_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, 'recording')",
    );
    this.endRow = db.prepare("UPDATE recording SET ended_at = ?, bytes = ?, state = ?, reason = ? WHERE id = ? AND state = 'recording'");
    this.byRoom = db.prepare<[string, number], Row>('SELECT * FROM recording WHERE room_id = ? ORDER BY started_at, id LIMIT ?');
    this.all = db.prepare<[number], Row>('SELECT * FROM recording ORDER BY started_at, id LIMIT ?');
    this.byId = db.prepare<[string], Row>('SELECT * FROM recording WHERE id = ?');
    this.unfinished = db.prepare<[], Pick<Row, 'id' | 'path'>>("SELECT id, path FROM recording WHERE state = 'recording'");
    this.markInterrupted = db.prepare("UPDATE recording SET ended_at = ?, bytes = ?, state = 'failed', reason = ? WHERE id = ? AND state = 'recording'");
    this.transaction = db.transaction.bind(db);
  }

  started(r: { id: string; roomId: string; userId: string; producerId: string; kind: string; path: string; startedAt: Date }): void {
    this.insertRow.run(r.id, r.roomId, r.userId, r.producerId, r.kind, r.path, r.startedAt.getTime());
  }

  ended(id: string, r: { state: 'finished' | 'failed'; endedAt: Date; bytes: number; reason?: string }): void {
    this.endRow.run(r.endedAt.getTime(), r.bytes, r.state, r.reason ?? null, id);
  }

  get(id: string): RecordingInfo | undefined {
    const row = this.byId.get(id);
    return row && toInfo(row);
  }

  /** Oldest first; at most LIST_LIMIT rows. */
  list(roomId?: string): RecordingInfo[] {
    return (roomId === undefined ? this.all.all(LIST_LIMIT) : this.byRoom.all(roomId, LIST_LIMIT)).map(toInfo);
  }

  /**
   * At start: rows still 'recording' belong to a process that died (kill -9, power loss) before
   * finalizing them. Their files are cut short (they decode up to the cut: see recorder.ts), so
   * they are marked failed, not fine, with the size the file really has.
   */
  failInterrupted(now = Date.now()): number {
    const rows = this.unfinished.all();
    const sizes = rows.map((r) => {
      try {
        return statSync(r.path).size;
      } catch {
        return 0;
      }
    });
    this.transaction(() => rows.forEach((r, i) => this.markInterrupted.run(now, sizes[i]!, INTERRUPTED_REASON, r.id)))();
    return rows.length;
  }
}
