// What a page and the server see of a MediaInfraClient's connection, written by hand from
// machines/README.md and the client's documentation, not from clientMachine. In this world every
// router has other capabilities than the last (the device loads on every connection) and the
// server answers join, createTransport and listen only when the path says so; produce, leave and
// the rest are answered at once. Once the device is loaded, join, the transports, the tracks
// (once the send transport is there) and listen are all asked at once, none waiting for another's
// answer; the client is connected once each was answered. Two failed attempts in a row end the client. Steps are named by
// the events of clientMachine's graph:
//   signaling.welcomed / signaling.closed(code) / signaling.notified(…)   the server's socket
//   device.loaded / device.failed          the browser's Device finishes / fails loading
//   done/error.join, done/error.listen      the server answers / refuses
//   transport.created / transport.failed    the server answers / refuses createTransport
//   after.backoff                           the reconnection delay passes
//   produceTrack / listenTrack / close      the page's calls
//   producer.closed                         the page closes its track's ProduceManager
//   consumer.closed                         the server closes the remote track's consumer
import type { EventObject } from 'xstate';
import type { Oracle } from './modelHarness.js';

/**
 * The cluster of this world: every welcome lists the nodes other than the one welcoming (and a
 * wss: node, which a ws: client never goes to). After a lost connection the client tries the node
 * it was on, then the others its last welcome listed, in order, cycling.
 */
const CLUSTER = ['ws://media.test/v1/ws', 'ws://node-b.test/v1/ws', 'ws://node-c.test/v1/ws'];

type Phase = 'connecting' | 'connected' | 'backingOff' | 'closed';
type Step = 'welcoming' | 'loading' | 'joining';
type Direction = 'send' | 'recv';
interface Producer {
  state: 'waiting' | 'live' | 'closed';
  id: string | undefined;
  call: { outcome: string };
}

const MAX_ATTEMPTS = 2;

export class ClientOracle implements Oracle {
  phase: Phase = 'connecting';
  step: Step = 'welcoming';
  /** Lost at least once since last connected: the page is told `reconnecting`. */
  reconnecting = false;
  attempt = 0;
  listening = false;
  transports: Partial<Record<Direction, 'creating' | 'ready'>> = {};
  subscription: 'idle' | 'preparing' | 'requesting' | 'subscribed' = 'idle';
  /** While joining: join answered; the listen sent with it (none: the page did not listen yet). */
  joined = false;
  joinListen: 'none' | 'requesting' | 'done' | 'subscribed' = 'none';
  /** Remote tracks told while the recv transport is still being made: consumed once it is. */
  readonly #waitingConsumers: string[] = [];
  welcomed = false;
  closeReason: string | undefined;
  /** Every socket, as the server sees it. */
  readonly sockets: string[] = ['open'];
  readonly producers: Producer[] = [];
  /** Remote tracks the client has a consumer for. */
  readonly consumers = new Set<string>();
  delivered = 0;
  /** Remote tracks it was told of while listening but had no recv transport for yet (logged). */
  readonly unconsumed: string[] = [];
  issued = 0;
  consumerSeq = 0;
  loads = 0;
  waitingLoads = 0;
  /** The nodes the client knows, the one that welcomed it last first; which one the next attempt goes to. */
  nodes = [CLUSTER[0]!];
  node = 0;
  /** Where every socket went. */
  readonly urls = [CLUSTER[0]!];
  /** The reconnection attempts announced (debug log): `<attempt> <node>`. */
  readonly #next: string[] = [];
  readonly #log: string[] = [];
  readonly #server: string[] = [];
  readonly #calls: Array<{ name: string; outcome: string }> = [];
  #label = 'connecting';

  expected() {
    return {
      state: this.#label,
      closeReason: this.closeReason,
      log: this.#log.splice(0),
      sockets: [...this.sockets],
      urls: [...this.urls],
      next: this.#next.splice(0),
      server: this.#server.splice(0).sort(),
      loads: { asked: this.loads, waiting: this.waitingLoads },
      calls: this.#calls.map((c) => `${c.name}:${c.outcome}`),
      producers: this.producers.filter((p) => p.call.outcome === 'ok').map((p) => p.state),
      delivered: this.delivered,
      unconsumed: [...this.unconsumed],
    };
  }

