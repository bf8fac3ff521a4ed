// The room's current speaker reaches a client that arrives after it started speaking (a late joiner,
// or a reconnect: both are a new socket), not only the next change. A real server process; the
// speaker is a werift peer whose audio carries the audio-level extension (bench/scalePeer.ts), as a
// browser's does; the listeners are plain `ws` clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROTOCOL_PARAM } from '../../src/protocol/messages.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';
import { ScalePeer } from '../../bench/scalePeer.js';
import { TestSocket, type Frame } from './wsClient.js';

let server: ServerProcess;
const peers: ScalePeer[] = [];
const sockets: TestSocket[] = [];

beforeAll(async () => {
  server = await startServerProcess({ env: { LOG_LEVEL: 'warn' } });
});
afterAll(async () => {
  await Promise.all(peers.map((p) => p.close(true)));
  await Promise.all(sockets.map((s) => s.close().catch(() => undefined)));
  await server?.stop();
});

/** A listener of protocol `version` in `roomId`, joined (its frames kept from the welcome on). */
async function listener(roomId: string, userId: string, version: 1 | 2): Promise<TestSocket> {
  const t = await server.connect(roomId, userId);
  const { socket, welcome } = await TestSocket.welcomed(version === 1 ? t.url : `${t.url}?${PROTOCOL_PARAM}=${version}`, t.token);
  sockets.push(socket);
  await socket.ok('join', { rtpCapabilities: welcome.data.routerRtpCapabilities });
  return socket;
}

const speakerFrames = (socket: TestSocket) => socket.frames.filter((f): f is Extract<Frame, { method: 'activeSpeaker' }> => f.type === 'notification' && f.method === 'activeSpeaker');

describe('the current speaker', () => {
  it('is told to a client that joins after A started speaking, right after its welcome, A unchanged', async () => {
    const room = 'late-speaker';
    const early = await listener(room, 'early', 2);
    const t = await server.connect(room, 'a');
    const a = await ScalePeer.open(t.url, t.token);
    peers.push(a);
    const { audio } = await a.produce();
    // A is the speaker: the client already there heard it change
    await early.notification('activeSpeaker', (d) => d.speaker?.producerId === audio);
    const told = speakerFrames(early).length;

    const late = await listener(room, 'late', 2);
    const [welcome, next] = late.frames;
    expect(welcome).toMatchObject({ type: 'notification', method: 'welcome' });
    expect(next).toEqual({ type: 'notification', method: 'activeSpeaker', data: { speaker: { userId: 'a', producerId: audio } } });
    // nothing changed meanwhile: the room told nobody anything new
    expect(speakerFrames(early).length).toBe(told);
    expect(speakerFrames(early).at(-1)?.data.speaker?.producerId).toBe(audio);

    // a version-1 client is never sent it (it would not know the notification): by its join's
    // answer, which comes after anything sent with the welcome, it has none
    const old = await listener(room, 'old', 1);
    expect(speakerFrames(old)).toEqual([]);
  });
});
