// A recv transport's handler as MediaDevice takes it over (src/client/probatorHandler.ts): the RTP
// probator is negotiated alone when prepared, or in the first receive that has a video, so a late
// joiner's offer is one negotiation. Real mediasoup-client Transport over its FakeHandler; the
// handler's receive calls are recorded.
import { Device } from 'mediasoup-client';
import * as fakeParameters from 'mediasoup-client/fakeParameters';
import type { HandlerFactory } from 'mediasoup-client/handlers/HandlerInterface';
import { describe, expect, it } from 'vitest';
import { foldProbator, prepareToReceive } from '../../src/client/probatorHandler.js';
import { fakeHandlerFactory } from './support/fakeServer.js';

/** A recv transport whose handler's receive calls (their track ids) are recorded, with or without the fold. */
async function recvTransport(fold: boolean) {
  const receives: string[][] = [];
  const fake = fakeHandlerFactory();
  const recording: HandlerFactory = {
    ...fake,
    factory: (options) => {
      const handler = fake.factory(options);
      const receive = handler.receive.bind(handler);
      handler.receive = (list) => (receives.push(list.map((o) => o.trackId)), receive(list));
      return handler;
    },
  };
  const device = new Device({ handlerFactory: recording });
  await device.load({ routerRtpCapabilities: fakeParameters.generateRouterRtpCapabilities() });
  const transport = device.createRecvTransport(fakeParameters.generateTransportRemoteParameters());
  if (fold) foldProbator(transport.handler);
  const connects: unknown[] = [];
  transport.on('connect', (params, callback) => (connects.push(params), callback()));
  const consume = (kind: 'audio' | 'video') => transport.consume(fakeParameters.generateConsumerRemoteParameters({ codecMimeType: kind === 'video' ? 'video/VP8' : 'audio/opus' }));
  const prepare = () => prepareToReceive(transport.handler, device.rtpCapabilities);
  return { receives, consume, prepare, connects };
}

describe('the probator in the first video receive', () => {
  it('a first batch with videos is one receive, the probator last; later receives are the consumers alone', async () => {
    const { receives, consume } = await recvTransport(true);
    const first = await Promise.all([consume('video'), consume('audio'), consume('video')]);
    expect(first.map((c) => c.kind)).toEqual(['video', 'audio', 'video']);
    expect(first.every((c) => c.track.readyState === 'live')).toBe(true);
    const later = await consume('video');
    expect(receives).toEqual([[...first.map((c) => c.id), 'probator'], [later.id]]);
  });

  it('mediasoup-client alone negotiates the probator in a receive of its own (what the fold removes)', async () => {
    const { receives, consume } = await recvTransport(false);
    const first = await Promise.all([consume('video'), consume('audio')]);
    expect(receives).toEqual([first.map((c) => c.id), ['probator']]);
  });

  it('prepared: the probator alone at once (the transport connects), then the consumers alone, a video among them too', async () => {
    const { receives, consume, prepare, connects } = await recvTransport(true);
    prepare();
    // The consumers asked meanwhile wait for the probator's turn.
    const first = await Promise.all([consume('video'), consume('audio')]);
    prepare();
    const later = await consume('video');
    expect(receives).toEqual([['probator'], first.map((c) => c.id), [later.id]]);
    expect(connects).toHaveLength(1);
  });

  it('a handler not taken over is not prepared', async () => {
    const { receives, consume, prepare } = await recvTransport(false);
    prepare();
    const video = await consume('video');
    expect(receives).toEqual([[video.id], ['probator']]);
  });

  it('audio first: no probator until the first video, which brings it', async () => {
    const { receives, consume } = await recvTransport(true);
    const audio = await consume('audio');
    const video = await consume('video');
    const next = await consume('video');
    expect(receives).toEqual([[audio.id], [video.id, 'probator'], [next.id]]);
  });
});
