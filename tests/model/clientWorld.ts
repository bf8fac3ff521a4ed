// The world a model path runs in: a real MediaInfraClient (its facades, its real actors and their
// real implementations: MediaSignalingService, MediaDevice with mediasoup-client's FakeHandler)
// talking to the in-memory FakeServer in scripted mode. The test does, step by step, what the
// outside would: answer or refuse a request the server holds, send a notification, close the
// socket, let a device finish loading, change a transport's ICE state, let a timer's time pass.
import type { Device } from 'mediasoup-client';
import type { AnyActorRef, EventObject, InspectionEvent } from 'xstate';
import { createMediaClient, type MediaInfraClient } from '../../src/client/index.js';
import type { RequestMethod } from '../../src/protocol/messages.js';
import { FakeServer } from '../unit/support/fakeServer.js';
import { ScriptedDevices } from './scriptedDevices.js';

/** Longer than any test: no timer of the client ever fires by itself; `fire` makes its time pass. */
export const NEVER = 3_600_000;

const RUNAWAY = 500;

export interface ClientWorldOptions {
  /** Requests the server keeps until the test answers them. */
  held: RequestMethod[];
  inspect: (event: InspectionEvent) => void;
  /** The server welcomes a new socket at once (default) or when the test says. */
  autoWelcome?: boolean;
  /** Device loads wait for the test (`devices.finish` / `devices.fail`). */
  holdLoads?: boolean;
  maxAttempts?: number;
  maxIceRestarts?: number;
}

type Scheduled = { source: AnyActorRef; target: AnyActorRef; event: EventObject; id: string };
type SystemInternals = {
  _snapshot: { _scheduledEvents: Record<string, Scheduled> };
  scheduler: { cancel(source: AnyActorRef, id: string): void };
};

/**
 * Time passes for the one running XState timer (`after`) whose event type starts with `prefix`:
 * it fires now. The timers are set long (NEVER), so none fires unless a step says so.
 */
export function fireTimer(system: unknown, prefix: string): void {
  const internals = system as SystemInternals;
  const due = Object.values(internals._snapshot._scheduledEvents).filter((s) => s.event.type.startsWith(prefix));
  if (due.length !== 1) throw new Error(`expected one running '${prefix}' timer, found ${due.length}`);
  const [timer] = due as [Scheduled];
  internals.scheduler.cancel(timer.source, timer.id);
  timer.target.send(timer.event);
}

/** The delays running now (`xstate.after.<delay>...` → `<delay>`), sorted: what would happen if time passed. */
export function runningTimers(system: unknown): string[] {
  return Object.values((system as SystemInternals)._snapshot._scheduledEvents)
    .map((s) => /^xstate\.after\.([^.]+)/.exec(s.event.type)?.[1] ?? s.event.type)
    .sort();
}

export class ClientWorld {
  readonly server = new FakeServer();
  readonly devices = new ScriptedDevices();
  readonly client: MediaInfraClient;
  /** What the page saw of the client, in order, since the last `take`. */
  readonly log: string[] = [];
  /** What the client logged (its `logger.warn`), in order. */
  readonly warnings: string[] = [];
  /** The reconnection attempts the client announced (its debug log), as `<attempt> <node URL>`, since the last look. */
  readonly attempts: string[] = [];
  /** Server-side ids, as the server issued them. */
  readonly producerIds: string[] = [];
  readonly recordingIds: string[] = [];
  readonly transports = new Map<string, 'send' | 'recv'>();
  #system: SystemInternals | undefined;
  #seen = 0;
  #closing: Promise<void> | undefined;

