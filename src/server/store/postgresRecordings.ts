// The recording table in PostgreSQL: every node writes its own rows (node_id) and lists all of them.
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
import type { PgDatabase } from './postgresDatabase.js';

const COLUMNS = 'id, room_id, user_id, producer_id, kind, path, started_at, ended_at, bytes, state, reason, node_id';
const END_ROW = "UPDATE recording SET ended_at = $1, bytes = $2, state = $3, reason = $4 WHERE id = $5 AND state = 'recording'";

export class PostgresRecordingStore implements RecordingStore {
  /**
   * `alone`: no cluster (no REDIS_URL), so every running row is this node's, whatever id an earlier
   * start had (NODE_ID is generated per start when unset).
   */
  constructor(
    private readonly db: PgDatabase,
    private readonly nodeId: string,
    private readonly alone: boolean,
  ) {}

  async started(r: RecordingStart): Promise<void> {
    await this.db.query(
      "INSERT INTO recording (id, room_id, user_id, producer_id, kind, path, started_at, state, node_id) VALUES ($1, $2, $3, $4, $5, $6, $7, 'recording', $8)",
      [r.id, r.roomId, r.userId, r.producerId, r.kind, r.path, r.startedAt.getTime(), this.nodeId],
    );
  }

  async ended(id: string, r: RecordingEnd): Promise<void> {
    await this.db.query(END_ROW, [r.endedAt.getTime(), r.bytes, r.state, r.reason ?? null, id]);
  }

  async get(id: string): Promise<StoredRecording | undefined> {
    const { rows } = await this.db.query<RecordingRow>(`SELECT ${COLUMNS} FROM recording WHERE id = $1`, [id]);
    return rows[0] && toStored(rows[0]);
  }

  async list(roomId?: string): Promise<RecordingInfo[]> {
    const { rows } =
      roomId === undefined
        ? await this.db.query<RecordingRow>(`SELECT ${COLUMNS} FROM recording ORDER BY started_at, id LIMIT $1`, [LIST_LIMIT])
        : await this.db.query<RecordingRow>(`SELECT ${COLUMNS} FROM recording WHERE room_id = $1 ORDER BY started_at, id LIMIT $2`, [roomId, LIST_LIMIT]);
    return rows.map(toInfo);
  }

  /** In a cluster only this node's rows: the files are on its disk, and other nodes' recordings may be running. */
  async failInterrupted(now = Date.now()): Promise<number> {
    const { rows } = await this.db.query<Pick<RecordingRow, 'id' | 'path'>>("SELECT id, path FROM recording WHERE ($1::text IS NULL OR node_id = $1) AND state = 'recording'", [
      this.alone ? null : this.nodeId,
    ]);
    const sizes = await Promise.all(rows.map((r) => fileSize(r.path)));
    const ids = rows.map((r) => r.id);
    if (ids.length === 0) return 0;
    // One statement for all of them; a row ended meanwhile keeps its own end.
    const { rowCount } = await this.db.query(
      `UPDATE recording SET ended_at = $1, bytes = f.bytes, state = 'failed', reason = $2
         FROM unnest($3::text[], $4::bigint[]) AS f(id, bytes) WHERE recording.id = f.id AND recording.state = 'recording'`,
      [now, INTERRUPTED_REASON, ids, sizes],
    );
    return rowCount ?? 0;
  }

  /** The dead node's files cannot be measured from here: their bytes stay as the row had them. */
  async failNodeLost(nodeId: string, now = Date.now()): Promise<number> {
    const { rowCount } = await this.db.query("UPDATE recording SET ended_at = $1, state = 'failed', reason = $2 WHERE node_id = $3 AND state = 'recording'", [
      now,
      NODE_LOST_REASON,
      nodeId,
    ]);
    return rowCount ?? 0;
  }
}
