// What the owner (the client's root) and the server see of one send transport, written by hand
// from machines/README.md ("ICE trouble is repaired in place first") and MediaDevice's
// documentation, not from transportMachine. One ICE restart is allowed. Steps are named by the
// events of transportMachine's graph:
//   done / error.createTransport        the server answers / refuses createTransport
//   transport.connectRequested          the first track is sent on it (DTLS must connect)
//   error.connectTransport              the server refuses connectTransport
//   transport.stateChanged              the browser reports a new ICE/DTLS connection state
//   after.iceDisconnectedTimeout / iceRestartTimeout   that much time passes
//   done / error.restartIce             the server answers / refuses restartIce
//   close                               the owner closes it (the connection is gone)
import type { EventObject } from 'xstate';
import type { Oracle } from './modelHarness.js';

type State = 'creating' | 'new' | 'connecting' | 'connected' | 'disconnected' | 'restartingIce' | 'checking' | 'failed' | 'closed';
const MAX_RESTARTS = 1;

export class TransportOracle implements Oracle {
  state: State = 'creating';
  /** The last connection state the browser reported, and the browser's own (it reports changes only). */
  connection = 'new';
  browser = 'new';
  /** ICE restarts since it was last connected. */
  restarts = 0;
  local: 'none' | 'open' | 'closed' = 'none';
  readonly #reports: string[] = [];
  readonly #server: string[] = ['createTransport send'];

  expected() {
    const timers: Partial<Record<State, string>> = { disconnected: 'iceDisconnectedTimeout', checking: 'iceRestartTimeout' };
    return { reports: this.#reports.splice(0), server: this.#server.splice(0), timers: timers[this.state] ? [timers[this.state]] : [], local: this.local };
  }

  apply(event: EventObject): boolean {
    const e = event as EventObject & Record<string, any>;
    switch (e.type) {
      case 'xstate.done.actor.createTransport':
        if (this.state !== 'creating') return false;
        this.state = 'new';
        this.local = 'open';
        this.#reports.push('transport.created:send');
        return true;
      case 'xstate.error.actor.createTransport':
        if (this.state !== 'creating') return false;
        this.#fail('SERVER_ERROR');
        return true;
      case 'transport.connectRequested':
        if (this.state !== 'new') return false;
        this.state = 'connecting';
        // The browser says it is connecting as it starts.
        if (this.browser !== 'connecting') this.connection = this.browser = 'connecting';
        this.#server.push('connectTransport send');
        return true;
      case 'xstate.error.actor.connectTransport':
        if (this.state !== 'connecting') return false;
        this.#fail('SERVER_ERROR');
        return true;
      case 'transport.stateChanged':
        if (this.local !== 'open') return false;
        // Once given up on (or closed), the transport no longer follows its connection.
        if (this.state === 'failed' || this.state === 'closed') return true;
        // The browser reports changes only: to be in the same state again it goes through another.
        if (e.state === this.browser) this.#report(e.state === 'connecting' ? 'new' : 'connecting');
        this.#report(e.state);
        return true;
      case 'xstate.after.iceDisconnectedTimeout.transport.established.disconnected':
        if (this.state !== 'disconnected') return false;
        this.#iceTrouble();
        return true;
      case 'xstate.after.iceRestartTimeout.transport.established.checking':
        if (this.state !== 'checking') return false;
        this.#iceTrouble();
        return true;
      case 'xstate.done.actor.restartIce':
        if (this.state !== 'restartingIce') return false;
        this.state = 'checking';
        this.#follow();
        return true;
      case 'xstate.error.actor.restartIce':
        if (this.state !== 'restartingIce') return false;
        this.#fail('SERVER_ERROR');
        return true;
      case 'close':
        if (this.state === 'closed') return false;
        this.state = 'closed';
        if (this.local === 'open') this.local = 'closed';
        return true;
      default:
        return false;
    }
  }

  #report(state: string): void {
    this.connection = this.browser = state;
    this.#follow();
  }

  /** Where the last reported connection state takes a transport that waits on it. */
  #follow(): void {
    if (this.state === 'new' || this.state === 'restartingIce') return;
    if (this.connection === 'failed') return this.#iceTrouble();
    if (this.connection === 'connected') {
      this.state = 'connected';
      this.restarts = 0;
    } else if (this.connection === 'disconnected' && this.state === 'connected') this.state = 'disconnected';
  }

  /** Restart ICE while restarts remain; then give the transport up. */
  #iceTrouble(): void {
    if (this.restarts >= MAX_RESTARTS) return this.#fail('SERVER_ERROR');
    this.restarts++;
    this.connection = 'connecting';
    this.state = 'restartingIce';
    this.#server.push('restartIce send');
  }

  #fail(code: string): void {
    this.state = 'failed';
    this.#reports.push(`transport.failed:${code}`);
  }
}
