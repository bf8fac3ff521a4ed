// What the client puts on the wire and hands to mediasoup-client for adaptive media: the simulcast
// encodings in `produce`, the ICE servers of every transport, the typed refusals of bad options.
import { afterEach, describe, expect, it } from 'vitest';
import type { Device } from 'mediasoup-client';
import type { ConsumeManager } from '../../src/client/index.js';
import { startClient, until, waitForState } from './support/clientHelpers.js';
import { fakeDevice, fakeTrack } from './support/fakeServer.js';

const clients: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function sized(width: number, height: number): MediaStreamTrack {
  const track = fakeTrack('video');
  Object.assign(track, { getSettings: () => ({ width, height }) });
  return track;
}

describe('produceTrack: how video is sent', () => {
  it('a 1280x720 camera as three encodings (4, 2, 1), one with simulcast: false, audio as one; bad options are BAD_REQUEST', async () => {
    const started = startClient();
    clients.push(started.client);
    const { client, server } = started;
    await waitForState(client, 'connected');
    const encodings = () => (server.requests.filter((r) => r.method === 'produce').at(-1)!.data.rtpParameters.encodings ?? []) as Array<{ scaleResolutionDownBy?: number }>;

    await client.produceTrack(sized(1280, 720));
    expect(encodings().map((e) => e.scaleResolutionDownBy)).toEqual([4, 2, 1]);
    await client.produceTrack(sized(1280, 720), { simulcast: false });
    expect(encodings()).toHaveLength(1);
    expect(encodings()[0]!.scaleResolutionDownBy).toBeUndefined();
    await client.produceTrack(fakeTrack('audio'), { simulcast: true });
    expect(encodings()).toHaveLength(1);

    await expect(client.produceTrack(sized(1280, 720), { simulcast: 'yes' as unknown as boolean })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(client.produceTrack(sized(1280, 720), { encodings: {} as unknown as RTCRtpEncodingParameters[] })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('replaceTrack keeps the producer and refuses another kind or an ended track', async () => {
    const started = startClient();
    clients.push(started.client);
    const { client, server } = started;
    await waitForState(client, 'connected');
    const pm = await client.produceTrack(sized(1280, 720));
    const next = sized(640, 480);
    await pm.replaceTrack(next);
    expect([pm.track, pm.state]).toEqual([next, 'live']);
    expect(server.methods().filter((m) => m === 'produce')).toHaveLength(1);
    await expect(pm.replaceTrack(fakeTrack('audio'))).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    const ended = sized(640, 480);
    ended.stop();
    await expect(pm.replaceTrack(ended)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    // The new track's end closes the producer, the old one's no longer does.
    next.stop();
    await until(() => pm.state === 'closed');
  });
});

describe('iceServers and iceTransportPolicy', () => {
  it('reach every transport the client makes', async () => {
    const seen: Array<{ direction: string; iceServers: unknown; iceTransportPolicy: unknown }> = [];
    const deviceFactory = (): Device => {
      const device = fakeDevice();
      for (const direction of ['Send', 'Recv'] as const) {
        const create = device[`create${direction}Transport`].bind(device);
        device[`create${direction}Transport`] = ((options: Parameters<typeof create>[0]) => {
          seen.push({ direction, iceServers: options.iceServers, iceTransportPolicy: options.iceTransportPolicy });
          return create(options);
        }) as typeof create;
      }
      return device;
    };
    const iceServers = [{ urls: 'turn:turn.example.com:443?transport=tcp', username: 'u', credential: 'c' }];
    const started = startClient(undefined, { deviceFactory, iceServers, iceTransportPolicy: 'relay' });
    clients.push(started.client);
    const consumers: ConsumeManager[] = [];
    started.client.listenTrack((cm) => consumers.push(cm));
    await waitForState(started.client, 'connected');
    await until(() => seen.length === 2);
    expect(seen).toEqual([
      { direction: 'Send', iceServers, iceTransportPolicy: 'relay' },
      { direction: 'Recv', iceServers, iceTransportPolicy: 'relay' },
    ]);
  });
});
