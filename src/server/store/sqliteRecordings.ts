// The recording table in the SQLite file. One process owns the file, so every row still
// 'recording' at start is its own (whatever node id an earlier start had).
import type Database from 'better-sqlite3';
import {
  fileSize,
  INTERRUPTED_REASON,
  LIST_LIMIT,
  NODE_LOST_REASON,
  toInfo,
  toStored,
  type RecordingEnd,
  type RecordingInfo,
  type RecordingRow,
  type RecordingStart,
  type RecordingStore,
  type StoredRecording,
} from '../mr/recordingStore.js';
import type { Db } from './sqliteDatabase.js';

export class SqliteRecordingStore implements RecordingStore {
  private readonly insertRow: Database.Statement<[string, string, string, string, string, string, number, string]>;
  private readonly endRow: Database.Statement<[number, number, string, string | null, string]>;
  private readonly byRoom: Database.Statement<[string, number], RecordingRow>;
  private readonly all: Database.Statement<[number], RecordingRow>;
  private readonly byId: Database.Statement<[string], RecordingRow>;
  private readonly unfinished: Database.Statement<[], Pick<RecordingRow, 'id' | 'path'>>;
  private readonly markLost: Database.Statement<[number, string, string]>;
  private readonly transaction: Db['transaction'];

  constructor(
    db: Db,
    private readonly nodeId: string,
  ) {
    this.insertRow = db.prepare(
      "INSERT INTO recording (id, room_id, user_id, producer_id, kind, path, started_at, state, node_id) VALUES (?, ?, ?, ?, ?, ?, ?, 'recording', ?)",
    );
    this.endRow = db.prepare("UPDATE recording SET ended_at = ?, bytes = ?, state = ?, reason = ? WHERE id = ? AND state = 'recording'");
    this.byRoom = db.prepare<[string, number], RecordingRow>('SELECT * FROM recording WHERE room_id = ? ORDER BY started_at, id LIMIT ?');
    this.all = db.prepare<[number], RecordingRow>('SELECT * FROM recording ORDER BY started_at, id LIMIT ?');
    this.byId = db.prepare<[string], RecordingRow>('SELECT * FROM recording WHERE id = ?');
    this.unfinished = db.prepare<[], Pick<RecordingRow, 'id' | 'path'>>("SELECT id, path FROM recording WHERE state = 'recording'");
    this.markLost = db.prepare("UPDATE recording SET ended_at = ?, state = 'failed', reason = ? WHERE node_id = ? AND state = 'recording'");
    this.transaction = db.transaction.bind(db);
  }

  async started(r: RecordingStart): Promise<void> {
    this.insertRow.run(r.id, r.roomId, r.userId, r.producerId, r.kind, r.path, r.startedAt.getTime(), this.nodeId);
  }

  async ended(id: string, r: RecordingEnd): Promise<void> {
    this.endRow.run(r.endedAt.getTime(), r.bytes, r.state, r.reason ?? null, id);
  }

  async get(id: string): Promise<StoredRecording | undefined> {
    const row = this.byId.get(id);
    return row && toStored(row);
  }

  async list(roomId?: string): Promise<RecordingInfo[]> {
    return (roomId === undefined ? this.all.all(LIST_LIMIT) : this.byRoom.all(roomId, LIST_LIMIT)).map(toInfo);
  }

  async failInterrupted(now = Date.now()): Promise<number> {
    const rows = this.unfinished.all();
    const sizes = await Promise.all(rows.map((r) => fileSize(r.path)));
    // endRow changes only rows still 'recording': one ended meanwhile keeps its own end.
    this.transaction(() => rows.forEach((r, i) => this.endRow.run(now, sizes[i]!, 'failed', INTERRUPTED_REASON, r.id)))();
    return rows.length;
  }

  async failNodeLost(nodeId: string, now = Date.now()): Promise<number> {
    return this.markLost.run(now, NODE_LOST_REASON, nodeId).changes;
  }
}
