// consumerMachine's paths, run against a real client: the consumer actor the client spawns for a
// `newConsumer` from the scripted fake server, the ConsumeManager listenTrack's callback gets, and
// MediaDevice's local consumer. Checked at every step by ConsumerOracle: the manager's state,
// paused and producerPaused, its events, the outcome of every call, the requests the server got.
import type { EventObject } from 'xstate';
import { consumerMachine } from '../../machines/consumerMachine.js';
import type { ConsumeManager } from '../../src/client/index.js';
import { Calls, ClientWorld } from './clientWorld.js';
import { ConsumerOracle } from './consumerOracle.js';
import { settle, type ModelSpec } from './modelHarness.js';
import { actorErrors } from './samples.js';

const CONSUMER_METHODS = new Set(['pauseConsumer', 'resumeConsumer', 'resumeConsumers', 'setConsumerPreferredLayers']);
const ON_THE_PAGE = ['producerPaused', 'producerResumed', 'layersChanged', 'setPreferredLayers'];

async function start(probe: Parameters<ModelSpec['start']>[0]) {
  const world = new ClientWorld({ held: ['listen'], inspect: probe.inspect });
  const managers: ConsumeManager[] = [];
  const events: string[] = [];
  const calls = new Calls();
  world.client.listenTrack((cm) => {
    managers.push(cm);
    cm.on('state', (s) => events.push(`state:${s}`));
    cm.on('paused', () => events.push('paused'));
    cm.on('resumed', () => events.push('resumed'));
    cm.on('producerpaused', () => events.push('producerpaused'));
    cm.on('producerresumed', () => events.push('producerresumed'));
    cm.on('layerschange', (layers) => events.push(`layerschange:${layers ? `${layers.spatialLayer}/${layers.temporalLayer}` : null}`));
    cm.on('closed', (e) => events.push(`closed:${e.code}`));
  });
  await settle();
  world.server.answer('listen');
  await settle();
  if (world.client.state !== 'connected' || world.server.methods().filter((m) => m === 'listen').length !== 1) {
    throw new Error(`the client did not connect and listen once: ${world.server.methods().join(', ')}`);
  }
  world.requests(CONSUMER_METHODS);
  // From here the server answers consumer requests, and the browser negotiates, only when the path says so.
  world.server.held.add('pauseConsumer').add('resumeConsumer').add('resumeConsumers').add('setConsumerPreferredLayers');
  world.devices.holdReceives = true;
  const consumerId = world.server.newConsumer('video');

  const act = (event: EventObject & Record<string, any>) => {
    const cm = managers[0];
    switch (event.type) {
      case 'xstate.done.actor.consume':
        return world.devices.finishReceive();
      case 'xstate.error.actor.consume':
        return world.devices.failReceive();
      // A consumer just consumed is resumed in a resumeConsumers (protocol 4).
      case 'xstate.done.actor.startConsumer':
        return world.server.answer('resumeConsumers');
      case 'xstate.error.actor.startConsumer':
        return world.server.refuse('resumeConsumers');
      case 'xstate.done.actor.setPreferredLayers':
        return world.server.answer('setConsumerPreferredLayers');
      case 'xstate.error.actor.setPreferredLayers':
        return world.server.refuse('setConsumerPreferredLayers', 'BAD_REQUEST');
      case 'setPreferredLayers':
        return calls.track('setPreferredLayers', cm!.setPreferredLayers(event.layers));
      case 'layersChanged':
        return world.server.notify('consumerLayersChanged', { consumerId, layers: event.layers });
      case 'xstate.done.actor.pauseConsumer':
      case 'xstate.done.actor.resumeConsumer':
        return world.server.answer(event.type.slice('xstate.done.actor.'.length) as 'pauseConsumer');
      case 'xstate.error.actor.pauseConsumer':
      case 'xstate.error.actor.resumeConsumer':
        return world.server.refuse(event.type.slice('xstate.error.actor.'.length) as 'pauseConsumer');
      case 'consumerClosed':
        return world.server.notify('consumerClosed', { consumerId, reason: event.reason });
      case 'producerPaused':
        return world.server.notify('consumerProducerPaused', { consumerId });
      case 'producerResumed':
        return world.server.notify('consumerProducerResumed', { consumerId });
      case 'close':
        return world.dropSocket();
      case 'pause':
      case 'resume':
        return calls.track(event.type, cm![event.type as 'pause' | 'resume']());
      default:
        throw new Error(`no way to do '${event.type}' to a real consumer`);
    }
  };
  const observe = () => {
    const cm = managers[0];
    return {
      client: world.client.state,
      delivered: managers.length,
      manager: cm && { state: cm.state, paused: cm.paused, producerPaused: cm.producerPaused, layers: cm.layers },
      log: events.splice(0),
      server: world.requests(CONSUMER_METHODS),
      calls: calls.list(),
    };
  };
  return { run: { act, observe, stop: () => world.stop() }, oracle: new ConsumerOracle() };
}

export const model: ModelSpec = {
  name: 'consumerMachine',
  machine: consumerMachine.provide({ actions: { releaseConsumer: () => {}, reportClosed: () => {} } }),
  input: { id: 'c1', producerId: 'p1', kind: 'audio', rtpParameters: {}, userId: 'user-2', producerPaused: false },
  samples: {
    consumerClosed: [{ type: 'consumerClosed', reason: 'producer closed' }],
    close: [{ type: 'close', reason: 'the connection was lost' }],
    setPreferredLayers: [{ type: 'setPreferredLayers', layers: { spatialLayer: 1 } }],
    layersChanged: [
      { type: 'layersChanged', layers: { spatialLayer: 1, temporalLayer: 2 } },
      { type: 'layersChanged', layers: null },
    ],
    ...actorErrors('consume', 'startConsumer', 'pauseConsumer', 'resumeConsumer', 'setPreferredLayers'),
  },
  // A pause while the first resume is out goes after it; that resume's answer, or refusal, then changes nothing.
  scenarios: [
    [{ type: 'xstate.done.actor.consume' }, { type: 'pause' }, { type: 'xstate.done.actor.startConsumer' }, { type: 'xstate.done.actor.pauseConsumer' }],
    [{ type: 'xstate.done.actor.consume' }, { type: 'pause' }, { type: 'xstate.error.actor.startConsumer' }, { type: 'xstate.done.actor.pauseConsumer' }],
  ],
  // A sender's pause, the layers and the page's calls are planned once the page has the consumer, where the page can see them.
  realisable: (s, e) => !ON_THE_PAGE.includes(e.type) || !s.matches('creating'),
  serialize: (s) =>
    JSON.stringify({
      value: s.value,
      paused: s.context.paused,
      producerPaused: s.context.producerPaused,
      layers: s.context.layers,
      error: s.context.error?.code,
      layersError: s.context.layersError?.code,
    }),
  start,
};
