// What the client (the device's owner) and the browser see of the mediasoup-client Device,
// written by hand from machines/README.md and MediaDevice's documentation, not from
// deviceMachine. Steps are named by the events of deviceMachine's graph:
//   load (capabilities A or B)   a welcome from a router with these capabilities
//   done / error.loadDevice      the browser's Device finishes / fails loading them
import type { EventObject } from 'xstate';
import type { Oracle } from './modelHarness.js';

export type Caps = 'A' | 'B';

export class DeviceOracle implements Oracle {
  state: 'unloaded' | 'loading' | 'loaded' | 'failed' = 'unloaded';
  /** The capabilities the owner asked for last. */
  asked: Caps | undefined;
  /** The capabilities the MediaDevice is loaded with (a failed load keeps the previous Device). */
  loaded: Caps | undefined;
  /** Loads the browser has not finished: a newer request does not cancel an older one. */
  waiting = 0;
  readonly #reports: string[] = [];
  readonly #loads: string[] = [];

  constructor(readonly caps: (event: EventObject) => Caps) {}

  expected() {
    return {
      reports: this.#reports.splice(0),
      loads: this.#loads.splice(0),
      waiting: this.waiting,
      // Capabilities B have no video codec: a Device loaded with them cannot send video.
      device: { loaded: this.loaded !== undefined, video: this.loaded === 'A' },
    };
  }

  apply(event: EventObject): boolean {
    switch (event.type) {
      case 'load': {
        const caps = this.caps(event);
        // Loaded with these already: said at once, nothing loaded again.
        if (this.state === 'loaded' && caps === this.asked) {
          this.#reports.push('device.loaded');
          return true;
        }
        this.asked = caps;
        if (this.loaded === caps) {
          // MediaDevice keeps a Device loaded with equal capabilities.
          this.state = 'loaded';
          this.#reports.push('device.loaded');
          return true;
        }
        this.state = 'loading';
        this.waiting++;
        this.#loads.push(caps);
        return true;
      }
      case 'xstate.done.actor.loadDevice':
        if (this.state !== 'loading' || this.waiting === 0) return false;
        this.waiting--;
        this.loaded = this.asked;
        this.state = 'loaded';
        this.#reports.push('device.loaded');
        return true;
      case 'xstate.error.actor.loadDevice':
        if (this.state !== 'loading' || this.waiting === 0) return false;
        this.waiting--;
        this.state = 'failed';
        this.#reports.push('device.failed:UNSUPPORTED_CODEC');
        return true;
      default:
        return false;
    }
  }
}
