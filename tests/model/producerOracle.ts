// What a page and the server see of one sent track, written by hand from machines/README.md and
// the ProduceManager's documentation, not from producerMachine: a reference model to check the
// real client against (tests/model/producerMachine.model.ts). Steps are named by the events of
// producerMachine's graph (which only chooses the paths); each stands for what happens outside:
//   produce      the client (re)connects: a new send transport is ready
//   suspend      the server drops the socket
//   release      the page closes the client
//   pause/resume/startRecord/stopRecord/close   the page calls the ProduceManager
//   done.X / error.X   the server answers / refuses the request X
//   producerClosed / recordingEnded   the server's notifications
//   replaceTrack  the page gives a new track; done.replaceTrack / error.…: the browser's track swap
import type { EventObject } from 'xstate';
import type { Oracle } from './modelHarness.js';

type Media = 'waiting' | 'producing' | 'live' | 'pausing' | 'paused' | 'resuming' | 'closing' | 'closed';
type Recording = 'idle' | 'starting' | 'recording' | 'stopping' | 'failed' | 'suspended';
/** The client's connection: the socket is open (joining or connected), lost, or the client closed. */
type Link = 'connecting' | 'connected' | 'down' | 'closed';

const clientState: Record<Link, string> = { connecting: 'connecting', connected: 'connected', down: 'reconnecting', closed: 'closed' };
const SENT: ReadonlySet<Media> = new Set(['live', 'pausing', 'paused', 'resuming']);
const ACTIVE: ReadonlySet<Media> = new Set(['waiting', 'producing', ...SENT]);

export class ProducerOracle implements Oracle {
  media: Media = 'waiting';
  /** What the page asked for last: pause() / resume() that the server accepted. */
  paused = false;
  recording: Recording = 'idle';
  link: Link = 'connecting';
  /** The server's id of this producer while produced (kept once closed, as `id` is). */
  serverId: string | undefined;
  issued = 0;
  recordings = 0;
  /** produceTrack() hands the ProduceManager over once produced. */
  handed = false;
  produceTrack = 'pending';
  /** The page's tracks by index: the one to send now, the one the server's producer was made with, and the local swap. */
  track = 0;
  producedWith = 0;
  source: 'current' | 'pending' | 'replacing' = 'current';
  readonly #log: string[] = [];
  readonly #server: string[] = [];
  readonly #calls: Array<{ name: string; outcome: string }> = [];

  expected() {
    return {
      client: clientState[this.link],
      produceTrack: this.produceTrack,
      manager: this.handed
        ? {
            state: this.media,
            paused: this.paused,
            recording: ACTIVE.has(this.media) && ['recording', 'stopping', 'suspended'].includes(this.recording),
            id: this.serverId ?? '',
            track: this.track,
          }
        : undefined,
      log: this.#log.splice(0),
      server: this.#server.splice(0),
      calls: this.#calls.map((c) => `${c.name}:${c.outcome}`),
    };
  }

