// Inspection of a client's actors: the hooks that stay in the client bundle. Everything that shows,
// serializes or redacts (the Stately inspector, the built-in panel, traces) is in src/inspector/,
// loaded with `import()` only when asked for: in the browser build it is the separate file
// `media-infra-inspector.js` beside `media-infra-client.js` (see build.mjs).
import type { AnyActorRef, InspectionEvent, Observer } from 'xstate';
import type { InspectorPanel, PanelOptions } from '../inspector/index.js';
import type { ActiveSpeaker, CallHealth } from './callHealth.js';
import type { ClientStats } from './callStats.js';
import type { ConnectionQuality } from './connectionQuality.js';
import type { LogSink } from './logger.js';

export type InspectOption = Observer<InspectionEvent> | ((event: InspectionEvent) => void) | boolean;

/** What call health (no actor) says, recorded beside the actors' events: the same names as its events. */
export type HealthRecord =
  | { kind: 'producerScore'; producerId: string; score: number }
  | { kind: 'consumerScore'; consumerId: string; score: number }
  | { kind: 'connectionQuality'; quality: ConnectionQuality }
  | { kind: 'activeSpeaker'; speaker: ActiveSpeaker }
  /** A periodic summary (the browser's side only: recording it never asks the server anything). */
  | { kind: 'stats'; stats: ClientStats };

export const HEALTH_EVENT = '@media-infra.health';
export interface HealthEvent {
  type: typeof HEALTH_EVENT;
  record: HealthRecord;
}

/** One inspection event, or call health's, as it happened (`at`: `Date.now()`). */
export interface RecordedEvent {
  at: number;
  event: InspectionEvent | HealthEvent;
}

/** What the inspector module needs from a live client. */
export interface LiveSource {
  /** The events recorded so far (a trace starts with them). */
  recorded(): readonly RecordedEvent[];
  /** Every event from now on; returns the unsubscribe function. */
  subscribe(listener: (event: RecordedEvent) => void): () => void;
  /** Strings that must never leave the client (the token): replaced wherever they appear. */
  readonly secrets: readonly string[];
  /** Events left out because the recording is bounded. */
  readonly dropped: number;
}

// The inspector module's address. build.mjs defines it as the file beside the client bundle; from
// the sources (tests) it is the module itself. Not a string literal: no bundler inlines it here.
declare const __MEDIA_INFRA_INSPECTOR__: string | undefined;
const inspectorModule = typeof __MEDIA_INFRA_INSPECTOR__ === 'string' ? __MEDIA_INFRA_INSPECTOR__ : '../inspector/index.js';

/** The lazily loaded inspector module. */
export const loadInspector = (): Promise<typeof import('../inspector/index.js')> => import(/* @vite-ignore */ inspectorModule);

/** A recording keeps at most this many events (the oldest snapshots and events go first). */
const MAX_RECORDED = 20_000;
/** While recording, call health's stats are summarised this often with a panel open, else (a trace only) less often. */
export const HEALTH_STATS_MS = { panel: 2_000, trace: 10_000 };
const RECORDED_TYPES = new Set(['@xstate.actor', '@xstate.event', '@xstate.snapshot']);

/**
 * The client's inspection: forwards every inspection event to the `inspect` option, records them
 * for `exportTrace()` and the panel once asked to, and starts the Stately inspector for
 * `inspect: true`. Attached to the actor system only when some inspection is on.
 */
export class ClientInspection implements LiveSource {
  readonly secrets: readonly string[];
  #recorded: RecordedEvent[] | undefined;
  #dropped = 0;
  readonly #listeners = new Set<(event: RecordedEvent) => void>();
  readonly #forward: ((event: InspectionEvent) => void) | undefined;
  readonly #logger: LogSink;
  #root: AnyActorRef | undefined;
  #attached = false;
  readonly #health: CallHealth | undefined;
  #statsLoop = false;
  #statsWait: ReturnType<typeof setTimeout> | undefined;

