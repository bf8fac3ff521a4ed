// Call health on the client, one per MediaInfraClient: the server's scores, the room's speaker and
// audio levels as they are notified, the stats summaries `getStats()` resolves to, and the
// connection quality sampled every second while connected (connectionQuality.ts decides it).
import type { NotificationData } from '../protocol/messages.js';
import { StatsHistory, summariseReceiver, summariseSender, selectedPair, type ClientStats, type ConsumerStats, type ProducerStats, type StatsReport } from './callStats.js';
import { classifyQuality, QualityDebouncer, type ConnectionQuality } from './connectionQuality.js';
import type { ClientState } from './types.js';
import type { MediaDevice } from './MediaDevice.js';
import type { MediaSignalingService } from './MediaSignalingService.js';
import { TypedEmitter } from './TypedEmitter.js';

/** How often the connection quality is sampled. */
export const QUALITY_SAMPLE_MS = 1000;

/** `activespeaker`: who the server hears most now, `null` when nobody (or the speaker paused or left). */
export type ActiveSpeaker = { userId: string; producerId: string } | null;

/** What call health reads of a ProduceManager. */
export interface HealthProducer {
  readonly id: string;
  readonly kind: 'audio' | 'video';
  readonly state: string;
  readonly paused: boolean;
}
/** What call health reads of a ConsumeManager. */
export interface HealthConsumer {
  readonly id: string;
  readonly producerId: string;
  readonly kind: 'audio' | 'video';
  readonly state: string;
  readonly paused: boolean;
  readonly producerPaused: boolean;
  readonly layers: { spatialLayer: number; temporalLayer?: number } | null;
}

type HealthEvents = {
  quality: [quality: ConnectionQuality];
  speaker: [speaker: ActiveSpeaker];
  producerScore: [producerId: string, score: number];
  consumerScore: [consumerId: string, score: number];
  audioLevels: [];
};

/**
 * A consumer's scores, and the lowest of its producer's (`low`) over the last PRODUCER_LOW_MS: the
 * consumer's own score comes from the receiver's RTCP reports and shows a sender's loss seconds
 * after the producer's score did (and after it recovered), so only a score below that low is
 * this client's own leg.
 */
type ConsumerScore = Omit<NotificationData<'consumerScore'>, 'consumerId'> & { low: number; lowAt: number };
const PRODUCER_LOW_MS = 10_000;

export class CallHealth extends TypedEmitter<HealthEvents> {
  readonly #signaling: MediaSignalingService;
  readonly #device: MediaDevice;
  readonly #history = new StatsHistory();
  readonly #debouncer = new QualityDebouncer('lost');
  readonly #producers = new Set<HealthProducer>();
  readonly #consumers = new Set<HealthConsumer>();
  readonly #producerScores = new Map<string, number>();
  readonly #consumerScores = new Map<string, ConsumerScore>();
  #levels = new Map<string, number>();
  #speaker: ActiveSpeaker = null;
  #state: ClientState = 'connecting';
  #timer: ReturnType<typeof setInterval> | undefined;
  #sampling = false;
  readonly #untap: () => void;

