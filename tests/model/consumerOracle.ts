// What a page and the server see of one received track, written by hand from machines/README.md
// and the ConsumeManager's documentation, not from consumerMachine. Steps are named by the events
// of consumerMachine's graph (which only chooses the paths); each stands for what happens outside:
//   done.consume / error.consume   the browser negotiates / refuses the local consume (then the
//                                   track reaches listenTrack's callback, live, and its resumeConsumers goes out)
//   done.startConsumer / error.…   the server answers / refuses that resumeConsumers
//   pause / resume                  the page calls the ConsumeManager; done.X / error.X: the answer
//   setPreferredLayers              the page calls it; done.setPreferredLayers / error.…: the server's answer
//   consumerClosed, producerPaused, producerResumed, layersChanged   the server's notifications
//   close                           the server drops the socket (consumers do not survive it)
import type { EventObject } from 'xstate';
import type { Oracle } from './modelHarness.js';

type State = 'creating' | 'live' | 'pausing' | 'paused' | 'resuming' | 'closed';

export class ConsumerOracle implements Oracle {
  state: State = 'creating';
  paused = false;
  producerPaused = false;
  /** The layers the server said it forwards (`layers`), and whether a setPreferredLayers waits for its answer. */
  layers: { spatialLayer: number; temporalLayer?: number } | null = null;
  layersBusy = false;
  /** The ConsumeManager reached listenTrack's callback. */
  delivered = false;
  /** Its first resumeConsumers is at the server, unanswered. */
  resumeOut = false;
  /** That answer still matters: no pause or close came since it went out. */
  starting = false;
  socketOpen = true;
  readonly #log: string[] = [];
  readonly #server: string[] = [];
  readonly #calls: Array<{ name: string; outcome: string }> = [];

  expected() {
    return {
      client: this.socketOpen ? 'connected' : 'reconnecting',
      delivered: this.delivered ? 1 : 0,
      manager: this.delivered ? { state: this.state, paused: this.paused, producerPaused: this.producerPaused, layers: this.layers } : undefined,
      log: this.#log.splice(0),
      server: this.#server.splice(0),
      calls: this.#calls.map((c) => `${c.name}:${c.outcome}`),
    };
  }

  apply(event: EventObject): boolean {
    switch (event.type) {
      case 'xstate.done.actor.consume':
        if (this.state !== 'creating') return false;
        // Handed to the page live as the server is asked to send it, before it answers; the page
        // sees no event from before it had the manager.
        this.state = 'live';
        this.delivered = true;
        this.resumeOut = this.starting = true;
        this.#server.push('resumeConsumers c1');
        return true;
      case 'xstate.error.actor.consume':
        if (this.state !== 'creating') return false;
        this.state = 'closed';
        return true;
      case 'xstate.done.actor.startConsumer':
      case 'xstate.error.actor.startConsumer':
        if (!this.resumeOut) return false;
        this.resumeOut = false;
        // An answer that comes after a pause or a close changes nothing.
        if (!this.starting || event.type === 'xstate.done.actor.startConsumer') return (this.starting = false), true;
        return this.#closed(), true;
      case 'consumerClosed':
      case 'close':
        if (!this.socketOpen || this.state === 'closed') return false;
        if (event.type === 'close') this.socketOpen = this.resumeOut = false;
        return this.#closed(), true;
      case 'producerPaused':
      case 'producerResumed': {
        if (!this.socketOpen || this.state === 'closed') return false;
        this.producerPaused = event.type === 'producerPaused';
        if (this.delivered) this.#log.push(event.type.toLowerCase());
        return true;
      }
      case 'layersChanged': {
        if (!this.socketOpen || this.state === 'closed' || !this.delivered) return false;
        const { layers } = event as EventObject & { layers: ConsumerOracle['layers'] };
        this.layers = layers;
        this.#log.push(`layerschange:${layers ? `${layers.spatialLayer}/${layers.temporalLayer}` : null}`);
        return true;
      }
      case 'setPreferredLayers': {
        if (!this.delivered) return false;
        if (this.state === 'closed') return void this.#calls.push({ name: 'setPreferredLayers', outcome: 'CONSUMER_CLOSED' }), true;
        // One at a time: the second is refused, the first goes on.
        if (this.layersBusy) return void this.#calls.push({ name: 'setPreferredLayers', outcome: 'INVALID_STATE' }), true;
        this.layersBusy = true;
        this.#calls.push({ name: 'setPreferredLayers', outcome: 'pending' });
        this.#server.push('setConsumerPreferredLayers');
        return true;
      }
      case 'xstate.done.actor.setPreferredLayers':
      case 'xstate.error.actor.setPreferredLayers': {
        if (!this.layersBusy || this.state === 'closed') return false;
        this.layersBusy = false;
        // The server's own refusal reaches the page with its code.
        const outcome = event.type.startsWith('xstate.done') ? 'ok' : 'BAD_REQUEST';
        for (const call of this.#calls) if (call.name === 'setPreferredLayers' && call.outcome === 'pending') call.outcome = outcome;
        return true;
      }
      case 'pause':
      case 'resume':
        if (!this.delivered) return false;
        this.#command(event.type);
        return true;
      case 'xstate.done.actor.pauseConsumer':
      case 'xstate.error.actor.pauseConsumer':
      case 'xstate.done.actor.resumeConsumer':
      case 'xstate.error.actor.resumeConsumer': {
        const pausing = event.type.endsWith('pauseConsumer');
        if (this.state !== (pausing ? 'pausing' : 'resuming')) return false;
        const ok = event.type.startsWith('xstate.done');
        if (ok) this.paused = pausing;
        this.#to(this.paused ? 'paused' : 'live');
        if (ok) this.#log.push(pausing ? 'paused' : 'resumed');
        for (const call of this.#calls) if (call.name === (pausing ? 'pause' : 'resume') && call.outcome === 'pending') call.outcome = ok ? 'ok' : 'SERVER_ERROR';
        return true;
      }
      default:
        return false;
    }
  }

  #closed(): void {
    this.starting = false;
    this.layersBusy = false;
    this.#to('closed');
    if (this.delivered) this.#log.push('closed:CONSUMER_CLOSED');
    for (const call of this.#calls) if (call.outcome === 'pending') call.outcome = 'CONSUMER_CLOSED';
  }

  #to(state: State): void {
    if (state === this.state) return;
    this.state = state;
    if (this.delivered) this.#log.push(`state:${state}`);
  }

  #command(command: 'pause' | 'resume'): void {
    const from = command === 'pause' ? 'live' : 'paused';
    if (this.state === 'closed') return void this.#calls.push({ name: command, outcome: 'CONSUMER_CLOSED' });
    if (this.state === (command === 'pause' ? 'paused' : 'live')) return void this.#calls.push({ name: command, outcome: 'ok' });
    if (this.state !== from) return void this.#calls.push({ name: command, outcome: 'INVALID_STATE' });
    this.#calls.push({ name: command, outcome: 'pending' });
    // A pause while the first resume is out goes after it; that resume's answer no longer matters.
    this.starting = false;
    this.#to(command === 'pause' ? 'pausing' : 'resuming');
    this.#server.push(`${command}Consumer c1`);
  }
}
