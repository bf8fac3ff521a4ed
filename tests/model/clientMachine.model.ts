// clientMachine's paths, run against a real MediaInfraClient (all its real actors and services)
// and the scripted fake server, whose routers each have other capabilities (so the device loads
// on every connection, when the test says). Checked at every step by ClientOracle: the client's
// state and closeReason, its state and error events, every socket, the requests, the device
// loads, the outcome of every call, the ProduceManagers' states and the tracks received.
import * as fakeParameters from 'mediasoup-client/fakeParameters';
import type { EventObject } from 'xstate';
import { clientMachine } from '../../machines/clientMachine.js';
import type { ConsumeManager, ProduceManager } from '../../src/client/index.js';
import { fakeTrack, type FakeSocket } from '../unit/support/fakeServer.js';
import { Calls, ClientWorld } from './clientWorld.js';
import { ClientOracle } from './clientOracle.js';
import type { ModelSpec } from './modelHarness.js';
import { actorErrors, ice, timing, welcome } from './samples.js';

const METHODS = new Set(['join', 'createTransport', 'listen', 'leave', 'produce', 'closeProducer', 'resumeConsumer', 'resumeConsumers']);
const routerA = fakeParameters.generateRouterRtpCapabilities();
const routerB = { ...routerA, codecs: routerA.codecs!.filter((c) => c.kind === 'audio') };
/** Every welcome lists the cluster's other nodes (CLUSTER, in this order, and one wss: node the ws: client must skip). */
export const CLUSTER = ['ws://media.test/v1/ws', 'ws://node-b.test/v1/ws', 'ws://node-c.test/v1/ws'];
const OTHER_SCHEME = 'wss://node-d.test/v1/ws';
const baseUrl = (socket: FakeSocket) => socket.url.split('?')[0]!;

function describeSocket(socket: FakeSocket): string {
  if (socket.readyState === 0) return 'connecting';
  if (socket.readyState === 1) return 'open';
  return socket.closedByClient ? `closed by the client (${socket.closedByClient.code})` : 'closed by the server';
}

async function start(probe: Parameters<ModelSpec['start']>[0]) {
  const world = new ClientWorld({ held: ['join', 'createTransport', 'listen'], autoWelcome: false, holdLoads: true, inspect: probe.inspect, maxAttempts: 2 });
  const { server, client } = world;
  server.welcomeNodes = (socket) => [...CLUSTER, OTHER_SCHEME].filter((url) => url !== baseUrl(socket));
  const calls = new Calls();
  /** The page's tracks: the manager once produceTrack resolved, and whether it settled otherwise. */
  const sent: Array<{ track: MediaStreamTrack; manager?: ProduceManager; failed?: boolean }> = [];
  const received: ConsumeManager[] = [];
  let welcomes = 0;

  const act = (event: EventObject & Record<string, any>) => {
    switch (event.type) {
      case 'signaling.welcomed':
        // Every router has other capabilities than the last: the device loads each time.
        return server.welcome(server.current, welcomes++ % 2 === 0 ? routerA : routerB);
      case 'device.loaded':
        return world.devices.finish();
      case 'device.failed':
        return world.devices.fail();
      case 'xstate.done.actor.join':
        return server.answer('join');
      case 'xstate.error.actor.join':
        return server.refuse('join');
      case 'xstate.done.actor.listen':
        return server.answer('listen');
      case 'xstate.error.actor.listen':
        return server.refuse('listen');
      case 'transport.created':
        return server.answer('createTransport', undefined, (d) => d.direction === event.direction);
      case 'transport.failed':
        return server.refuse('createTransport');
      case 'signaling.closed':
        return world.dropSocket(event.code ?? 1006);
      case 'signaling.notified':
        switch (event.method) {
          case 'newConsumer':
            return void server.newConsumer('audio');
          case 'consumerClosed':
            return server.notify('consumerClosed', { consumerId: received.at(-1)?.id ?? 'c1', reason: event.data.reason });
          case 'producerClosed':
            return server.notify('producerClosed', { producerId: sent.find((e) => e.manager?.state === 'live')?.manager!.id ?? 'p-none', reason: event.data.reason });
          default:
            return server.notify(event.method, event.data);
        }
      case 'consumer.closed':
        return server.notify('consumerClosed', { consumerId: received.at(-1)!.id, reason: 'producer closed' });
      case 'produceTrack': {
        const entry: (typeof sent)[number] = { track: fakeTrack('audio') };
        sent.push(entry);
        const produced = client.produceTrack(entry.track);
        produced.then((pm) => (entry.manager = pm), () => (entry.failed = true));
        return calls.track(`produceTrack#${sent.length}`, produced);
      }
      case 'listenTrack':
        return client.listenTrack((cm) => received.push(cm));
      case 'close':
        return calls.track('close', world.close());
      case 'producer.closed': {
        // The page closes its oldest open track (before produceTrack resolved: it stops the track).
        const entry = sent.find((e) => !e.failed && e.manager?.state !== 'closed')!;
        if (entry.manager) return void entry.manager.close();
        return entry.track.stop();
      }
      default:
        if (event.type.startsWith('xstate.after.backoff')) return world.fire('xstate.after.backoff');
        throw new Error(`no way to do '${event.type}' to a real client`);
    }
  };
  const observe = () => ({
    state: client.state,
    closeReason: client.closeReason,
    log: world.take().map((entry) => entry.replace(/^client:/, 'state:')),
    sockets: server.sockets.map(describeSocket),
    urls: server.sockets.map(baseUrl),
    next: world.attempts.splice(0),
    server: world.requests(METHODS).sort(),
    loads: { asked: world.devices.loads.length, waiting: world.devices.waiting },
    calls: calls.list(),
    producers: sent.flatMap((e) => (e.manager ? [e.manager.state === 'closed' ? 'closed' : e.manager.state === 'live' ? 'live' : 'waiting'] : [])),
    delivered: received.length,
    // Remote tracks the client was told of but could not receive: said in its log only.
    unconsumed: world.warnings.flatMap((w) => /could not consume (\w+)/.exec(w)?.[1] ?? []),
  });
  return { run: { act, observe, stop: () => world.stop() }, oracle: new ClientOracle() };
}