  apply(event: EventObject): boolean {
    const e = event as EventObject & Record<string, any>;
    if (this.phase === 'closed') return false;
    const session = (step: Step) => this.phase === 'connecting' && this.step === step;
    switch (e.type) {
      case 'signaling.welcomed':
        if (!session('welcoming')) return false;
        this.welcomed = true;
        {
          const own = this.nodes[this.node]!;
          this.nodes = [own, ...CLUSTER.filter((url) => url !== own)];
          this.node = 0;
        }
        this.step = 'loading';
        this.loads++;
        this.waitingLoads++;
        return true;
      case 'device.loaded':
        if (!session('loading')) return false;
        this.waitingLoads--;
        this.step = 'joining';
        this.joined = false;
        this.#server.push('join');
        this.#createTransport('send');
        if (this.listening) this.#createTransport('recv');
        this.joinListen = this.listening ? 'requesting' : 'none';
        if (this.listening) this.#server.push('listen');
        return true;
      case 'device.failed':
        // A browser that cannot use the router: retrying would not help.
        if (!session('loading')) return false;
        this.waitingLoads--;
        this.#end('failed', 'closed by the client (1000)');
        return true;
      case 'xstate.done.actor.join':
        if (!session('joining') || this.joined) return false;
        this.joined = true;
        this.#maybeConnected();
        return true;
      case 'xstate.error.actor.join':
        if (!session('joining') || this.joined) return false;
        this.#lost('closed by the client (1000)');
        return true;
      case 'transport.created': {
        const direction = e.direction as Direction;
        if (this.transports[direction] !== 'creating') return false;
        this.transports[direction] = 'ready';
        // The tracks waiting for a connection are sent (again) as soon as the send transport is there.
        if (direction === 'send') for (const producer of this.producers) if (producer.state === 'waiting') this.#produce(producer);
        if (direction === 'recv') for (const id of this.#waitingConsumers.splice(0)) this.#consume(id);
        if (session('joining')) this.#maybeConnected();
        else if (this.phase === 'connected' && this.subscription === 'preparing') this.#requestListen();
        return true;
      }
      case 'transport.failed':
        if (!Object.values(this.transports).includes('creating')) return false;
        this.#lost('closed by the client (1000)');
        return true;
      case 'xstate.done.actor.listen':
        if (session('joining') && this.joinListen === 'requesting') {
          this.joinListen = 'subscribed';
          this.#maybeConnected();
          return true;
        }
        if (this.subscription !== 'requesting') return false;
        this.subscription = 'subscribed';
        return true;
      case 'xstate.error.actor.listen':
        if (session('joining') && this.joinListen === 'requesting') {
          this.joinListen = 'done';
          this.listening = false;
          this.#log.push('error:SERVER_ERROR');
          this.#maybeConnected();
          return true;
        }
        if (this.subscription !== 'requesting') return false;
        // Said as an error; listening again needs a new listenTrack.
        this.subscription = 'idle';
        this.listening = false;
        this.#log.push('error:SERVER_ERROR');
        return true;
      case 'signaling.closed':
        if (this.phase === 'backingOff') return false;
        if (e.code === 4001 || e.code === 4002) this.#end(e.code === 4001 ? 'unauthorized' : 'expired', 'closed by the server');
        else if (e.code === 4003) {
          // Another connection of the same token took over: end, and say why.
          this.#log.push('error:REPLACED');
          this.#end('replaced', 'closed by the server');
        } else if (e.code === 4010) {
          // Versions that do not overlap: final, and said why.
          this.#log.push('error:UNSUPPORTED_PROTOCOL');
          this.#end('failed', 'closed by the server');
        } else this.#lost('closed by the server');
        return true;
      case 'xstate.after.backoff.client.running.reconnecting.backingOff':
        if (this.phase !== 'backingOff') return false;
        this.attempt++;
        this.phase = 'connecting';
        this.step = 'welcoming';
        this.sockets.push('open');
        this.urls.push(this.nodes[this.node]!);
        return true;
      case 'produceTrack': {
        const producer: Producer = { state: 'waiting', id: undefined, call: { outcome: 'pending' } };
        this.producers.push(producer);
        this.#calls.push(Object.assign(producer.call, { name: `produceTrack#${this.producers.length}` }));
        if (this.transports.send === 'ready') this.#produce(producer);
        return true;
      }
      case 'listenTrack':
        if (this.listening) return true;
        this.listening = true;
        if (this.phase === 'connected' && this.subscription === 'idle') this.#subscribe();
        return true;
      case 'close':
        this.#calls.push({ name: 'close', outcome: 'ok' });
        if (this.phase === 'backingOff') this.#end('client', undefined);
        else if (this.welcomed) {
          this.#server.push('leave');
          this.#end('client', 'closed by the server');
        } else this.#end('client', 'closed by the client (1000)');
        return true;
      case 'producer.closed': {
        const producer = this.producers.find((p) => p.state !== 'closed');
        if (!producer) return false;
        if (producer.state === 'live') this.#server.push(`closeProducer ${producer.id}`);
        this.#closeProducer(producer, 'PRODUCER_CLOSED');
        return true;
      }
      case 'consumer.closed':
        if (!this.welcomed || this.consumers.size === 0) return false;
        this.consumers.clear();
        return true;
      case 'signaling.notified':
        if (!this.welcomed) return false;
        return this.#notified(e.method, e.data);
      default:
        return false;
    }
  }

  #notified(method: string, data: Record<string, any>): boolean {
    switch (method) {
      case 'newConsumer': {
        const id = `c${++this.consumerSeq}`;
        if (!this.listening) return true;
        // Consumed on the recv transport of this connection: at once, or once the one being made is there.
        if (this.transports.recv === 'ready') this.#consume(id);
        else if (this.transports.recv === 'creating') this.#waitingConsumers.push(id);
        else this.unconsumed.push(id);
        return true;
      }
      case 'consumerClosed':
        this.consumers.clear();
        return true;
      case 'producerClosed': {
        const producer = this.producers.find((p) => p.state === 'live');
        if (producer) this.#closeProducer(producer, 'PRODUCER_CLOSED');
        return true;
      }
      case 'trackNotConsumed':
        this.#log.push(`error:${data.code}`);
        return true;
      default:
        return true;
    }
  }