  constructor(signaling: MediaSignalingService, device: MediaDevice) {
    super();
    this.#signaling = signaling;
    this.#device = device;
    this.#untap = signaling.tap((n) => {
      if (n.method === 'producerScore') this.#producerScoreChanged(n.data);
      else if (n.method === 'consumerScore') this.#consumerScoreChanged(n.data);
      // Since version 5 an offered consumer comes with its scores (no consumerScore follows).
      else if (n.method === 'newConsumers' || n.method === 'newConsumer') {
        for (const c of n.method === 'newConsumers' ? n.data.consumers : [n.data]) {
          if (c.score !== undefined && c.producerScore !== undefined) this.#consumerScoreChanged({ consumerId: c.id, score: c.score, producerScore: c.producerScore });
        }
      }
      else if (n.method === 'activeSpeaker') this.#speakerChanged(n.data.speaker);
      else if (n.method === 'audioLevels') {
        this.#levels = new Map(n.data.levels.map((l) => [l.producerId, l.dBov]));
        this.emit('audioLevels');
      }
    });
    this.#timer = setInterval(() => void this.#sample(), QUALITY_SAMPLE_MS);
  }

  get quality(): ConnectionQuality {
    return this.#debouncer.current;
  }

  get speaker(): ActiveSpeaker {
    return this.#speaker;
  }

  /** The client's state changed: `lost` at once when it is not connected; what the server told goes with the connection. */
  stateChanged(state: ClientState): void {
    this.#state = state;
    if (state !== 'connected') {
      this.#producerScores.clear();
      this.#consumerScores.clear();
      this.#levels = new Map();
      this.#speakerChanged(null);
    }
    this.#push(classifyQuality({ connected: state === 'connected', scores: [], lossFraction: null, roundTripTimeMs: null }));
    if (state === 'closed') {
      clearInterval(this.#timer);
      this.#untap();
    }
  }

  /** Follows a ProduceManager until the returned function is called: its score changes go to `scoreChanged`. */
  attachProducer(producer: HealthProducer, scoreChanged: (score: number) => void): () => void {
    const onScore = (producerId: string, score: number) => {
      if (producerId === producer.id) scoreChanged(score);
    };
    this.#producers.add(producer);
    this.on('producerScore', onScore);
    return () => {
      this.#producers.delete(producer);
      this.off('producerScore', onScore);
    };
  }

  /** Follows a ConsumeManager until the returned function is called: its score and (audio) level changes. */
  attachConsumer(consumer: HealthConsumer, scoreChanged: (score: number) => void, levelChanged: (dBov: number) => void): () => void {
    const onScore = (consumerId: string, score: number) => {
      if (consumerId === consumer.id) scoreChanged(score);
    };
    let level = -127;
    const onLevels = () => {
      const now = this.audioLevel(consumer.producerId);
      if (now !== level) levelChanged((level = now));
    };
    this.#consumers.add(consumer);
    this.on('consumerScore', onScore);
    if (consumer.kind === 'audio') this.on('audioLevels', onLevels);
    return () => {
      this.#consumers.delete(consumer);
      this.off('consumerScore', onScore);
      this.off('audioLevels', onLevels);
    };
  }

  producerScore(producerId: string): number | null {
    return this.#producerScores.get(producerId) ?? null;
  }

  /** What reaches this client: the worse of the server's scores of the consumer and of its producer. */
  consumerScore(consumerId: string): number | null {
    const s = this.#consumerScores.get(consumerId);
    return s ? Math.min(s.score, s.producerScore) : null;
  }

  /** The producer's level in the server's last interval (dBov), -127 when silent or not heard of. */
  audioLevel(producerId: string): number {
    return this.#levels.get(producerId) ?? -127;
  }

  /** `withServer` false: the browser's side only (`server: null`), no request (the inspection's periodic summaries). */
  async producerStats(producer: HealthProducer, withServer = true): Promise<ProducerStats> {
    const id = producer.id;
    const [report, server] = await Promise.all([
      id ? this.#device.producerReport(id).catch(() => undefined) : undefined,
      id && withServer ? this.#signaling.request('getProducerStats', { producerId: id }).catch(() => null) : null,
    ]);
    return summariseSender(report ?? new Map(), this.#history, { producerId: id, kind: producer.kind, score: this.producerScore(id), server });
  }

  async consumerStats(consumer: HealthConsumer, withServer = true): Promise<ConsumerStats> {
    const id = consumer.id;
    const [report, server] = await Promise.all([
      this.#device.consumerReport(id).catch(() => undefined),
      withServer ? this.#signaling.request('getConsumerStats', { consumerId: id }).catch(() => null) : null,
    ]);
    return summariseReceiver(report ?? new Map(), this.#history, {
      consumerId: id,
      producerId: consumer.producerId,
      kind: consumer.kind,
      layers: consumer.layers,
      score: this.consumerScore(id),
      server,
    });
  }

  async clientStats(withServer = true): Promise<ClientStats> {
    const [producers, consumers, send, recv] = await Promise.all([
      Promise.all([...this.#producers].map((p) => this.producerStats(p, withServer))),
      Promise.all([...this.#consumers].map((c) => this.consumerStats(c, withServer))),
      this.#device.transportReport('send').catch(() => undefined),
      this.#device.transportReport('recv').catch(() => undefined),
    ]);
    const pair = (send && selectedPair(send)) ?? (recv && selectedPair(recv));
    const number = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : null);
    const rtt = number(pair?.currentRoundTripTime);
    const sendPair = send && selectedPair(send);
    return {
      connectionQuality: this.quality,
      roundTripTimeMs: rtt === null ? null : rtt * 1000,
      availableOutgoingBitrateBps: number(sendPair?.availableOutgoingBitrate),
      producers,
      consumers,
    };
  }

  #producerScoreChanged({ producerId, score }: NotificationData<'producerScore'>): void {
    this.#producerScores.set(producerId, score);
    this.emit('producerScore', producerId, score);
  }

  #consumerScoreChanged({ consumerId, score, producerScore }: NotificationData<'consumerScore'>): void {
    const before = this.consumerScore(consumerId);
    const prev = this.#consumerScores.get(consumerId);
    const at = Date.now();
    const { low, lowAt } = prev && prev.low <= producerScore && at - prev.lowAt < PRODUCER_LOW_MS ? prev : { low: producerScore, lowAt: at };
    this.#consumerScores.set(consumerId, { score, producerScore, low, lowAt });
    const now = this.consumerScore(consumerId)!;
    if (now !== before) this.emit('consumerScore', consumerId, now);
  }

  #speakerChanged(speaker: ActiveSpeaker): void {
    if (speaker?.producerId === this.#speaker?.producerId) return;
    this.#speaker = speaker;
    this.emit('speaker', speaker);
  }

  #push(level: ConnectionQuality): void {
    const before = this.#debouncer.current;
    const after = this.#debouncer.push(level, Date.now());
    if (after !== before) this.emit('quality', after);
  }

  /**
   * One quality sample. This client's own legs only: the server's scores of what it receives from
   * our producers; of our consumers, only a score worse than its producer's lowest of late (the rest
   * of the loss happened before the server, on the sender's side); the server's reported loss of what we send;
   * the candidate pair's RTT.
   */
  async #sample(): Promise<void> {
    if (this.#sampling || this.#state !== 'connected') return;
    this.#sampling = true;
    try {
      const scores: number[] = [];
      const losses: number[] = [];
      const rtts: number[] = [];
      const live = [...this.#producers].filter((p) => p.state === 'live' && !p.paused && p.id);
      const reports = await Promise.all(live.map((p) => this.#device.producerReport(p.id).catch(() => undefined)));
      live.forEach((p, i) => {
        const score = this.#producerScores.get(p.id);
        if (score !== undefined) scores.push(score);
        for (const entry of values(reports[i])) {
          if (entry.type === 'remote-inbound-rtp' && typeof entry.fractionLost === 'number') losses.push(entry.fractionLost);
        }
      });
      for (const c of this.#consumers) {
        const s = this.#consumerScores.get(c.id);
        if (c.state === 'live' && !c.paused && !c.producerPaused && s && s.score < Math.min(s.producerScore, s.low)) scores.push(s.score);
      }
      for (const report of [...reports, await this.#device.transportReport('recv').catch(() => undefined)]) {
        const rtt = report && selectedPair(report)?.currentRoundTripTime;
        if (typeof rtt === 'number') rtts.push(rtt * 1000);
      }
      if (this.#state !== 'connected') return;
      this.#push(
        classifyQuality({
          connected: true,
          scores,
          lossFraction: losses.length ? Math.max(...losses) : null,
          roundTripTimeMs: rtts.length ? Math.max(...rtts) : null,
        }),
      );
    } finally {
      this.#sampling = false;
    }
  }
}

function values(report: StatsReport | undefined): Array<{ type?: string } & Record<string, unknown>> {
  return report ? ([...report.values()] as Array<{ type?: string } & Record<string, unknown>>) : [];
}
