// Call health's pure parts: the quality thresholds and their debounce, and the stats summaries
// made from RTCStatsReports as Chromium gives them (fixtures captured by tests/e2e/callHealth.test.ts
// with CAPTURE_STATS_FIXTURES=1: a 320x240 VP8 camera and an Opus microphone, sender and receiver).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StatsHistory, summariseReceiver, summariseSender, type StatsReport } from '../../src/client/callStats.js';
import { BETTER_AFTER_MS, classifyQuality, QualityDebouncer, WORSE_AFTER_MS, type QualitySample } from '../../src/client/connectionQuality.js';

type Entry = { id: string; type: string; timestamp: number } & Record<string, unknown>;
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/chromiumStats.json', import.meta.url), 'utf8')) as Record<string, Entry[]>;
const report = (entries: Entry[]): StatsReport => new Map(entries.map((e) => [e.id, e]));
/** The same report `ms` later, with each entry of `type` changed by `change`. */
const later = (entries: Entry[], ms: number, type: string, change: (e: Entry) => Partial<Entry>): Entry[] =>
  entries.map((e) => ({ ...e, timestamp: e.timestamp + ms, ...(e.type === type ? change(e) : {}) }));

const sample = (s: Partial<QualitySample>): QualitySample => ({ connected: true, scores: [], lossFraction: null, roundTripTimeMs: null, ...s });

describe('connection quality thresholds', () => {
  it('the worst of scores, loss and RTT; lost when not connected; nothing measured is nothing wrong', () => {
    expect(classifyQuality(sample({}))).toBe('excellent');
    expect(classifyQuality(sample({ connected: false, scores: [10] }))).toBe('lost');
    expect(classifyQuality(sample({ scores: [10, 9] }))).toBe('excellent');
    expect(classifyQuality(sample({ scores: [10, 8] }))).toBe('good');
    expect(classifyQuality(sample({ scores: [7] }))).toBe('good');
    expect(classifyQuality(sample({ scores: [10, 6] }))).toBe('poor');
    expect(classifyQuality(sample({ lossFraction: 0.02 }))).toBe('excellent');
    expect(classifyQuality(sample({ lossFraction: 0.021 }))).toBe('good');
    expect(classifyQuality(sample({ lossFraction: 0.1 }))).toBe('good');
    expect(classifyQuality(sample({ lossFraction: 0.3 }))).toBe('poor');
    expect(classifyQuality(sample({ roundTripTimeMs: 200 }))).toBe('excellent');
    expect(classifyQuality(sample({ roundTripTimeMs: 201 }))).toBe('good');
    expect(classifyQuality(sample({ roundTripTimeMs: 501 }))).toBe('poor');
    expect(classifyQuality(sample({ scores: [10], lossFraction: 0, roundTripTimeMs: 600 }))).toBe('poor');
  });
});

describe('connection quality debounce', () => {
  it(`takes a worse level only once it held ${WORSE_AFTER_MS} ms: one bad sample is not trouble`, () => {
    const d = new QualityDebouncer('excellent');
    expect(d.push('poor', 0)).toBe('excellent');
    expect(d.push('excellent', 1000)).toBe('excellent');
    expect(d.push('poor', 2000)).toBe('excellent');
    expect(d.push('poor', 3000)).toBe('excellent');
    expect(d.push('poor', 4000)).toBe('poor');
  });

  it('while waiting it takes the mildest of what the samples said', () => {
    const d = new QualityDebouncer('excellent');
    d.push('poor', 0);
    d.push('good', 1000);
    expect(d.push('poor', 2000)).toBe('good');
    // Better: the least good of the samples.
    d.push('excellent', 3000);
    d.push('excellent', 4000);
    d.push('excellent', 6000);
    expect(d.push('excellent', 7999)).toBe('good');
    expect(d.push('excellent', 8000)).toBe('excellent');
  });

  it(`takes a better level only once it held ${BETTER_AFTER_MS} ms; a relapse starts the wait again`, () => {
    const d = new QualityDebouncer('poor');
    d.push('excellent', 0);
    expect(d.push('excellent', 4999)).toBe('poor');
    expect(d.push('poor', 5500)).toBe('poor');
    d.push('excellent', 6000);
    expect(d.push('excellent', 10_999)).toBe('poor');
    expect(d.push('excellent', 11_000)).toBe('excellent');
  });

  it('lost, and leaving it, at once', () => {
    const d = new QualityDebouncer('excellent');
    expect(d.push('lost', 0)).toBe('lost');
    expect(d.push('good', 10)).toBe('good');
  });
});