  #setLabel(): void {
    const label = this.phase === 'closed' ? 'closed' : this.phase === 'connected' ? 'connected' : this.reconnecting ? 'reconnecting' : 'connecting';
    if (label !== this.#label) this.#log.push(`state:${label}`);
    this.#label = label;
  }

  #createTransport(direction: Direction): void {
    this.transports[direction] = 'creating';
    this.#server.push(`createTransport ${direction}`);
  }

  #consume(id: string): void {
    this.consumers.add(id);
    this.delivered++;
    this.#server.push(`resumeConsumers ${id}`);
  }

  /** Connected once join, every transport and the listen sent with join were answered. */
  #maybeConnected(): void {
    if (!this.joined || this.joinListen === 'requesting' || !Object.values(this.transports).every((t) => t === 'ready')) return;
    this.phase = 'connected';
    this.attempt = 0;
    this.reconnecting = false;
    this.#setLabel();
    if (this.joinListen === 'subscribed') this.subscription = 'subscribed';
    else if (this.listening) this.#subscribe();
  }

  #produce(producer: Producer): void {
    producer.state = 'live';
    producer.id = `p${++this.issued}`;
    producer.call.outcome = 'ok';
    this.#server.push('produce audio send');
  }

  #subscribe(): void {
    this.subscription = 'preparing';
    if (this.transports.recv === 'ready') this.#requestListen();
    else this.#createTransport('recv');
  }

  #requestListen(): void {
    this.subscription = 'requesting';
    this.#server.push('listen');
  }

  #closeProducer(producer: Producer, code: string): void {
    producer.state = 'closed';
    if (producer.call.outcome === 'pending') producer.call.outcome = this.phase === 'closed' ? 'CLIENT_CLOSED' : code;
  }

  /** The connection is lost (not refused): the client waits, then tries again, a bounded number of times. */
  #lost(socket: string): void {
    this.sockets[this.sockets.length - 1] = socket;
    // A failed attempt moves on to the next node; a connection lost once connected tries its node again.
    if (this.phase === 'connecting') this.node = (this.node + 1) % this.nodes.length;
    this.welcomed = false;
    this.transports = {};
    this.subscription = 'idle';
    this.joinListen = 'none';
    this.consumers.clear();
    // Their consumers closed with the connection (said to the page as closed, not logged).
    this.#waitingConsumers.length = 0;
    for (const producer of this.producers) if (producer.state === 'live') [producer.state, producer.id] = ['waiting', undefined];
    if (this.attempt >= MAX_ATTEMPTS) return this.#end('failed', socket);
    this.phase = 'backingOff';
    this.#next.push(`${this.attempt + 1} ${this.nodes[this.node]}`);
    this.reconnecting = true;
    this.#setLabel();
  }

  /** Closed for good: every track closes; the socket ends as `socket` says (undefined: it was gone already). */
  #end(reason: string, socket: string | undefined): void {
    if (socket) this.sockets[this.sockets.length - 1] = socket;
    this.phase = 'closed';
    this.closeReason = reason;
    this.welcomed = false;
    for (const producer of this.producers) if (producer.state !== 'closed') this.#closeProducer(producer, 'CLIENT_CLOSED');
    this.#setLabel();
  }
}
