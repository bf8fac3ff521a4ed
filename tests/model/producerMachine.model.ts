// producerMachine's paths, run against a real client: a ProduceManager (produceTrack) over the
// real producer actor and MediaDevice, the scripted fake server answering. Checked at every step
// by ProducerOracle: the manager's state, paused, recording and id, its events, the outcome of
// every call, and the requests the server received.
import { assign, type EventObject } from 'xstate';
import { producerMachine } from '../../machines/producerMachine.js';
import type { ProduceManager } from '../../src/client/index.js';
import { fakeTrack } from '../unit/support/fakeServer.js';
import { Calls, ClientWorld } from './clientWorld.js';
import { settle, type ModelSpec } from './modelHarness.js';
import { ProducerOracle } from './producerOracle.js';
import { actorErrors } from './samples.js';

/** What the page calls on its ProduceManager. */
const PAGE_CALLS = new Set(['pause', 'resume', 'startRecord', 'stopRecord']);
const PRODUCER_METHODS = new Set(['produce', 'pauseProducer', 'resumeProducer', 'closeProducer', 'startRecord', 'stopRecord', 'leave']);
const REQUESTS: Record<string, 'produce' | 'pauseProducer' | 'resumeProducer' | 'closeProducer' | 'startRecord' | 'stopRecord'> = {
  produce: 'produce',
  pauseProducer: 'pauseProducer',
  resumeProducer: 'resumeProducer',
  closeProducer: 'closeProducer',
  startRecord: 'startRecord',
  stopRecord: 'stopRecord',
};

async function start(probe: Parameters<ModelSpec['start']>[0]) {
  // The server holds `createTransport` (the producer waits for its send transport) and every producer request.
  const world = new ClientWorld({ held: ['createTransport', ...Object.values(REQUESTS)], inspect: probe.inspect });
  await settle();
  const track = fakeTrack('video');
  // The page's tracks, in the order it gave them (the manager's `track` is said by its index here).
  const tracks = [track];
  world.devices.holdReplaces = true;
  const calls = new Calls();
  const events: string[] = [];
  let manager: ProduceManager | undefined;
  let produceTrack = 'pending';
  world.client.produceTrack(track, { appData: { source: 'camera' } }).then(
    (pm) => {
      produceTrack = 'ok';
      manager = pm;
      pm.on('state', (s) => events.push(`state:${s}`));
      pm.on('produced', (id) => events.push(`produced:${id}`));
      pm.on('paused', () => events.push('paused'));
      pm.on('resumed', () => events.push('resumed'));
      pm.on('recording', (r) => events.push(`recording:${r}`));
      pm.on('recordingended', (r) => events.push(`recordingended:${r.id}`));
      pm.on('closed', (e) => events.push(`closed:${e?.code ?? 'none'}`));
    },
    (error: { code: string }) => (produceTrack = error.code),
  );
  const thisProducer = (sample: string) => (sample === 'p1' ? world.producerIds.at(-1)! : 'p-other');

  const act = async (event: EventObject & Record<string, any>) => {
    const type = event.type;
    const answer = /^xstate\.(done|error)\.actor\.(\w+)$/.exec(type);
    // A track swap is the browser's, not the server's: the scripted device finishes or fails it.
    if (answer?.[2] === 'replaceTrack') return answer[1] === 'done' ? world.devices.finishReplace() : world.devices.failReplace();
    if (answer) {
      const method = REQUESTS[answer[2]!]!;
      if (answer[1] === 'error') return world.server.refuse(method);
      return world.server.answer(method);
    }
    switch (type) {
      case 'produce':
        if (world.client.state === 'reconnecting') {
          world.fire('xstate.after.backoff');
          await settle();
        }
        return world.server.answer('createTransport');
      case 'suspend':
        return world.dropSocket();
      case 'release':
        return void world.close();
      case 'producerClosed':
        return world.server.notify('producerClosed', { producerId: thisProducer(event.producerId), reason: event.reason });
      case 'recordingEnded': {
        const id = event.producerId === 'p1' ? (world.recordingIds.at(-1) ?? 'r0') : 'r-other';
        return world.server.notify('recordingEnded', { producerId: thisProducer(event.producerId), id, path: `/recordings/${id}.webm`, state: event.state });
      }
      case 'close':
        // Before produceTrack resolved the page has no manager: it stops the track instead.
        if (!manager) return track.stop();
        return calls.track('close', manager.close());
      case 'pause':
      case 'resume':
      case 'startRecord':
        return calls.track(type, manager![type]());
      case 'stopRecord':
        return calls.track(type, manager!.stopRecord(), (r) => `ok:${(r as { id: string }).id}`);
      case 'replaceTrack': {
        const next = fakeTrack('video');
        tracks.push(next);
        return calls.track(type, manager!.replaceTrack(next));
      }
      default:
        throw new Error(`no way to do '${type}' to a real producer`);
    }
  };
  const observe = () => ({
    client: world.client.state,
    produceTrack,
    manager: manager && { state: manager.state, paused: manager.paused, recording: manager.recording, id: manager.id, track: tracks.indexOf(manager.track) },
    local: world.devices.sending,
    log: events.splice(0),
    server: world.requests(PRODUCER_METHODS),
    calls: calls.list(),
  });
  return { run: { act, observe, stop: () => world.stop() }, oracle: new ProducerOracle() };
}

