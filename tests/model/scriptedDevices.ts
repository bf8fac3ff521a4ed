// mediasoup-client Devices with FakeHandler (they run in Node) whose outside the test scripts:
// a load can wait until the test lets it finish or fail (the browser taking its time, or not
// supporting the router), and every transport's ICE/DTLS connection state is the test's to set.
import { Device } from 'mediasoup-client';
import * as fakeParameters from 'mediasoup-client/fakeParameters';
import { FakeHandler } from 'mediasoup-client/handlers/FakeHandler';
import type { Producer } from 'mediasoup-client/types';

type LoadOptions = Parameters<Device['load']>[0];

export class ScriptedDevices {
  /** New loads wait for `finish` / `fail`. */
  hold = false;
  /** Every load asked for, in order: the capabilities' codecs' mime types. */
  readonly loads: string[] = [];
  readonly #waiting: Array<{ go(): void; fail(error: Error): void }> = [];
  /** A producer's track swap (`replaceTrack` on the RTCRtpSender) waits for `finishReplace` / `failReplace`. */
  holdReplaces = false;
  readonly #replaces = new HeldCalls('track swap');
  /** A recv transport's receive (a consume's negotiation) waits for `finishReceive` / `failReceive`. */
  holdReceives = false;
  readonly #receives = new HeldCalls('receive');
  /** Every handler (one per local transport), in creation order, with the direction it was made for. */
  readonly handlers: Array<{ direction: 'send' | 'recv'; handler: FakeHandler; state: string }> = [];
  /** Every local producer, in creation order. */
  readonly producers: Producer[] = [];

  /** Whether the newest open local producer sends (`sending`), is paused locally (`paused`), or there is none. */
  get sending(): 'sending' | 'paused' | 'none' {
    const producer = this.producers.filter((p) => !p.closed).at(-1);
    return producer ? (producer.paused ? 'paused' : 'sending') : 'none';
  }

  readonly factory = (): Device => {
    const created = FakeHandler.createFactory({
      generateNativeRtpCapabilities: fakeParameters.generateNativeRtpCapabilities,
      generateNativeSctpCapabilities: fakeParameters.generateNativeSctpCapabilities,
      generateLocalDtlsParameters: fakeParameters.generateLocalDtlsParameters,
    });
    const handlerFactory = {
      ...created,
      factory: (options: Parameters<typeof created.factory>[0]) => {
        const handler = created.factory(options) as FakeHandler;
        const entry = { direction: options.direction, handler, state: 'new' };
        this.handlers.push(entry);
        handler.on('@connectionstatechange', (state: string) => (entry.state = state));
        const receive = handler.receive.bind(handler);
        handler.receive = (list) => (this.holdReceives ? this.#receives.hold(() => receive(list)) : receive(list));
        const replace = handler.replaceTrack.bind(handler);
        handler.replaceTrack = (localId, track) => (this.holdReplaces ? this.#replaces.hold(() => replace(localId, track)) : replace(localId, track));
        return handler;
      },
    } as typeof created;
    const device = new Device({ handlerFactory });
    device.observer.on('newtransport', (transport) => transport.observer.on('newproducer', (producer) => this.producers.push(producer)));
    const load = device.load.bind(device);
    device.load = (options: LoadOptions) => {
      this.loads.push(describeCapabilities(options.routerRtpCapabilities));
      if (!this.hold) return load(options);
      return new Promise<void>((resolve, reject) => {
        this.#waiting.push({ go: () => void load(options).then(resolve, reject), fail: reject });
      });
    };
    return device;
  };

  get waiting(): number {
    return this.#waiting.length;
  }

  /** The newest waiting load (the one the client waits for) goes on: it succeeds if mediasoup-client accepts the capabilities. */
  finish(): void {
    const next = this.#waiting.pop();
    if (!next) throw new Error('no device load is waiting');
    next.go();
  }

  /** The newest waiting load fails, as a browser that cannot use the router's codecs. */
  fail(): void {
    const next = this.#waiting.pop();
    if (!next) throw new Error('no device load is waiting');
    next.fail(new Error('no codec in common with the router'));
  }

  releaseAll(): void {
    while (this.#waiting.length) this.finish();
    this.#replaces.releaseAll();
    this.#receives.releaseAll();
  }

  /** The oldest waiting track swap is done. */
  finishReplace(): void {
    this.#replaces.finish();
  }

  /** The oldest waiting track swap fails, as a browser refusing the new track. */
  failReplace(): void {
    this.#replaces.fail(new Error('the browser refused the track'));
  }

  /** The oldest waiting receive is negotiated. */
  finishReceive(): void {
    this.#receives.finish();
  }

  /** The oldest waiting receive fails, as a browser refusing the offer. */
  failReceive(): void {
    this.#receives.fail(new Error('the browser refused the offer'));
  }

  /** The newest local transport of `direction` was closed. */
  closed(direction: 'send' | 'recv'): boolean | undefined {
    const entry = this.handlers.filter((h) => h.direction === direction).at(-1);
    return entry && (entry.handler as unknown as { _closed: boolean })._closed;
  }

  /** The connection state of the newest local transport of `direction` changes (ICE/DTLS). */
  setConnectionState(direction: 'send' | 'recv', state: string): void {
    const entry = this.handlers.filter((h) => h.direction === direction).at(-1);
    if (!entry) throw new Error(`no ${direction} transport`);
    const handler = entry.handler as unknown as { setConnectionState(state: string): void };
    // A browser reports changes only: to be in the same state again it went through another one.
    if (entry.state === state) handler.setConnectionState(state === 'connecting' ? 'new' : 'connecting');
    handler.setConnectionState(state);
  }

  /** Parameters of a server transport, as the server answers `createTransport`. */
  transportParameters() {
    return fakeParameters.generateTransportRemoteParameters();
  }
}

/** Calls held until the test lets the oldest go on, or fail. */
class HeldCalls {
  readonly #calls: Array<{ go(): void; fail(error: Error): void }> = [];

  constructor(private readonly what: string) {}

  hold<T>(run: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => this.#calls.push({ go: () => void run().then(resolve, reject), fail: reject }));
  }

  finish(): void {
    this.#oldest().go();
  }

  fail(error: Error): void {
    this.#oldest().fail(error);
  }

  releaseAll(): void {
    while (this.#calls.length) this.finish();
  }

  #oldest() {
    const next = this.#calls.shift();
    if (!next) throw new Error(`no ${this.what} is waiting`);
    return next;
  }
}

export function describeCapabilities(caps: unknown): string {
  const codecs = (caps as { codecs?: Array<{ mimeType?: string }> } | undefined)?.codecs ?? [];
  return codecs.map((c) => c.mimeType).join(',') || 'none';
}