  constructor(options: { inspect?: InspectOption | undefined; trace?: boolean | undefined; token: string; logger: LogSink; health?: CallHealth }) {
    this.secrets = [...new Set([options.token, encodeURIComponent(options.token)])];
    this.#logger = options.logger;
    const inspect = options.inspect;
    if (typeof inspect === 'function') this.#forward = inspect;
    else if (inspect && typeof inspect === 'object') this.#forward = (event) => inspect.next?.(event);
    const health = (this.#health = options.health);
    if (health) {
      // dropped at once while nothing records (#addHealth)
      health.on('producerScore', (producerId, score) => this.#addHealth({ kind: 'producerScore', producerId, score }));
      health.on('consumerScore', (consumerId, score) => this.#addHealth({ kind: 'consumerScore', consumerId, score }));
      health.on('quality', (quality) => this.#addHealth({ kind: 'connectionQuality', quality }));
      health.on('speaker', (speaker) => this.#addHealth({ kind: 'activeSpeaker', speaker }));
    }
    if (inspect === true || options.trace) this.#recorded = [];
  }

  /** The `inspect` option of `createActor`, or undefined when nothing inspects (it costs nothing then). */
  get observer(): ((event: InspectionEvent) => void) | undefined {
    if (!this.#forward && !this.#recorded) return undefined;
    this.#attached = true;
    return this.#inspect;
  }

  /** Called once the root actor exists: starts the Stately inspector for `inspect: true`. */
  started(root: AnyActorRef, inspect: InspectOption | undefined): void {
    this.#root = root;
    if (this.#recorded) this.#sampleHealth();
    if (inspect === true) {
      loadInspector()
        .then((m) => m.startStatelyInspector(this))
        .catch((error) => this.#logger.warn?.('could not load the inspector', error));
    }
  }

  recorded(): readonly RecordedEvent[] {
    this.#record();
    return this.#recorded!;
  }

  get dropped(): number {
    return this.#dropped;
  }

  subscribe(listener: (event: RecordedEvent) => void): () => void {
    this.#record();
    this.#listeners.add(listener);
    // a panel opened: its first figures now, not after a trace's longer wait
    if (this.#statsWait !== undefined && this.#listeners.size === 1) {
      clearTimeout(this.#statsWait);
      this.#statsWait = setTimeout(this.#sampleStats, 0);
    }
    return () => this.#listeners.delete(listener);
  }

  /** The session's inspection events as redacted JSON (see src/inspector/trace.ts). */
  async exportTrace(): Promise<string> {
    const m = await loadInspector();
    return m.traceToJson(m.createTrace(this), this.secrets);
  }

  async showPanel(options: Omit<PanelOptions, 'live'> = {}): Promise<InspectorPanel> {
    const m = await loadInspector();
    return m.mountPanel({ ...options, live: this });
  }

  readonly #inspect = (event: InspectionEvent): void => {
    if (this.#recorded && RECORDED_TYPES.has(event.type)) this.#add(event);
    // the client ended: no more stats to wait for
    if (event.type === '@xstate.snapshot' && event.actorRef === this.#root && event.snapshot.status !== 'active') clearTimeout(this.#statsWait);
    if (this.#forward) {
      try {
        this.#forward(event);
      } catch (error) {
        this.#logger.warn?.('the inspect option threw', error);
      }
    }
  };

  #add(event: RecordedEvent['event']): void {
    const recorded = { at: Date.now(), event };
    this.#keep(recorded);
    for (const listener of this.#listeners) listener(recorded);
  }

  #addHealth(record: HealthRecord): void {
    if (this.#recorded) this.#add({ type: HEALTH_EVENT, record });
  }

  /**
   * While recording and the client runs: the speaker now, then a stats summary at once and every
   * HEALTH_STATS_MS (the browser's getStats only: no request to the server).
   */
  #sampleHealth(): void {
    if (!this.#health || this.#statsLoop) return;
    this.#statsLoop = true;
    this.#addHealth({ kind: 'activeSpeaker', speaker: this.#health.speaker });
    this.#statsWait = setTimeout(this.#sampleStats, 0);
  }

  readonly #sampleStats = (): void => {
    this.#statsWait = undefined;
    const running = () => this.#root?.getSnapshot().status === 'active';
    if (!running()) return;
    this.#health!.clientStats(false)
      .then((stats) => this.#addHealth({ kind: 'stats', stats }))
      .catch(() => undefined)
      .finally(() => {
        if (running()) this.#statsWait = setTimeout(this.#sampleStats, this.#listeners.size ? HEALTH_STATS_MS.panel : HEALTH_STATS_MS.trace);
      });
  };

  #keep(recorded: RecordedEvent): void {
    const list = this.#recorded!;
    list.push(recorded);
    if (list.length > MAX_RECORDED) {
      // actors' creations stay: a trace without them could not name anything
      const index = list.findIndex((r) => r.event.type !== '@xstate.actor');
      list.splice(index < 0 ? 0 : index, 1);
      this.#dropped++;
    }
  }

  /** Starts recording now when it was off: attaches to the system and records what lives now. */
  #record(): void {
    if (this.#recorded) return;
    this.#recorded = [];
    const root = this.#root;
    if (!root) return;
    if (!this.#attached) {
      this.#attached = true;
      root.system.inspect(this.#inspect);
    }
    const at = Date.now();
    const visit = (ref: AnyActorRef) => {
      this.#keep({ at, event: { type: '@xstate.actor', actorRef: ref, rootId: root.sessionId } });
      const snapshot = ref.getSnapshot();
      this.#keep({ at, event: { type: '@xstate.snapshot', actorRef: ref, snapshot, event: { type: 'xstate.init' }, rootId: root.sessionId } });
      for (const child of Object.values((snapshot as { children?: Record<string, AnyActorRef> }).children ?? {})) if (child) visit(child);
    };
    visit(root);
    this.#sampleHealth();
  }
}