const newConsumer = {
  id: 'c1',
  producerId: 'p9',
  kind: 'audio',
  rtpParameters: { codecs: [] },
  userId: 'user-2',
  producerPaused: false,
};

export const model: ModelSpec = {
  name: 'clientMachine',
  // The backoff delay is the client's reconnect policy (provided by the client). Planning only walks
  // the graph, where a delay's length plays no part; the paths run on the real client.
  machine: clientMachine.provide({ delays: { backoff: 0 } }),
  input: { url: CLUSTER[0], maxAttempts: 2, timing, ice },
  samples: {
    'signaling.welcomed': [{ type: 'signaling.welcomed', welcome }],
    'signaling.closed': [
      { type: 'signaling.closed', code: undefined, reason: 'lost' },
      // The token could not be checked now (the session store is down): retried like a lost socket.
      { type: 'signaling.closed', code: 1013, reason: 'try again later' },
      { type: 'signaling.closed', code: 4001, reason: 'unauthorized' },
      { type: 'signaling.closed', code: 4002, reason: 'expired' },
      { type: 'signaling.closed', code: 4003, reason: 'replaced' },
      { type: 'signaling.closed', code: 4010, reason: 'protocol 2-2 needed: update the client' },
    ],
    'signaling.notified': [
      { type: 'signaling.notified', method: 'newConsumer', data: newConsumer },
      { type: 'signaling.notified', method: 'consumerClosed', data: { consumerId: 'c1', reason: 'producer closed' } },
      { type: 'signaling.notified', method: 'producerClosed', data: { producerId: 'p1', reason: 'kicked' } },
      {
        type: 'signaling.notified',
        method: 'trackNotConsumed',
        data: { producerId: 'p9', userId: 'user-2', kind: 'video', code: 'INVALID_STATE', message: 'the most tracks' },
      },
    ],
    'device.failed': [{ type: 'device.failed', error: { code: 'UNSUPPORTED_CODEC', message: 'no codecs' } }],
    'transport.created': [
      { type: 'transport.created', direction: 'send', transportId: 't-send' },
      { type: 'transport.created', direction: 'recv', transportId: 't-recv' },
    ],
    'transport.failed': [{ type: 'transport.failed', direction: 'send', error: { code: 'SERVER_ERROR', message: 'no' } }],
    produceTrack: [{ type: 'produceTrack', key: 'producer.1', track: {}, kind: 'audio', appData: {}, paused: false }],
    'producer.closed': [{ type: 'producer.closed', key: 'producer.1' }],
    'consumer.closed': [{ type: 'consumer.closed', consumerId: 'c1' }],
    ...actorErrors('join', 'listen'),
  },
  scenarios: [
    // A track given once the send transport is there (joining, then connected) is produced at once:
    // the planner takes the produceTrack transition by its shortest path, before any transport.
    [
      { type: 'signaling.welcomed', welcome },
      { type: 'device.loaded' },
      { type: 'transport.created', direction: 'send', transportId: 't-send' },
      { type: 'produceTrack', key: 'producer.1', track: {}, kind: 'audio', appData: {}, paused: false },
      { type: 'xstate.done.actor.join' },
      { type: 'produceTrack', key: 'producer.2', track: {}, kind: 'audio', appData: {}, paused: false },
    ],
  ],
  // Reports come from children that exist; a transport fails while it is being created.
  realisable: (s, e) => {
    if (e.type === 'producer.closed') return 'producer.1' in s.context.producers;
    if (e.type === 'consumer.closed') return 'c1' in s.context.consumers;
    // Notifications come on a socket the server welcomed.
    if (e.type === 'signaling.notified') return !['welcoming', 'backingOff'].some((state) => JSON.stringify(s.value).includes(`"${state}"`));
    // Once connected, the only transport being made is the recv one.
    if (e.type === 'transport.created' && s.matches({ running: 'connected' })) return (e as { direction?: string }).direction === 'recv';
    if (e.type === 'transport.failed' && s.matches({ running: 'connected' })) return s.matches({ running: { connected: { subscribing: 'preparing' } } });
    return true;
  },
  serialize: (s) =>
    JSON.stringify({
      value: s.value,
      attempt: s.context.attempt,
      listening: s.context.listening,
      closeReason: s.context.closeReason,
      ready: s.context.ready,
      transports: Object.keys(s.context.transports),
      producers: Object.keys(s.context.producers),
      consumers: Object.keys(s.context.consumers),
    }),
  start,
};
