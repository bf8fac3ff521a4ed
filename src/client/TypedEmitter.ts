/** Event name → listener arguments. */
export type EventMap = Record<string, unknown[]>;

type Listener<A extends unknown[]> = (...args: A) => void;

/**
 * A small typed event emitter (like mediasoup-client's EnhancedEventEmitter, without Node's
 * `events`). A listener that throws is reported on the console and does not stop the others.
 */
export class TypedEmitter<E extends EventMap> {
  #listeners = new Map<keyof E, Array<{ listener: Listener<never[]>; once: boolean }>>();

  /**
   * Calls `listener` on every `event` until `off()`. Never throws.
   * @returns this emitter, for chaining.
   */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    return this.#add(event, listener, false);
  }

  /**
   * Calls `listener` on the next `event` only. Never throws.
   * @returns this emitter, for chaining.
   */
  once<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    return this.#add(event, listener, true);
  }

  /**
   * Removes `listener` (the same function given to `on()` or `once()`) from `event`; a listener
   * that is not there is ignored. Never throws.
   * @returns this emitter, for chaining.
   */
  off<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const list = this.#listeners.get(event);
    if (!list) return this;
    const index = list.findIndex((entry) => entry.listener === (listener as unknown));
    if (index >= 0) list.splice(index, 1);
    return this;
  }

  /** How many listeners `event` has now (`once` listeners until they have run). */
  listenerCount<K extends keyof E>(event: K): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /** @internal Calls the listeners of `event` (only the subclass that owns the events emits them). */
  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const list = this.#listeners.get(event);
    if (!list?.length) return;
    for (const entry of [...list]) {
      if (entry.once) this.off(event, entry.listener as unknown as Listener<E[K]>);
      try {
        (entry.listener as unknown as Listener<E[K]>)(...args);
      } catch (error) {
        console.error(`[media-infra] a '${String(event)}' listener threw`, error);
      }
    }
  }

  #add<K extends keyof E>(event: K, listener: Listener<E[K]>, once: boolean): this {
    const list = this.#listeners.get(event) ?? [];
    list.push({ listener: listener as unknown as Listener<never[]>, once });
    this.#listeners.set(event, list);
    return this;
  }
}