  constructor(options: ClientWorldOptions) {
    const { server } = this;
    for (const method of options.held) server.held.add(method);
    server.autoWelcome = options.autoWelcome ?? true;
    // A server of protocol 1-2: the client asks createTransport, which the test answers (and the
    // scripted devices know the transports' ids). The transports a protocol-3 welcome offers take
    // the same machine paths (tests/unit covers that flow).
    server.offerTransports = false;
    server.handlers.createTransport = (data: { direction: 'send' | 'recv' }) => {
      const answer = this.devices.transportParameters();
      this.transports.set(answer.id, data.direction);
      return answer;
    };
    server.handlers.produce = () => {
      this.producerIds.push(`p${this.producerIds.length + 1}`);
      return { producerId: this.producerIds.at(-1) };
    };
    server.handlers.startRecord = () => {
      this.recordingIds.push(`r${this.recordingIds.length + 1}`);
      return { recordingId: this.recordingIds.at(-1) };
    };
    server.handlers.stopRecord = () => ({ id: this.recordingIds.at(-1), path: `/recordings/${this.recordingIds.at(-1)}.webm` });
    // A client that asks without end (each answer making it ask again) would never yield to a
    // timer: stop it loudly instead. No path sends a tenth of this.
    const receive = server.receive.bind(server);
    server.receive = (socket, text) => {
      if (server.requests.length >= RUNAWAY) throw new Error(`the client sent ${RUNAWAY} requests: it loops (last: ${server.requests.at(-1)?.method})`);
      receive(socket, text);
    };
    this.devices.hold = options.holdLoads ?? false;
    this.client = createMediaClient('ws://media.test/v1/ws', 'model-token', {
      webSocketFactory: server.factory,
      deviceFactory: this.devices.factory as () => Device,
      inspect: (event) => {
        this.#system ??= (event.actorRef as unknown as { system: SystemInternals }).system;
        options.inspect(event);
      },
      requestTimeout: NEVER,
      connectTimeout: NEVER,
      pingInterval: NEVER,
      pingTimeout: NEVER,
      welcomeTimeout: NEVER,
      closeTimeout: NEVER,
      iceDisconnectedTimeout: NEVER,
      iceRestartTimeout: NEVER,
      maxIceRestarts: options.maxIceRestarts ?? 1,
      reconnect: { maxAttempts: options.maxAttempts ?? 2, delay: () => NEVER },
      logLevel: 'debug',
      logger: {
        warn: (...args: unknown[]) => this.warnings.push(args.map(String).join(' ')),
        debug: (...args: unknown[]) => {
          const attempt = /reconnection attempt (\d+) of \d+ to (\S+)/.exec(args.map(String).join(' '));
          if (attempt) this.attempts.push(`${attempt[1]} ${attempt[2]}`);
        },
      },
    });
    this.client.on('state', (state) => this.log.push(`client:${state}`));
    this.client.on('error', (error) => this.log.push(`error:${error.code}`));
  }

  /** The requests the server received since the last look, as `method key`, for the methods asked. */
  requests(methods: ReadonlySet<string>): string[] {
    const fresh = this.server.requests.slice(this.#seen);
    this.#seen = this.server.requests.length;
    return fresh.filter((r) => methods.has(r.method)).map((r) => describeRequest(r.method, r.data, this.transports));
  }

  /** Takes (and clears) the log. */
  take(): string[] {
    return this.log.splice(0);
  }

  /** The time of the one running timer whose event type starts with `prefix` passes: it fires now. */
  fire(prefix: string): void {
    if (!this.#system) throw new Error('the client has not started');
    fireTimer(this.#system, prefix);
  }

  /** The server drops the current socket (not a refusal: the client reconnects). */
  dropSocket(code = 1006): void {
    const socket = this.server.current;
    if (!socket || socket.readyState !== 1) throw new Error('no open socket to drop');
    socket.serverClose(code, 'lost');
  }

  close(): Promise<void> {
    return (this.#closing ??= this.client.close());
  }

  async stop(): Promise<void> {
    // A client left half-way (a held request, a held load) is closed without waiting for the
    // server: its socket closes (held requests fail with it). Nothing held is answered now, so a
    // client that would loop on answers cannot loop here.
    this.server.closeOnLeave = true;
    this.devices.hold = false;
    this.devices.releaseAll();
    const socket = this.server.current;
    const closing = this.close();
    if (socket?.readyState === 1) socket.serverClose(1000, 'test over');
    await closing;
  }
}

/** `method key`: the part of a request that says what it is about. */
export function describeRequest(method: string, data: any, transports: ReadonlyMap<string, string>): string {
  switch (method) {
    case 'createTransport':
      return `createTransport ${data.direction}`;
    case 'connectTransport':
    case 'restartIce':
      return `${method} ${transports.get(data.transportId) ?? '?'}`;
    case 'produce':
      return `produce ${data.kind} ${transports.get(data.transportId) ?? '?'}${data.paused ? ' paused' : ''}`;
    case 'pauseProducer':
    case 'resumeProducer':
    case 'closeProducer':
    case 'startRecord':
    case 'stopRecord':
      return `${method} ${data.producerId}`;
    case 'pauseConsumer':
    case 'resumeConsumer':
      return `${method} ${data.consumerId}`;
    case 'resumeConsumers':
      return `${method} ${data.consumerIds.join(' ')}`;
    default:
      return method;
  }
}

/** Records a promise's outcome for the oracle to compare: `pending`, `ok` or the error's code. */
export class Calls {
  readonly #all: Array<{ name: string; outcome: string }> = [];
  track(name: string, promise: Promise<unknown>, describe: (value: unknown) => string = () => 'ok'): void {
    const call = { name, outcome: 'pending' };
    this.#all.push(call);
    promise.then(
      (value) => (call.outcome = describe(value)),
      (error: { code?: string }) => (call.outcome = error?.code ?? `uncoded: ${String(error)}`),
    );
  }
  list(): string[] {
    return this.#all.map((c) => `${c.name}:${c.outcome}`);
  }
}