  apply(event: EventObject): boolean {
    const e = event as EventObject & Record<string, any>;
    switch (e.type) {
      case 'produce':
        if (this.media !== 'waiting' || this.link === 'closed') return false;
        this.link = 'connected';
        this.producedWith = this.track;
        this.#to('producing');
        this.#server.push('produce video send');
        return true;
      case 'xstate.done.actor.produce': {
        if (this.media !== 'producing') return false;
        this.serverId = `p${++this.issued}`;
        // A track paused before is produced paused: the server is told at once.
        if (this.paused) this.#server.push(`pauseProducer ${this.serverId}`);
        this.#to(this.paused ? 'paused' : 'live');
        if (this.handed) this.#emit(`produced:${this.serverId}`);
        else [this.handed, this.produceTrack] = [true, 'ok'];
        // A swap asked for before: done already if this production sent the new track, made now if not.
        if (this.source === 'pending') this.#swap();
        // A recording cut by a lost connection goes on in a new segment.
        if (this.recording === 'suspended') {
          this.recording = 'starting';
          this.#server.push(`startRecord ${this.serverId}`);
        }
        return true;
      }
      case 'xstate.error.actor.produce':
        if (this.media !== 'producing') return false;
        this.#close('SERVER_ERROR');
        return true;
      case 'suspend':
        if (this.link !== 'connecting' && this.link !== 'connected') return false;
        this.link = 'down';
        this.#lost();
        return true;
      case 'release':
        if (this.link === 'closed') return false;
        if (this.link !== 'down') this.#server.push('leave');
        this.link = 'closed';
        if (ACTIVE.has(this.media)) this.#close('PRODUCER_CLOSED');
        return true;
      case 'producerClosed':
        if (!this.#socketOpen()) return false;
        if (e.producerId === 'p1' && this.serverId === undefined) return false;
        if (e.producerId === 'p1' && ACTIVE.has(this.media)) this.#close('PRODUCER_CLOSED');
        return true;
      case 'recordingEnded':
        if (!this.#socketOpen()) return false;
        if (e.producerId === 'p1' && this.serverId === undefined) return false;
        if (e.producerId === 'p1' && ACTIVE.has(this.media)) this.#recordingEnded(e.state);
        return true;
      case 'pause':
      case 'resume':
        if (!this.handed) return false;
        this.#pauseOrResume(e.type);
        return true;
      case 'xstate.done.actor.pauseProducer':
        if (this.media !== 'pausing') return false;
        this.paused = true;
        this.#to('paused');
        this.#emit('paused');
        this.#settle('pause', 'ok');
        return true;
      case 'xstate.error.actor.pauseProducer':
        if (this.media !== 'pausing') return false;
        this.#to('live');
        this.#settle('pause', 'SERVER_ERROR');
        return true;
      case 'xstate.done.actor.resumeProducer':
        if (this.media !== 'resuming') return false;
        this.paused = false;
        this.#to('live');
        this.#emit('resumed');
        this.#settle('resume', 'ok');
        return true;
      case 'xstate.error.actor.resumeProducer':
        if (this.media !== 'resuming') return false;
        this.#to('paused');
        this.#settle('resume', 'SERVER_ERROR');
        return true;
      case 'close':
        if (this.media === 'closed') return false;
        if (this.handed) this.#calls.push({ name: 'close', outcome: 'pending' });
        if (this.media === 'closing') return true;
        // A track swap waiting is over: the producer is going.
        if (ACTIVE.has(this.media)) this.#settleSwap('PRODUCER_CLOSED');
        this.#to('closing');
        // The server is asked to close only a producer it has.
        if (this.serverId !== undefined) this.#server.push(`closeProducer ${this.serverId}`);
        else this.#close(undefined);
        return true;
      case 'xstate.done.actor.closeProducer':
      case 'xstate.error.actor.closeProducer':
        if (this.media !== 'closing') return false;
        this.#close(undefined);
        return true;
      case 'startRecord':
        if (!this.handed) return false;
        this.#startRecord();
        return true;
      case 'xstate.done.actor.startRecord':
        if (this.recording !== 'starting' || !ACTIVE.has(this.media)) return false;
        this.recording = 'recording';
        this.recordings++;
        this.#emit('recording:true');
        this.#settle('startRecord', 'ok');
        return true;
      case 'xstate.error.actor.startRecord':
        if (this.recording !== 'starting' || !ACTIVE.has(this.media)) return false;
        this.recording = 'failed';
        this.#settle('startRecord', 'SERVER_ERROR');
        return true;
      case 'stopRecord':
        if (!this.handed) return false;
        this.#stopRecord();
        return true;
      case 'xstate.done.actor.stopRecord':
        if (this.recording !== 'stopping' || !ACTIVE.has(this.media)) return false;
        this.recording = 'idle';
        this.#emit('recording:false', `recordingended:r${this.recordings}`);
        this.#settle('stopRecord', `ok:r${this.recordings}`);
        return true;
      case 'xstate.error.actor.stopRecord':
        if (this.recording !== 'stopping' || !ACTIVE.has(this.media)) return false;
        this.recording = 'failed';
        this.#emit('recording:false');
        this.#settle('stopRecord', 'SERVER_ERROR');
        return true;
      case 'replaceTrack':
        if (!this.handed) return false;
        if (!ACTIVE.has(this.media)) return void this.#calls.push({ name: 'replaceTrack', outcome: 'PRODUCER_CLOSED' }), true;
        // A second swap wins: the first call resolves with it.
        this.track++;
        this.#calls.push({ name: 'replaceTrack', outcome: 'pending' });
        this.source = 'pending';
        if (this.serverId !== undefined) this.#swap();
        return true;
      case 'xstate.done.actor.replaceTrack':
      case 'xstate.error.actor.replaceTrack':
        if (this.source !== 'replacing' || !ACTIVE.has(this.media)) return false;
        this.source = 'current';
        this.producedWith = this.track;
        this.#settleSwap(e.type.startsWith('xstate.done') ? 'ok' : 'INVALID_STATE');
        return true;
      default:
        return false;
    }
  }

  #socketOpen(): boolean {
    return this.link === 'connecting' || this.link === 'connected';
  }

  /** A manager's state change is seen by the page only once it has the manager. */
  #to(media: Media): void {
    if (media === this.media) return;
    this.media = media;
    if (this.handed) this.#log.push(`state:${media}`);
  }

