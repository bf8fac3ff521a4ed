// `ConsumeManager.adaptTo(element)`: keeps a received video at the smallest spatial layer that
// covers the element it is shown in, and paused on the server while that element cannot be seen.
// It watches the element (ResizeObserver, IntersectionObserver, the page's visibility) and applies
// what it wants one request at a time, always the latest wish (a burst of resizes is one request).
import { coveringLayer, layerSizes, type Size } from './layerChoice.js';
import type { Logger } from './logger.js';

/** What the adapter drives: one consumer, through its manager's public calls. */
export interface AdaptTarget {
  /** The spatial layers' scale factors, lowest first; `undefined` when the track is not simulcast (visibility only). */
  readonly scales: readonly number[] | undefined;
  /** The spatial layer received now (`consumer.layers`), if any. */
  receivedLayer(): number | undefined;
  /** The size of the frames decoded now, if any. */
  frameSize(): Promise<Size | undefined>;
  /** Paused already (by the page: then the adapter leaves pause and resume alone). */
  isPaused(): boolean;
  setLayer(spatialLayer: number): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
}

export class ElementAdapter {
  readonly #element: HTMLElement;
  readonly #target: AdaptTarget;
  readonly #log: Logger | undefined;
  readonly #cleanups: Array<() => void> = [];
  /** Each layer's size, once a frame was seen at a known layer. */
  #sizes: Size[] | undefined;
  #intersecting = true;
  #appliedLayer: number | undefined;
  #pausedByMe = false;
  #running = false;
  #dirty = false;
  #stopped = false;

  constructor(element: HTMLElement, target: AdaptTarget, log?: Logger) {
    this.#element = element;
    this.#target = target;
    this.#log = log;
    const resize = new ResizeObserver(() => this.#changed());
    resize.observe(element);
    const intersection = new IntersectionObserver((entries) => {
      const last = entries[entries.length - 1];
      if (last) this.#intersecting = last.isIntersecting;
      this.#changed();
    });
    intersection.observe(element);
    const visibility = () => this.#changed();
    document.addEventListener('visibilitychange', visibility);
    // A video element says when the decoded size changes: that is when a layer's size is learnt.
    const frames = () => void this.#learnSizes().then(() => this.#changed());
    element.addEventListener('resize', frames);
    this.#cleanups.push(
      () => resize.disconnect(),
      () => intersection.disconnect(),
      () => document.removeEventListener('visibilitychange', visibility),
      () => element.removeEventListener('resize', frames),
    );
    void this.#learnSizes().then(() => this.#changed());
  }

  /** The received layers changed: the layer sizes can be learnt now, if they were not yet. */
  layersChanged(): void {
    if (this.#sizes) return this.#changed();
    void this.#learnSizes().then(() => this.#changed());
  }

  /** Stops watching; a consumer it paused is resumed (it is the page's again). */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const cleanup of this.#cleanups.splice(0)) cleanup();
    if (this.#pausedByMe) {
      this.#pausedByMe = false;
      void this.#target.resume().catch(() => undefined);
    }
  }

  get #visible(): boolean {
    return this.#intersecting && document.visibilityState !== 'hidden';
  }

  async #learnSizes(): Promise<void> {
    const { scales } = this.#target;
    const layer = this.#target.receivedLayer();
    if (!scales || layer === undefined) return;
    const video = this.#element as Partial<HTMLVideoElement>;
    const frame = video.videoWidth && video.videoHeight ? { width: video.videoWidth, height: video.videoHeight } : await this.#target.frameSize();
    if (frame && layer === this.#target.receivedLayer()) this.#sizes = layerSizes(frame, layer, scales);
  }

  #wantedLayer(): number | undefined {
    if (!this.#sizes) return undefined;
    const box = { width: this.#element.clientWidth, height: this.#element.clientHeight };
    if (box.width === 0 || box.height === 0) return undefined;
    return coveringLayer(box, globalThis.devicePixelRatio || 1, this.#sizes);
  }

  #changed(): void {
    if (this.#stopped) return;
    this.#dirty = true;
    if (!this.#running) void this.#apply();
  }

  /** Applies the latest wish, one request at a time, until nothing changed meanwhile. */
  async #apply(): Promise<void> {
    this.#running = true;
    try {
      while (this.#dirty && !this.#stopped) {
        this.#dirty = false;
        if (!this.#visible && !this.#pausedByMe && !this.#target.isPaused()) {
          await this.#target.pause();
          this.#pausedByMe = true;
        } else if (this.#visible && this.#pausedByMe) {
          await this.#target.resume();
          this.#pausedByMe = false;
        }
        const layer = this.#wantedLayer();
        if (layer !== undefined && layer !== this.#appliedLayer) {
          await this.#target.setLayer(layer);
          this.#appliedLayer = layer;
        }
      }
    } catch (error) {
      // Closed meanwhile, or refused: the next change tries again; a closed consumer stops the adapter.
      this.#log?.debug(`adaptTo: ${(error as Error).message}`);
    } finally {
      this.#running = false;
    }
  }
}