export const model: ModelSpec = {
  name: 'producerMachine',
  // For planning only: its reports to a parent and local side effects made harmless.
  // The page has the ProduceManager once the track was first produced (live: nothing can be asked
  // before): planning marks that in appData, which nothing else of the graph reads.
  machine: producerMachine.provide({
    actions: { releaseProducer: () => {}, stopSending: () => {}, startSending: assign({ appData: { handed: true } }), reportClosed: () => {} },
  }),
  input: { key: 'producer.1', track: {}, kind: 'video', appData: {}, paused: false, send: {} },
  samples: {
    'xstate.done.actor.produce': [{ type: 'xstate.done.actor.produce', output: { producerId: 'p1' } }],
    'xstate.done.actor.startRecord': [{ type: 'xstate.done.actor.startRecord', output: { recordingId: 'r1' } }],
    'xstate.done.actor.stopRecord': [{ type: 'xstate.done.actor.stopRecord', output: { id: 'r1', path: '/recordings/r1.webm' } }],
    producerClosed: [
      { type: 'producerClosed', producerId: 'p1', reason: 'kicked' },
      { type: 'producerClosed', producerId: 'someone-else', reason: 'kicked' },
    ],
    recordingEnded: [
      { type: 'recordingEnded', producerId: 'p1', id: 'r1', path: '/recordings/r1.webm', state: 'finished' },
      { type: 'recordingEnded', producerId: 'p1', id: 'r1', path: '/recordings/r1.webm', state: 'failed' },
      { type: 'recordingEnded', producerId: 'someone-else', id: 'r2', path: '/recordings/r2.webm', state: 'finished' },
    ],
    replaceTrack: [{ type: 'replaceTrack', track: {} }],
    ...actorErrors('produce', 'pauseProducer', 'resumeProducer', 'closeProducer', 'startRecord', 'stopRecord', 'replaceTrack'),
  },
  // Closing a producer the server never had asks the server nothing: there is no answer to give.
  // The page swaps a track once it has the manager: planned where it is produced.
  realisable: (s, e) => {
    // The page's calls need the manager.
    if (PAGE_CALLS.has(e.type) && !s.context.appData.handed) return false;
    return (!/^xstate\.(done|error)\.actor\.closeProducer$/.test(e.type) && e.type !== 'replaceTrack') || s.context.producerId !== undefined;
  },
  scenarios: [
    // A recording the lost connection cut is the answer to a stopRecord() while reconnecting, and no new segment starts.
    [
      { type: 'produce' },
      { type: 'xstate.done.actor.produce', output: { producerId: 'p1' } },
      { type: 'startRecord' },
      { type: 'xstate.done.actor.startRecord', output: { recordingId: 'r1' } },
      { type: 'suspend' },
      { type: 'stopRecord' },
      { type: 'produce' },
      { type: 'xstate.done.actor.produce', output: { producerId: 'p1' } },
    ],
  ],
  serialize: (s) =>
    JSON.stringify({
      value: s.value,
      handed: s.context.appData.handed === true,
      paused: s.context.paused,
      serverPaused: s.context.serverPaused,
      recordingWanted: s.context.recordingWanted,
      producerId: s.context.producerId,
      recordingId: s.context.recordingId,
      lastRecording: s.context.lastRecording?.id,
      error: s.context.error?.code,
      recordingError: s.context.recordingError?.code,
    }),
  start,
};