  #emit(...events: string[]): void {
    if (this.handed) this.#log.push(...events);
  }

  #settle(name: string, outcome: string): void {
    for (const call of this.#calls) if (call.name === name && call.outcome === 'pending') call.outcome = outcome;
  }

  #settleAll(outcome: (name: string) => string): void {
    for (const call of this.#calls) if (call.outcome === 'pending') call.outcome = outcome(call.name);
  }

  /** Closed for good: `error` is the code the page is told (none after its own close()). */
  #close(error: string | undefined): void {
    this.#to('closed');
    this.#emit(`closed:${error ?? 'none'}`);
    this.#settleAll((name) => (name === 'close' ? 'ok' : 'PRODUCER_CLOSED'));
    if (!this.handed) this.produceTrack = this.link === 'closed' ? 'CLIENT_CLOSED' : (error ?? 'PRODUCER_CLOSED');
  }

  /** The connection is lost: the server's producer is gone; the track waits for the next one. */
  #lost(): void {
    if (this.media === 'closing') {
      // closeProducer was in flight: its answer will never come, the producer is closed all the same
      this.#close(undefined);
      return;
    }
    if (!ACTIVE.has(this.media)) return;
    // A track swap waits for the next production, which sends the new track.
    if (this.source === 'replacing') this.source = 'pending';
    // README.md "Staying connected": a call in flight when the socket drops rejects with CONNECTION_CLOSED.
    for (const call of this.#calls) if (call.outcome === 'pending' && call.name !== 'replaceTrack') call.outcome = 'CONNECTION_CLOSED';
    this.serverId = undefined;
    this.#to('waiting');
    if (this.recording === 'starting' || this.recording === 'recording') this.recording = 'suspended';
    else this.recording = 'idle';
  }

  /** The local producer exists: it is swapped to the newest track, at once when it sends that one already. */
  #swap(): void {
    if (this.producedWith !== this.track) return void (this.source = 'replacing');
    this.source = 'current';
    this.#settleSwap('ok');
  }

  #settleSwap(outcome: string): void {
    for (const call of this.#calls) if (call.name === 'replaceTrack' && call.outcome === 'pending') call.outcome = outcome;
  }

  #pauseOrResume(command: 'pause' | 'resume'): void {
    const from = command === 'pause' ? 'live' : 'paused';
    const done = command === 'pause' ? 'paused' : 'live';
    if (!ACTIVE.has(this.media)) return void this.#calls.push({ name: command, outcome: 'PRODUCER_CLOSED' });
    if (this.media === done) return void this.#calls.push({ name: command, outcome: 'ok' });
    if (this.media !== from) return void this.#calls.push({ name: command, outcome: 'INVALID_STATE' });
    this.#calls.push({ name: command, outcome: 'pending' });
    this.#to(command === 'pause' ? 'pausing' : 'resuming');
    this.#server.push(`${command}Producer ${this.serverId}`);
  }

  #startRecord(): void {
    if (!ACTIVE.has(this.media)) return void this.#calls.push({ name: 'startRecord', outcome: 'PRODUCER_CLOSED' });
    if ((this.recording !== 'idle' && this.recording !== 'failed') || this.serverId === undefined) {
      return void this.#calls.push({ name: 'startRecord', outcome: 'INVALID_STATE' });
    }
    this.#calls.push({ name: 'startRecord', outcome: 'pending' });
    this.recording = 'starting';
    this.#server.push(`startRecord ${this.serverId}`);
  }

  #stopRecord(): void {
    if (!ACTIVE.has(this.media)) return void this.#calls.push({ name: 'stopRecord', outcome: 'PRODUCER_CLOSED' });
    if (this.recording !== 'recording') return void this.#calls.push({ name: 'stopRecord', outcome: 'INVALID_STATE' });
    this.#calls.push({ name: 'stopRecord', outcome: 'pending' });
    this.recording = 'stopping';
    this.#server.push(`stopRecord ${this.serverId}`);
  }

  /** The server ended this track's recording by itself. */
  #recordingEnded(state: 'finished' | 'failed'): void {
    const stopping = this.recording === 'stopping';
    this.recording = state === 'failed' ? 'failed' : 'idle';
    this.#emit('recording:false');
    if (state === 'finished') {
      this.#emit(`recordingended:r${this.recordings}`);
    }
    this.#settle('startRecord', 'SERVER_ERROR');
    this.#settle('stopRecord', state === 'finished' && stopping ? `ok:r${this.recordings}` : 'SERVER_ERROR');
  }
}
