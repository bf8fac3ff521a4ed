// Call health: the browser's RTCStatsReport of one sender or receiver, and the server's side of the
// same stream, turned into the typed summaries `getStats()` resolves to. Numbers only, units in the
// names, `null` where the browser reports nothing. Rates and interval losses come from the difference
// with an earlier report of the same stream (`StatsHistory`).
import type { ServerStreamStats } from '../protocol/messages.js';

export type { ServerStreamStats };

/** `ProduceManager.getStats()`: what this browser sends on one track, and what the server receives of it. */
export interface ProducerStats {
  producerId: string;
  kind: 'audio' | 'video';
  /** e.g. `'video/VP8'`. */
  codec: string | null;
  /** Over the last interval (since an earlier report at least {@link RATE_INTERVAL_MS} older), all encodings together. */
  bitrateBps: number | null;
  packetsSent: number | null;
  /** As the server reported them back (RTCP). */
  packetsLost: number | null;
  /** The server's last RTCP report, 0-1 (the worst encoding). */
  lossFraction: number | null;
  jitterMs: number | null;
  roundTripTimeMs: number | null;
  /** Of the largest encoding being sent. */
  framesPerSecond: number | null;
  frameWidth: number | null;
  frameHeight: number | null;
  /** Simulcast: how many encodings are being sent now (`null` with a single encoding). */
  sendingLayers: number | null;
  /** The server's score (0-10) of what it receives, as last notified. */
  score: number | null;
  /** The server's side; `null` when it could not be asked (not connected, or not produced now). */
  server: ServerStreamStats | null;
}

/** `ConsumeManager.getStats()`: what this browser receives on one track, and what the server sends on it. */
export interface ConsumerStats {
  consumerId: string;
  producerId: string;
  kind: 'audio' | 'video';
  codec: string | null;
  bitrateBps: number | null;
  packetsReceived: number | null;
  packetsLost: number | null;
  /** Over the last interval: lost / (received + lost), 0-1. */
  lossFraction: number | null;
  jitterMs: number | null;
  roundTripTimeMs: number | null;
  framesPerSecond: number | null;
  frameWidth: number | null;
  frameHeight: number | null;
  /** Audio: the level of what was played (dBov, -127 for silence). */
  audioLevelDbov: number | null;
  /** Simulcast: the spatial (and temporal) layer the server forwards now. */
  layers: { spatialLayer: number; temporalLayer?: number } | null;
  /** What reaches this client (0-10): the worse of the server's scores of its producer and of this consumer. */
  score: number | null;
  server: ServerStreamStats | null;
}

/** `client.getStats()`. */
export interface ClientStats {
  connectionQuality: 'excellent' | 'good' | 'poor' | 'lost';
  /** The selected ICE candidate pair's (the send transport's, else the receive transport's). */
  roundTripTimeMs: number | null;
  /** What the browser's bandwidth estimate allows on the send transport. */
  availableOutgoingBitrateBps: number | null;
  producers: ProducerStats[];
  consumers: ConsumerStats[];
}

/** A bitrate is measured over at least this much time. */
export const RATE_INTERVAL_MS = 500;

/** One entry of an RTCStatsReport, read loosely (browsers differ in what they fill in). */
type Entry = { id: string; type: string; timestamp: number } & Record<string, unknown>;
/** What an RTCStatsReport is read as: a map of entries (a fixture can be a plain Map). */
export type StatsReport = Pick<ReadonlyMap<string, unknown>, 'values' | 'get'>;

const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const entries = (report: StatsReport, type: string): Entry[] => [...report.values()].filter((e): e is Entry => (e as Entry)?.type === type);
const sum = (values: (number | null)[]): number | null => (values.some((v) => v !== null) ? values.reduce<number>((a, v) => a + (v ?? 0), 0) : null);
const max = (values: (number | null)[]): number | null => {
  const present = values.filter((v): v is number => v !== null);
  return present.length ? Math.max(...present) : null;
};
const ms = (seconds: number | null): number | null => (seconds === null ? null : seconds * 1000);

/** Earlier counters of each stream (by its stats id), to turn totals into rates over an interval. */
export class StatsHistory {
  readonly #samples = new Map<string, Array<{ at: number; values: Record<string, number> }>>();

  /**
   * Records `values` at `at` (ms) and returns how much each grew since the newest earlier sample at
   * least `minIntervalMs` older (else the oldest kept), with the interval; `null` the first time.
   */
  delta(key: string, at: number, values: Record<string, number>, minIntervalMs = RATE_INTERVAL_MS): { intervalMs: number; growth: Record<string, number> } | null {
    const samples = this.#samples.get(key) ?? [];
    const older = samples.filter((s) => s.at < at);
    const base = [...older].reverse().find((s) => at - s.at >= minIntervalMs) ?? older[0];
    if (!samples.some((s) => s.at === at)) samples.push({ at, values });
    // Keep what a later call can still need: the newest sample old enough, and everything after it.
    let keepFrom = 0;
    samples.forEach((s, i) => {
      if (at - s.at >= minIntervalMs) keepFrom = i;
    });
    this.#samples.set(key, samples.slice(keepFrom).slice(-16));
    if (!base) return null;
    const growth: Record<string, number> = {};
    for (const [name, value] of Object.entries(values)) growth[name] = value - (base.values[name] ?? 0);
    return { intervalMs: at - base.at, growth };
  }
}

