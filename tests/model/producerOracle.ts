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
// The page's pause/resume and startRecord/stopRecord are intents (README "Calls while
// reconnecting"): taken at once in every state, the last one winning, applied to the server once
// the track is produced; a pause stops the local producer's packets at once.
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
  /** The page's last word: pause() / resume() (or a refusal that undid it). */
  paused = false;
  /** What the server's producer is. */
  serverPaused = false;
  /** The last refusal of a pause/resume, until the next call. */
  mediaError: string | undefined;
  recording: Recording = 'idle';
  /** The page's last word: startRecord() / stopRecord(). */
  recordingWanted = false;
  /** The running segment (its id), and the last finished recording a stopRecord() answers with. */
  segment: string | undefined;
  lastRecording: string | undefined;
  recordingError: string | undefined;
  link: Link = 'connecting';
  /** The server's id of this producer while produced (kept once closed, as `id` is). */
  serverId: string | undefined;
  produced = false;
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
      // The local producer: it sends only while live (a pause stops it at once, a resume once the server resumed);
      // while producing it exists already (made at once, the server's answer awaited apart), as the page wanted it then.
      local:
        this.media === 'producing'
          ? this.serverPaused
            ? 'paused'
            : 'sending'
          : this.produced && ACTIVE.has(this.media)
            ? this.media === 'live'
              ? 'sending'
              : 'paused'
            : 'none',
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
        // Produced as the page wants it now: paused from its first moment.
        this.serverPaused = this.paused;
        this.#server.push(`produce video send${this.paused ? ' paused' : ''}`);
        return true;
      case 'xstate.done.actor.produce': {
        if (this.media !== 'producing') return false;
        this.serverId = `p${++this.issued}`;
        this.produced = true;
        // The state the production settles in comes before the page is told (or handed the manager).
        this.#settleMedia();
        if (this.handed) this.#emit(`produced:${this.serverId}`);
        else [this.handed, this.produceTrack] = [true, 'ok'];
        // A swap asked for before: done already if this production sent the new track, made now if not.
        if (this.source === 'pending') this.#swap();
        // A recording wanted while the track was not produced starts now.
        if (this.recording === 'suspended') this.#startRecording();
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
        this.serverPaused = true;
        this.#settleMedia();
        this.#emit('paused');
        return true;
      case 'xstate.error.actor.pauseProducer':
        if (this.media !== 'pausing') return false;
        // Refused: the intent falls back to what the server has.
        [this.paused, this.mediaError] = [false, 'SERVER_ERROR'];
        this.#settleMedia();
        return true;
      case 'xstate.done.actor.resumeProducer':
        if (this.media !== 'resuming') return false;
        this.serverPaused = false;
        this.#settleMedia();
        this.#emit('resumed');
        return true;
      case 'xstate.error.actor.resumeProducer':
        if (this.media !== 'resuming') return false;
        [this.paused, this.mediaError] = [true, 'SERVER_ERROR'];
        this.#settleMedia();
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
      case 'stopRecord':
        if (!this.handed) return false;
        if (e.type === 'startRecord') this.#startRecord();
        else this.#stopRecord();
        return true;
      case 'xstate.done.actor.startRecord':
        if (this.recording !== 'starting' || !ACTIVE.has(this.media)) return false;
        this.segment = `r${++this.recordings}`;
        this.#emit('recording:true');
        // stopRecord() was called meanwhile: what just started is stopped.
        if (!this.recordingWanted) this.#stopRecording();
        else this.recording = 'recording';
        this.#settleRecording();
        return true;
      case 'xstate.error.actor.startRecord':
        if (this.recording !== 'starting' || !ACTIVE.has(this.media)) return false;
        [this.recording, this.recordingWanted, this.recordingError] = ['failed', false, 'SERVER_ERROR'];
        this.#settleRecording();
        return true;
      case 'xstate.done.actor.stopRecord':
        if (this.recording !== 'stopping' || !ACTIVE.has(this.media)) return false;
        [this.lastRecording, this.segment] = [this.segment, undefined];
        this.#emit('recording:false', `recordingended:${this.lastRecording}`);
        // startRecord() was called meanwhile: a new recording starts.
        if (this.recordingWanted) this.#startRecording();
        else this.recording = 'idle';
        this.#settleRecording();
        return true;
      case 'xstate.error.actor.stopRecord':
        if (this.recording !== 'stopping' || !ACTIVE.has(this.media)) return false;
        [this.recording, this.recordingWanted, this.recordingError, this.segment] = ['failed', false, 'SERVER_ERROR', undefined];
        this.#emit('recording:false');
        this.#settleRecording();
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

  /** The connection is lost: the server's producer is gone; the track waits for the next one, intents kept. */
  #lost(): void {
    if (this.media === 'closing') {
      // closeProducer was in flight: its answer will never come, the producer is closed all the same
      this.#close(undefined);
      return;
    }
    if (!ACTIVE.has(this.media)) return;
    // A track swap waits for the next production, which sends the new track.
    if (this.source === 'replacing') this.source = 'pending';
    [this.serverId, this.produced] = [undefined, false];
    this.#to('waiting');
    // The server finalized the running segment (if any): that is the last recording now.
    if (this.segment) [this.lastRecording, this.segment] = [this.segment, undefined];
    this.recording = this.recordingWanted ? 'suspended' : 'idle';
    this.#settleRecording();
  }

  /** The intent applied where the server differs; once it matches, the pending pause/resume calls settle. */
  #settleMedia(): void {
    if (this.paused && !this.serverPaused) {
      this.#to('pausing');
      this.#server.push(`pauseProducer ${this.serverId}`);
    } else if (!this.paused && this.serverPaused) {
      this.#to('resuming');
      this.#server.push(`resumeProducer ${this.serverId}`);
    } else {
      this.#to(this.paused ? 'paused' : 'live');
      const done = this.paused ? 'pause' : 'resume';
      for (const call of this.#calls) {
        if ((call.name === 'pause' || call.name === 'resume') && call.outcome === 'pending') call.outcome = call.name === done || !this.mediaError ? 'ok' : this.mediaError;
      }
    }
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
    const wantPaused = command === 'pause';
    if (!ACTIVE.has(this.media)) return void this.#calls.push({ name: command, outcome: 'PRODUCER_CLOSED' });
    if (this.media === (wantPaused ? 'paused' : 'live') && this.paused === wantPaused) return void this.#calls.push({ name: command, outcome: 'ok' });
    this.#calls.push({ name: command, outcome: 'pending' });
    [this.paused, this.mediaError] = [wantPaused, undefined];
    if (this.media === 'live' || this.media === 'paused') this.#settleMedia();
  }

  #startRecording(): void {
    this.recording = 'starting';
    this.#server.push(`startRecord ${this.serverId}`);
  }

  #stopRecording(): void {
    this.recording = 'stopping';
    this.#server.push(`stopRecord ${this.serverId}`);
  }

  #startRecord(): void {
    if (!ACTIVE.has(this.media)) return void this.#calls.push({ name: 'startRecord', outcome: 'PRODUCER_CLOSED' });
    if (this.recording === 'recording') return void this.#calls.push({ name: 'startRecord', outcome: 'INVALID_STATE' });
    this.#calls.push({ name: 'startRecord', outcome: 'pending' });
    // In flight already (or waiting for the producer): this call waits with it.
    if (this.recording === 'starting' || this.recording === 'suspended') return;
    [this.recordingWanted, this.recordingError, this.lastRecording] = [true, undefined, undefined];
    if (this.recording === 'stopping') return;
    if (this.produced) this.#startRecording();
    else this.recording = 'suspended';
  }

  #stopRecord(): void {
    if (!ACTIVE.has(this.media)) return void this.#calls.push({ name: 'stopRecord', outcome: 'PRODUCER_CLOSED' });
    if (this.recording === 'idle' || this.recording === 'failed') return void this.#calls.push({ name: 'stopRecord', outcome: 'INVALID_STATE' });
    this.#calls.push({ name: 'stopRecord', outcome: 'pending' });
    if (this.recording === 'stopping') return;
    if (this.recording === 'suspended') {
      // Nothing runs on the server: the intent is dropped; the answer is the segment the lost connection ended, if any.
      [this.recording, this.recordingWanted] = ['idle', false];
      this.#settleRecording();
      return;
    }
    [this.recordingWanted, this.recordingError, this.lastRecording] = [false, undefined, undefined];
    if (this.recording === 'recording') this.#stopRecording();
  }

  /** Once the recording rests (nothing in flight, nothing waiting for the producer), the pending recording calls settle. */
  #settleRecording(): void {
    if (this.recording === 'starting' || this.recording === 'stopping' || this.recording === 'suspended') return;
    for (const call of this.#calls) {
      if (call.outcome !== 'pending') continue;
      if (call.name === 'startRecord') call.outcome = this.recording === 'recording' ? 'ok' : (this.recordingError ?? 'INVALID_STATE');
      if (call.name === 'stopRecord') call.outcome = this.lastRecording ? `ok:${this.lastRecording}` : (this.recordingError ?? 'INVALID_STATE');
    }
  }

  /** The server ended this track's recording by itself. */
  #recordingEnded(state: 'finished' | 'failed'): void {
    this.#emit('recording:false');
    this.recordingWanted = false;
    if (state === 'failed') [this.recording, this.recordingError] = ['failed', 'SERVER_ERROR'];
    else {
      this.recording = 'idle';
      this.lastRecording = `r${this.recordings}`;
      this.#emit(`recordingended:${this.lastRecording}`);
    }
    this.segment = undefined;
    this.#settleRecording();
  }
}
