// GET /v1/api/recordings/:id/file: a recording's file, streamed, with HTTP range support.
//
// The id is looked up in the recording table and only a row's own path is ever opened, and only
// when it lies inside RECORDINGS_DIR once symlinks are resolved: no part of the request becomes a
// path. The caller (the route table) checks the API key first.
import { open, realpath } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { RecordingStore } from '../mr/recordingStore.js';

export interface RecordingFileDeps {
  recordings: RecordingStore;
  recordingsDir: string;
  /** The `:id` of the path, as it came (decoded or not: anything but a recording id is a 404). */
  id: string;
}

export type RecordingFileErrorCode = 'NOT_FOUND' | 'RECORDING_IN_PROGRESS' | 'RANGE_NOT_SATISFIABLE';

/** Recording ids are UUIDs (randomUUID in recordings.ts). */
export const RECORDING_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const CONTENT_TYPES: Record<string, string> = {
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.ogg': 'audio/ogg',
};

function sendError(res: ServerResponse, status: number, code: RecordingFileErrorCode, message: string, headers: Record<string, string> = {}): void {
  const text = JSON.stringify({ error: { code, message } });
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** The single byte range a Range header asks of `size` bytes: null to send it all, 'unsatisfiable' for 416. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  // Anything but one well-formed bytes range is ignored (RFC 9110 14.2: a server may ignore Range).
  const match = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (!match || (match[1] === '' && match[2] === '')) return null;
  const [first, last] = [match[1]!, match[2]!];
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || (last !== '' && Number(last) < start)) return 'unsatisfiable';
  return { start, end };
}

/** Opens the row's file if it is a regular file inside `dir` (symlinks resolved), else undefined. */
async function openInside(dir: string, path: string): Promise<{ file: FileHandle; size: number } | undefined> {
  try {
    const [root, real] = await Promise.all([realpath(dir), realpath(path)]);
    if (!real.startsWith(root + sep)) return undefined;
    const file = await open(real, 'r');
    const info = await file.stat();
    if (info.isFile()) return { file, size: info.size };
    await file.close();
  } catch {
    // missing (never written, or removed): not found
  }
  return undefined;
}

export async function serveRecordingFile(req: IncomingMessage, res: ServerResponse, { recordings, recordingsDir, id }: RecordingFileDeps): Promise<void> {
  const row = RECORDING_ID.test(id) ? await recordings.get(id) : undefined;
  if (!row) return sendError(res, 404, 'NOT_FOUND', 'no such recording');
  if (row.state === 'recording') return sendError(res, 409, 'RECORDING_IN_PROGRESS', 'the recording is still being written; stop it first');
  const opened = await openInside(recordingsDir, row.path);
  if (!opened) return sendError(res, 404, 'NOT_FOUND', 'the recording has no file');
  const { file, size } = opened;
  try {
    const range = parseRange(req.headers.range, size);
    const common = {
      'content-type': CONTENT_TYPES[extname(row.path)] ?? 'application/octet-stream',
      'accept-ranges': 'bytes',
      'content-disposition': `attachment; filename="${row.id}${extname(row.path)}"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    };
    if (range === 'unsatisfiable') return sendError(res, 416, 'RANGE_NOT_SATISFIABLE', `the file has ${size} bytes`, { 'content-range': `bytes */${size}` });
    const { start, end } = range ?? { start: 0, end: size - 1 };
    res.writeHead(range ? 206 : 200, {
      ...common,
      'content-length': end - start + 1,
      ...(range && { 'content-range': `bytes ${start}-${end}/${size}` }),
    });
    if (req.method === 'HEAD' || size === 0) return void res.end();
    // pipeline: backpressure from a slow client, and the file closed however the response ends.
    await pipeline(file.createReadStream({ start, end, autoClose: false }), res).catch(() => res.destroy());
  } finally {
    await file.close();
  }
}