function codecOf(report: StatsReport, entry: Entry | undefined): string | null {
  const codec = entry && typeof entry.codecId === 'string' ? (report.get(entry.codecId) as Entry | undefined) : undefined;
  return typeof codec?.mimeType === 'string' ? codec.mimeType : null;
}

/** The selected candidate pair of the report's transport (or the nominated succeeded one). */
export function selectedPair(report: StatsReport): Entry | undefined {
  const transport = entries(report, 'transport')[0];
  const selected = transport && typeof transport.selectedCandidatePairId === 'string' ? (report.get(transport.selectedCandidatePairId) as Entry | undefined) : undefined;
  return selected ?? entries(report, 'candidate-pair').find((p) => p.state === 'succeeded' && p.nominated === true);
}

function bitrate(history: StatsHistory, key: string, at: number, bytes: number | null): number | null {
  if (bytes === null) return null;
  const d = history.delta(`${key}:bytes`, at, { bytes });
  return d && d.intervalMs > 0 ? Math.max(0, Math.round((d.growth.bytes! * 8 * 1000) / d.intervalMs)) : null;
}

/** A sender's report (`producer.getStats()`) → its summary. */
export function summariseSender(
  report: StatsReport,
  history: StatsHistory,
  about: { producerId: string; kind: 'audio' | 'video'; score: number | null; server: ServerStreamStats | null },
): ProducerStats {
  const outbound = entries(report, 'outbound-rtp').filter((e) => e.kind === about.kind || e.mediaType === about.kind);
  const remote = entries(report, 'remote-inbound-rtp').filter((e) => outbound.some((o) => o.id === e.localId) || e.kind === about.kind);
  const rates = outbound.map((o) => bitrate(history, o.id, o.timestamp, num(o.bytesSent)));
  // An encoding that sent nothing in the last interval (simulcast, bandwidth short) is not being sent.
  const sending = outbound.filter((o, i) => o.active !== false && (rates[i] ?? 1) > 0);
  const largest = sending.reduce<Entry | undefined>((a, o) => ((num(o.frameWidth) ?? 0) > (num(a?.frameWidth) ?? -1) ? o : a), undefined);
  const pairRtt = ms(num(selectedPair(report)?.currentRoundTripTime));
  return {
    producerId: about.producerId,
    kind: about.kind,
    codec: codecOf(report, outbound[0]),
    bitrateBps: sum(rates),
    packetsSent: sum(outbound.map((o) => num(o.packetsSent))),
    packetsLost: sum(remote.map((r) => num(r.packetsLost))),
    lossFraction: max(remote.map((r) => num(r.fractionLost))),
    jitterMs: ms(max(remote.map((r) => num(r.jitter)))),
    roundTripTimeMs: ms(max(remote.map((r) => num(r.roundTripTime)))) ?? pairRtt,
    framesPerSecond: num(largest?.framesPerSecond),
    frameWidth: num(largest?.frameWidth),
    frameHeight: num(largest?.frameHeight),
    sendingLayers: outbound.length > 1 ? sending.length : null,
    score: about.score,
    server: about.server,
  };
}

/** A receiver's report (`consumer.getStats()`) → its summary. */
export function summariseReceiver(
  report: StatsReport,
  history: StatsHistory,
  about: {
    consumerId: string;
    producerId: string;
    kind: 'audio' | 'video';
    layers: ConsumerStats['layers'];
    score: number | null;
    server: ServerStreamStats | null;
  },
): ConsumerStats {
  const inbound = entries(report, 'inbound-rtp').find((e) => e.kind === about.kind || e.mediaType === about.kind);
  const received = num(inbound?.packetsReceived);
  const lost = num(inbound?.packetsLost);
  let lossFraction: number | null = null;
  if (inbound && received !== null && lost !== null) {
    const d = history.delta(`${inbound.id}:loss`, inbound.timestamp, { received, lost });
    const expected = d ? d.growth.received! + d.growth.lost! : 0;
    lossFraction = d && expected > 0 ? Math.min(1, Math.max(0, d.growth.lost! / expected)) : d ? 0 : null;
  }
  const level = num(inbound?.audioLevel);
  return {
    consumerId: about.consumerId,
    producerId: about.producerId,
    kind: about.kind,
    codec: codecOf(report, inbound),
    bitrateBps: inbound ? bitrate(history, inbound.id, inbound.timestamp, num(inbound.bytesReceived)) : null,
    packetsReceived: received,
    packetsLost: lost,
    lossFraction,
    jitterMs: ms(num(inbound?.jitter)),
    roundTripTimeMs: ms(num(selectedPair(report)?.currentRoundTripTime)),
    framesPerSecond: num(inbound?.framesPerSecond),
    frameWidth: num(inbound?.frameWidth),
    frameHeight: num(inbound?.frameHeight),
    // The browser's audioLevel is linear (0-1, 1 = 0 dBov).
    audioLevelDbov: level === null ? null : level > 0 ? Math.max(-127, 20 * Math.log10(level)) : -127,
    layers: about.layers,
    score: about.score,
    server: about.server,
  };
}
