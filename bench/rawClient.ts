// The baseline: a minimal raw mediasoup-client + plain WebSocket client speaking our protocol, doing
// only the steps needed to send or receive. bench/join.ts bundles it as our client is bundled (ESM,
// same esbuild options and compile hint) and the page imports it as `RawClient`.
import { Device } from 'mediasoup-client';
import type { types as msc } from 'mediasoup-client';

type Json = Record<string, any>;

export class RawConnection {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (d: Json) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Map<string, (data: Json) => void>();
  readonly device = new Device();
  sendTransport: msc.Transport | undefined;
  recvTransport: msc.Transport | undefined;

  private constructor(private readonly ws: WebSocket) {
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data as string) as Json;
      if (msg['type'] === 'response') {
        const p = this.pending.get(msg['id']);
        this.pending.delete(msg['id']);
        if (msg['ok']) p?.resolve(msg['data']);
        else p?.reject(new Error(msg['error']?.code));
      } else if (msg['type'] === 'notification') this.listeners.get(msg['method'])?.(msg['data']);
    };
  }

  /** Opens the socket, loads the device from the welcome and joins. */
  static async connect(url: string, token: string): Promise<RawConnection> {
    const ws = new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
    const welcome = new Promise<Json>((resolve) => {
      ws.onmessage = (e) => {
        const msg = JSON.parse(e.data as string) as Json;
        if (msg['method'] === 'welcome') resolve(msg['data']);
      };
    });
    const data = await welcome;
    const conn = new RawConnection(ws);
    await conn.device.load({ routerRtpCapabilities: data['routerRtpCapabilities'] });
    await conn.request('join', { rtpCapabilities: conn.device.rtpCapabilities });
    return conn;
  }

  request(method: string, data: Json = {}): Promise<Json> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ type: 'request', id, method, data }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  on(method: string, cb: (data: Json) => void): void {
    this.listeners.set(method, cb);
  }

  private async transport(direction: 'send' | 'recv'): Promise<msc.Transport> {
    const options = (await this.request('createTransport', { direction })) as msc.TransportOptions;
    const transport = direction === 'send' ? this.device.createSendTransport(options) : this.device.createRecvTransport(options);
    transport.on('connect', ({ dtlsParameters }, ok, fail) => {
      this.request('connectTransport', { transportId: transport.id, dtlsParameters }).then(() => ok(), fail);
    });
    if (direction === 'send') {
      transport.on('produce', ({ kind, rtpParameters }, ok, fail) => {
        this.request('produce', { transportId: transport.id, kind, rtpParameters }).then((d) => ok({ id: d['producerId'] }), fail);
      });
    }
    return transport;
  }

  /** Creates the send transport ahead of producing (our client has one once connected). */
  async prepareSend(): Promise<void> {
    this.sendTransport ??= await this.transport('send');
  }

  /** Produces a track; resolves once the server acknowledged the producer. */
  async produce(track: MediaStreamTrack): Promise<string> {
    this.sendTransport ??= await this.transport('send');
    const producer = await this.sendTransport.produce({ track });
    return producer.id;
  }

  /** Listens; `onTrack` gets every remote track once its consumer is resumed. */
  async listen(onTrack: (track: MediaStreamTrack, kind: string) => void): Promise<void> {
    this.recvTransport ??= await this.transport('recv');
    const recv = this.recvTransport;
    this.on('newConsumer', (d) => {
      void (async () => {
        const consumer = await recv.consume({ id: d['id'], producerId: d['producerId'], kind: d['kind'], rtpParameters: d['rtpParameters'] });
        onTrack(consumer.track, consumer.kind);
        await this.request('resumeConsumer', { consumerId: consumer.id });
      })();
    });
    await this.request('listen');
  }

  close(): void {
    this.ws.close();
  }
}
