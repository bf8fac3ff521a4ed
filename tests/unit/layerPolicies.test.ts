// The two small policies of adaptive media: how a track is sent (simulcast.ts) and which layer a
// receiver asks for from the size it shows a video at (layerChoice.ts).
import { describe, expect, it } from 'vitest';
import { coveringLayer, layerSizes } from '../../src/client/layerChoice.js';
import { sendEncodings, type TrackShape } from '../../src/client/simulcast.js';

const video = (width?: number, height?: number, extra: Partial<TrackShape> & { displaySurface?: string } = {}): TrackShape => ({
  kind: 'video',
  contentHint: extra.contentHint ?? '',
  getSettings: () => ({ ...(width && { width }), ...(height && { height }), ...(extra.displaySurface && { displaySurface: extra.displaySurface }) }),
});
const scales = (encodings: RTCRtpEncodingParameters[] | undefined) => encodings?.map((e) => e.scaleResolutionDownBy);

describe('sendEncodings: simulcast by default for camera video', () => {
  it('three layers (4, 2, 1) from 540 lines up, two from 270, none below', () => {
    expect(scales(sendEncodings(video(1280, 720)))).toEqual([4, 2, 1]);
    expect(scales(sendEncodings(video(960, 540)))).toEqual([4, 2, 1]);
    expect(scales(sendEncodings(video(640, 480)))).toEqual([2, 1]);
    expect(scales(sendEncodings(video(480, 270)))).toEqual([2, 1]);
    expect(sendEncodings(video(320, 240))).toBeUndefined();
    // Portrait: the shorter side counts.
    expect(scales(sendEncodings(video(720, 1280)))).toEqual([4, 2, 1]);
    // A size the browser does not say: every layer (it drops what it cannot send).
    expect(scales(sendEncodings(video()))).toEqual([4, 2, 1]);
    expect(sendEncodings(video(1280, 720))!.every((e) => (e as { scalabilityMode?: string }).scalabilityMode === 'L1T3')).toBe(true);
  });

  it('none for audio, with simulcast: false, or for a screen unless asked; given encodings are used as they are', () => {
    expect(sendEncodings({ kind: 'audio' })).toBeUndefined();
    expect(sendEncodings({ kind: 'audio' }, { simulcast: true })).toBeUndefined();
    expect(sendEncodings(video(1280, 720), { simulcast: false })).toBeUndefined();
    expect(sendEncodings(video(1920, 1080, { displaySurface: 'monitor' }))).toBeUndefined();
    expect(sendEncodings(video(1920, 1080, { contentHint: 'text' }))).toBeUndefined();
    expect(scales(sendEncodings(video(1920, 1080, { displaySurface: 'monitor' }), { simulcast: true }))).toEqual([4, 2, 1]);
    const own = [{ scaleResolutionDownBy: 3, maxBitrate: 100_000 }, { maxBitrate: 900_000 }];
    const given = sendEncodings(video(1280, 720), { encodings: own, simulcast: false });
    expect(given).toEqual(own);
    expect(given![0]).not.toBe(own[0]);
  });
});

describe('layerChoice: the smallest layer that covers the element', () => {
  const sizes = layerSizes({ width: 320, height: 180 }, 0, [4, 2, 1]);

  it('layer sizes from a frame received at a known layer', () => {
    expect(sizes).toEqual([
      { width: 320, height: 180 },
      { width: 640, height: 360 },
      { width: 1280, height: 720 },
    ]);
    expect(layerSizes({ width: 1280, height: 720 }, 2, [4, 2, 1])).toEqual(sizes);
  });

  it('by the drawn width (object-fit: contain) times the pixel ratio; the top layer when none covers', () => {
    expect(coveringLayer({ width: 160, height: 90 }, 1, sizes)).toBe(0);
    expect(coveringLayer({ width: 320, height: 180 }, 1, sizes)).toBe(0);
    expect(coveringLayer({ width: 321, height: 181 }, 1, sizes)).toBe(1);
    expect(coveringLayer({ width: 320, height: 180 }, 2, sizes)).toBe(1);
    expect(coveringLayer({ width: 1920, height: 1080 }, 1, sizes)).toBe(2);
    // A tall box: the 16:9 video is drawn 400 wide in it, not 1000.
    expect(coveringLayer({ width: 400, height: 1000 }, 1, sizes)).toBe(1);
  });
});
