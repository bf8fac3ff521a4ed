// The recording table, in SQLite or PostgreSQL (src/server/store/): one row per recording,
// written when it starts and again when it ends, so the API never shows a file as fine before
// ffmpeg has finalized it. Each row names the node whose disk holds the file.
import { stat } from 'node:fs/promises';

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

/** A row with where its file is: fetch it from that node ('' for rows older than node ids: this node). */
export interface StoredRecording extends RecordingInfo {
  nodeId: string;
}

export interface RecordingStart {
  id: string;
  roomId: string;
  userId: string;
  producerId: string;
  kind: string;
  path: string;
  startedAt: Date;
}

export interface RecordingEnd {
  state: 'finished' | 'failed';
  endedAt: Date;
  bytes: number;
  reason?: string;
}

/**
 * One store per node (it writes its own node id into the rows it starts). Every method may reject
 * with StoreUnavailableError (store/errors.ts) while the database cannot answer.
 */
export interface RecordingStore {
  /** A new row in state 'recording', held by this node. */
  started(r: RecordingStart): Promise<void>;
  /** Ends a row still 'recording' (a row already ended is left as it is). */
  ended(id: string, r: RecordingEnd): Promise<void>;
  get(id: string): Promise<StoredRecording | undefined>;
  /** Oldest first; at most LIST_LIMIT rows. */
  list(roomId?: string): Promise<RecordingInfo[]>;
  /**
   * At start: this node's rows still 'recording' (every such row when the node runs alone: no
   * REDIS_URL) belong to a process that died (kill -9, power loss) before finalizing them. Their files are cut short (they decode up to the cut: see
   * recorder.ts), so they are marked failed (INTERRUPTED_REASON), not fine, with the size the
   * file really has. Resolves with how many.
   */
  failInterrupted(now?: number): Promise<number>;
  /** Another node is dead: its rows still 'recording' are marked failed (NODE_LOST_REASON). Resolves with how many. */
  failNodeLost(nodeId: string, now?: number): Promise<number>;
}

/** Rows per listing at most. */
export const LIST_LIMIT = 1000;
/** The reason of a recording whose server died (kill -9, power loss) while it ran. */
export const INTERRUPTED_REASON = 'server stopped';
/** The reason of a recording whose node another node found dead while it ran. */
export const NODE_LOST_REASON = 'node lost';

/** A row as both engines store it (times in epoch ms). */
export interface RecordingRow {
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
  node_id: string;
}

export function toInfo(row: RecordingRow): RecordingInfo {
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

export function toStored(row: RecordingRow): StoredRecording {
  return { ...toInfo(row), nodeId: row.node_id };
}

/** The size of a file on this node's disk; 0 when it is missing. */
export async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}