describe('stats summaries from Chromium reports', () => {
  it('a video sender: codec, size, fps, packets, loss, jitter and RTT from the server\'s RTCP; bitrate over the interval', () => {
    const history = new StatsHistory();
    const first = fixtures['sender:video']!;
    const about = { producerId: 'p1', kind: 'video' as const, score: 10, server: null };
    const a = summariseSender(report(first), history, about);
    expect(a).toMatchObject({ codec: 'video/VP8', frameWidth: 320, frameHeight: 240, framesPerSecond: 20, packetsSent: 318, packetsLost: 0, lossFraction: 0, sendingLayers: null, score: 10 });
    expect(a.bitrateBps).toBeNull();
    expect(a.jitterMs).toBeCloseTo(16.977, 3);
    expect(a.roundTripTimeMs).toBeCloseTo(1.572, 3);
    // 50 000 bytes more one second later: 400 kbit/s.
    const b = summariseSender(report(later(first, 1000, 'outbound-rtp', (e) => ({ bytesSent: (e.bytesSent as number) + 50_000 }))), history, about);
    expect(b.bitrateBps).toBe(400_000);
    // Read again 100 ms later: still measured over at least 500 ms (against the first read).
    const c = summariseSender(report(later(first, 1100, 'outbound-rtp', (e) => ({ bytesSent: (e.bytesSent as number) + 55_000 }))), history, about);
    expect(c.bitrateBps).toBe(400_000);
  });

  it('an audio sender has no frames; nothing reported is null, not 0', () => {
    const s = summariseSender(report(fixtures['sender:audio']!), new StatsHistory(), { producerId: 'p2', kind: 'audio', score: null, server: null });
    expect(s).toMatchObject({ codec: 'audio/opus', framesPerSecond: null, frameWidth: null, frameHeight: null, score: null });
    expect(s.packetsSent).toBeGreaterThan(0);
    const empty = summariseSender(report([]), new StatsHistory(), { producerId: 'p3', kind: 'video', score: null, server: null });
    expect(Object.entries(empty).filter(([, v]) => v !== null).map(([k]) => k)).toEqual(['producerId', 'kind']);
  });

  it('a receiver: loss fraction over the interval, audio level in dBov, the candidate pair\'s RTT', () => {
    const history = new StatsHistory();
    const video = fixtures['receiver:video']!;
    const about = { consumerId: 'c1', producerId: 'p1', kind: 'video' as const, layers: null, score: 9, server: null };
    const a = summariseReceiver(report(video), history, about);
    expect(a).toMatchObject({ codec: 'video/VP8', frameWidth: 320, frameHeight: 240, lossFraction: null, audioLevelDbov: null });
    expect(a.packetsReceived).toBeGreaterThan(0);
    expect(a.roundTripTimeMs).toBeGreaterThanOrEqual(0);
    // 70 received and 30 lost in the next second: 30 %.
    const b = summariseReceiver(
      report(later(video, 1000, 'inbound-rtp', (e) => ({ packetsReceived: (e.packetsReceived as number) + 70, packetsLost: (e.packetsLost as number) + 30 }))),
      history,
      about,
    );
    expect(b.lossFraction).toBeCloseTo(0.3, 5);
    const audio = fixtures['receiver:audio']!;
    const level = (audioLevel: number) =>
      summariseReceiver(report(later(audio, 0, 'inbound-rtp', () => ({ audioLevel }))), new StatsHistory(), { ...about, kind: 'audio' }).audioLevelDbov;
    expect(level(1)).toBe(0);
    expect(level(0.1)).toBeCloseTo(-20, 5);
    expect(level(0)).toBe(-127);
    expect(summariseReceiver(report(audio), new StatsHistory(), { ...about, kind: 'audio' }).codec).toBe('audio/opus');
  });
});
