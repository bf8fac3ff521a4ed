// What the owner (the client's root) and the server see of the signaling connection, written by
// hand from machines/README.md and MediaSignalingService's documentation, not from
// signalingMachine. Steps are named by the events of signalingMachine's graph:
//   connect / disconnect / drop      the owner's commands
//   socket.opened                    the server accepts the socket
//   socket.notified (welcome/other)  the server sends a notification
//   socket.closed                    the server closes the socket
//   after.welcomeTimeout / pingInterval / closeTimeout   that much time passes
//   done/error.ping, done/error.leave   the server answers / refuses the request
import type { EventObject } from 'xstate';
import type { Oracle } from './modelHarness.js';

type State = 'idle' | 'opening' | 'welcoming' | 'waiting' | 'pinging' | 'leaving' | 'awaitingClose';
const OPEN: ReadonlySet<State> = new Set(['waiting', 'pinging']);
const CLOSING: ReadonlySet<State> = new Set(['leaving', 'awaitingClose']);

export class SignalingOracle implements Oracle {
  state: State = 'idle';
  /** Every socket the client opened, as the server sees it. */
  readonly sockets: string[] = [];
  /** The URL each socket went to: the one `connect` named. */
  readonly urls: string[] = [];
  readonly #reports: string[] = [];
  readonly #server: string[] = [];

  expected() {
    const timers: Partial<Record<State, string>> = { welcoming: 'welcomeTimeout', waiting: 'pingInterval', leaving: 'closeTimeout', awaitingClose: 'closeTimeout' };
    return {
      reports: this.#reports.splice(0),
      sockets: [...this.sockets],
      urls: [...this.urls],
      server: this.#server.splice(0),
      timers: timers[this.state] ? [timers[this.state]] : [],
    };
  }

  apply(event: EventObject): boolean {
    const e = event as EventObject & Record<string, any>;
    switch (e.type) {
      case 'connect':
        if (this.state !== 'idle') return true; // one connection at a time: ignored
        this.sockets.push('connecting');
        this.urls.push(e.url);
        this.state = 'opening';
        return true;
      case 'socket.opened':
        if (this.#socket() !== 'connecting') return false;
        this.sockets[this.sockets.length - 1] = 'open';
        this.state = 'welcoming';
        return true;
      case 'socket.notified':
        if (this.#socket() !== 'open') return false;
        if (e.method === 'welcome' && this.state === 'welcoming') {
          this.state = 'waiting';
          this.#reports.push('welcomed');
        } else if (e.method !== 'welcome' && OPEN.has(this.state)) this.#reports.push(`notified:${e.method}`);
        return true;
      case 'socket.closed':
        if (this.#socket() !== 'open' && this.#socket() !== 'connecting') return false;
        this.sockets[this.sockets.length - 1] = 'closed by the server';
        this.state = 'idle';
        this.#reports.push(`closed:${e.code}`);
        return true;
      case 'drop':
        if (this.state !== 'idle') this.#end('dropped by the client');
        return true;
      case 'disconnect':
        if (this.state === 'idle') this.#reports.push('closed:-:not connected');
        else if (this.state === 'opening' || this.state === 'welcoming') this.#end('client');
        else if (OPEN.has(this.state)) {
          // A polite leave; the server closes the socket once it let go of everything.
          this.state = 'leaving';
          this.#server.push('leave');
        }
        return true;
      case 'xstate.after.welcomeTimeout.signaling.connection.welcoming':
        if (this.state !== 'welcoming') return false;
        this.#end('no welcome');
        return true;
      case 'xstate.after.pingInterval.signaling.connection.open.waiting':
        if (this.state !== 'waiting') return false;
        this.state = 'pinging';
        this.#server.push('ping');
        return true;
      case 'xstate.done.actor.ping':
        if (this.state !== 'pinging') return false;
        this.state = 'waiting';
        return true;
      case 'xstate.error.actor.ping':
        if (this.state !== 'pinging') return false;
        this.#end('heartbeat lost');
        return true;
      case 'xstate.done.actor.leave':
      case 'xstate.error.actor.leave':
        if (this.state !== 'leaving') return false;
        this.state = 'awaitingClose';
        return true;
      case 'xstate.after.closeTimeout.signaling.connection.closing':
        if (!CLOSING.has(this.state)) return false;
        this.#end('client');
        return true;
      default:
        return false;
    }
  }

  #socket(): string | undefined {
    return this.state === 'idle' ? undefined : this.sockets.at(-1);
  }

  /** The client gives up on the socket: closes it (1000) and tells the owner why. */
  #end(reason: string): void {
    this.sockets[this.sockets.length - 1] = 'closed by the client (1000)';
    this.state = 'idle';
    this.#reports.push(`closed:-:${reason}`);
  }
}
