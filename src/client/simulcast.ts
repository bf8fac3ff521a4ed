// How a track is sent: as simulcast (several encodings of different sizes, the server forwards one
// to each receiver) or as one encoding. A policy of its own, small and unit-tested.

/** `produceTrack`'s sending options, kept by the producer for every production (after a reconnect or `replaceTrack` too). */
export interface SendSettings {
  /**
   * Video only. Default: camera video is sent as simulcast (up to three spatial layers, scaled 4, 2
   * and 1, fewer for small tracks); a screen track (`displaySurface` set, or `contentHint`
   * `'detail'` / `'text'`) as one full-size encoding, since text scaled down is unreadable. `true`
   * asks for the layers for a screen too; `false` never sends them. Audio is always one encoding.
   */
  simulcast?: boolean;
  /** The encodings to send, verbatim (e.g. your own `scaleResolutionDownBy` / `maxBitrate`): overrides `simulcast`. */
  encodings?: RTCRtpEncodingParameters[];
}

/** The default layers, lowest first: how much each is scaled down from the track's size. */
export const SIMULCAST_SCALES: readonly number[] = [4, 2, 1];
/**
 * A layer is sent only when its shorter side is at least this many pixels: 540p and up get three
 * layers, 270p-539p two, below that one (no simulcast). The same steps as libwebrtc's own
 * simulcast limits for VP8/H264, which would otherwise drop the extra layers silently.
 */
export const MIN_LAYER_SHORT_SIDE = 135;
/** Three temporal layers in each encoding: a receiver can also drop the frame rate (VP8, H264). */
const SCALABILITY_MODE = 'L1T3';

/** What the policy reads of a track (a MediaStreamTrack has all of it). */
export interface TrackShape {
  kind: string;
  contentHint?: string;
  getSettings?(): { width?: number; height?: number; displaySurface?: string };
}

function isScreen(track: TrackShape): boolean {
  const settings = track.getSettings?.() ?? {};
  return settings.displaySurface !== undefined || track.contentHint === 'detail' || track.contentHint === 'text';
}

/** The encodings to produce `track` with; `undefined` for the browser's single default encoding. */
export function sendEncodings(track: TrackShape, settings: SendSettings = {}): RTCRtpEncodingParameters[] | undefined {
  if (settings.encodings?.length) return settings.encodings.map((e) => ({ ...e }));
  if (track.kind !== 'video' || settings.simulcast === false) return undefined;
  if (settings.simulcast === undefined && isScreen(track)) return undefined;
  const { width, height } = track.getSettings?.() ?? {};
  // A size the browser does not report: offer every layer (it drops what it cannot send).
  const shortSide = width && height ? Math.min(width, height) : Infinity;
  const scales = SIMULCAST_SCALES.filter((scale) => scale === 1 || shortSide / scale >= MIN_LAYER_SHORT_SIDE);
  if (scales.length < 2) return undefined;
  return scales.map((scale) => ({ scaleResolutionDownBy: scale, scalabilityMode: SCALABILITY_MODE }));
}
