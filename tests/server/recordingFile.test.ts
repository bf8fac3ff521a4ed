// GET /v1/api/recordings/:id/file on the real server: a real recording (werift client, real
// mediasoup worker and ffmpeg) downloaded whole and by ranges, refused while it is still being
// written, and nothing outside RECORDINGS_DIR served whatever the id says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parseRange } from '../../src/server/ma/recordingFile.js';
import { MediaPeer } from '../recording/mediaPeer.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';

describe('parseRange', () => {
  it.each([
    [undefined, 100, null],
    ['bytes=0-9', 100, { start: 0, end: 9 }],
    ['bytes=90-', 100, { start: 90, end: 99 }],
    ['bytes=-10', 100, { start: 90, end: 99 }],
    ['bytes=-1000', 100, { start: 0, end: 99 }],
    ['bytes=50-1000', 100, { start: 50, end: 99 }],
    ['bytes=100-', 100, 'unsatisfiable'],
    ['bytes=-0', 100, 'unsatisfiable'],
    ['bytes=9-0', 100, 'unsatisfiable'],
    ['bytes=0-', 0, 'unsatisfiable'],
    // Not one well-formed range: ignored, the whole file is sent.
    ['bytes=0-1,5-6', 100, null],
    ['items=0-9', 100, null],
    ['bytes=-', 100, null],
  ] as const)('%s of %i bytes', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});

describe('GET /v1/api/recordings/:id/file', () => {
  let server: ServerProcess;
  let peer: MediaPeer;
  let recording: { id: string; path: string };
  let bytes: Buffer;

  const get = (id: string, headers: Record<string, string> = {}, key = server.apiKey) =>
    fetch(`${server.httpUrl}/v1/api/recordings/${id}/file`, { headers: { authorization: `Bearer ${key}`, ...headers } });

  beforeAll(async () => {
    server = await startServerProcess();
    const t = await server.connect('files', 'alice');
    peer = await MediaPeer.produce(t.url, t.token);
    await peer.socket.ok('startRecord', { producerId: peer.producerId('video') });
    // Half a second of content, then a finished file.
    await new Promise((r) => setTimeout(r, 500));
    recording = await peer.socket.ok<{ id: string; path: string }>('stopRecord', { producerId: peer.producerId('video') });
    bytes = readFileSync(recording.path);
  });
  afterAll(async () => {
    await peer?.close();
    await server?.stop();
  });

  it('streams the whole file with its type and length', async () => {
    const res = await get(recording.id);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/webm');
    expect(res.headers.get('content-length')).toBe(String(bytes.length));
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it.each([
    ['bytes=0-99', 0, 99],
    ['bytes=100-', 100, -1],
    ['bytes=-64', -64, -1],
  ])('answers %s with 206 and exactly those bytes', async (range, from, to) => {
    const start = from < 0 ? bytes.length + from : from;
    const end = to < 0 ? bytes.length - 1 : to;
    const res = await get(recording.id, { range });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${bytes.length}`);
    expect(res.headers.get('content-length')).toBe(String(end - start + 1));
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(start, end + 1))).toBe(true);
  });

  it('answers a range past the end with 416 and the size', async () => {
    const res = await get(recording.id, { range: `bytes=${bytes.length}-` });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
    expect(await res.json()).toMatchObject({ error: { code: 'RANGE_NOT_SATISFIABLE' } });
  });

  it('refuses a wrong key with 401', async () => {
    const res = await get(recording.id, {}, 'not-the-key');
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });

  it('answers 404 for an unknown id and 409 while the recording is written', async () => {
    expect((await get(randomUUID())).status).toBe(404);
    const { recordingId } = await peer.socket.ok<{ recordingId: string }>('startRecord', { producerId: peer.producerId('audio') });
    const res = await get(recordingId);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: { code: 'RECORDING_IN_PROGRESS' } });
    await peer.socket.ok('stopRecord', { producerId: peer.producerId('audio') });
    expect((await get(recordingId)).status).toBe(200);
  });

  it('serves nothing outside RECORDINGS_DIR, whatever the id or the row says', async () => {
    const secret = readFileSync(server.databasePath);
    const ids = [
      '..',
      '%2e%2e',
      '..%2F..%2F..%2Fetc%2Fpasswd',
      '%2Fetc%2Fpasswd',
      encodeURIComponent(server.databasePath),
      encodeURIComponent(recording.path),
      encodeURIComponent(`../${recording.id}`),
      `${recording.id}%00`,
      `${recording.id}%2F..`,
      recording.id.toUpperCase(),
    ];
    for (const id of ids) {
      const res = await get(id);
      expect(res.status, id).toBe(404);
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.includes(secret.subarray(0, 16)), id).toBe(false);
    }
    // Rows that point outside (a moved RECORDINGS_DIR; a symlink planted inside it) are not served.
    const outside = randomUUID();
    const planted = randomUUID();
    symlinkSync('/etc/passwd', join(server.recordingsDir, `${planted}.webm`));
    const db = new Database(server.databasePath);
    try {
      const insert = db.prepare(
        "INSERT INTO recording (id, room_id, user_id, producer_id, kind, path, started_at, ended_at, bytes, state) VALUES (?, 'files', 'mallory', 'p', 'video', ?, 0, 1, 1, 'finished')",
      );
      insert.run(outside, '/etc/passwd');
      insert.run(planted, join(server.recordingsDir, `${planted}.webm`));
    } finally {
      db.close();
    }
    for (const id of [outside, planted]) {
      const res = await get(id);
      expect(res.status, id).toBe(404);
      expect(await res.text()).not.toContain('root:');
    }
  });
});
