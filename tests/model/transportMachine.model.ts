// transportMachine's paths, run against its real provided logic and a real MediaDevice (loaded,
// FakeHandler transports whose connection state the test sets) with the scripted fake server,
// under a stand-in owner (the client's root) that closes it and keeps the reports. Checked at
// every step by TransportOracle: the reports, the requests, which timer runs, the local transport.
import * as fakeParameters from 'mediasoup-client/fakeParameters';
import type { EventObject } from 'xstate';
import { transportMachine } from '../../machines/transportMachine.js';
import { fakeTrack } from '../unit/support/fakeServer.js';
import { describeRequest, NEVER } from './clientWorld.js';
import { settle, type ModelSpec } from './modelHarness.js';
import { OwnerWorld } from './ownerWorld.js';
import { actorErrors } from './samples.js';
import { TransportOracle } from './transportOracle.js';

const METHODS = new Set(['createTransport', 'connectTransport', 'restartIce']);
const ice = { iceDisconnectedTimeout: NEVER, iceRestartTimeout: NEVER, maxIceRestarts: 1 };

async function start(probe: Parameters<ModelSpec['start']>[0]) {
  const world = new OwnerWorld({
    logic: 'transport',
    input: { direction: 'send', ice },
    inspect: probe.inspect,
    describe: (r) => (r.type === 'transport.failed' ? `${r.type}:${r.error.code}` : `${r.type}:${r.direction}`),
  });
  const directions = new Map<string, string>();
  world.server.handlers.createTransport = (data: { direction: string }) => {
    const answer = fakeParameters.generateTransportRemoteParameters();
    directions.set(answer.id, data.direction);
    return answer;
  };
  // A loaded device on an open connection, as the root has before it creates transports.
  world.signaling.open({ opened: () => {}, notified: () => {}, closed: () => {} });
  await settle();
  await world.device.load(fakeParameters.generateRouterRtpCapabilities());
  world.server.held.add('createTransport').add('connectTransport').add('restartIce');
  world.start();
  let seen = 0;
  const act = async (event: EventObject & Record<string, any>) => {
    const { server } = world;
    // The server answers connectTransport in its own time unless this step is its refusal (the
    // machine waits for no answer, but the local transport queues everything behind it).
    if (event.type !== 'xstate.error.actor.connectTransport' && server.pending.some((r) => r.method === 'connectTransport')) {
      server.answer('connectTransport');
      await settle();
    }
    const answer = /^xstate\.(done|error)\.actor\.(\w+)$/.exec(event.type);
    if (answer) return answer[1] === 'done' ? server.answer(answer[2] as 'restartIce') : server.refuse(answer[2] as 'restartIce');
    switch (event.type) {
      case 'transport.connectRequested':
        // The first track sent on it makes the local transport ask to connect.
        return void world.device.produce({ track: fakeTrack('audio'), kind: 'audio', appData: {}, paused: false }).catch(() => undefined);
      case 'transport.stateChanged':
        return world.devices.setConnectionState('send', event.state);
      case 'close':
        return world.send({ type: 'close' });
      default:
        if (event.type.startsWith('xstate.after.')) return world.fire(event.type);
        throw new Error(`no way to do '${event.type}' to a real transport`);
    }
  };
  const observe = () => {
    const fresh = world.server.requests.slice(seen);
    seen = world.server.requests.length;
    const closed = world.devices.closed('send');
    return {
      reports: world.takeReports(),
      server: fresh.filter((r) => METHODS.has(r.method)).map((r) => describeRequest(r.method, r.data, directions)),
      timers: world.timers(),
      local: closed === undefined ? 'none' : closed ? 'closed' : 'open',
    };
  };
  return { run: { act, observe, stop: () => world.stop() }, oracle: new TransportOracle() };
}

const stateChanged = (['new', 'connecting', 'connected', 'disconnected', 'failed'] as const).map((state) => ({ type: 'transport.stateChanged', state }));

export const model: ModelSpec = {
  name: 'transportMachine',
  machine: transportMachine.provide({ actions: { reportCreated: () => {}, reportFailed: () => {}, closeTransport: () => {} } }),
  input: { direction: 'send', ice },
  samples: {
    'xstate.done.actor.createTransport': [{ type: 'xstate.done.actor.createTransport', output: { transportId: 't1' } }],
    'transport.stateChanged': stateChanged,
    ...actorErrors('createTransport', 'connectTransport', 'restartIce'),
  },
  // A local transport reports no connection state before it starts connecting (then: 'connecting').
  realisable: (s, e) => e.type !== 'transport.stateChanged' || !s.matches({ established: 'new' }),
  serialize: (s) =>
    JSON.stringify({ value: s.value, id: s.context.transportId, connection: s.context.connection, restarts: s.context.iceRestarts, error: s.context.error?.code }),
  start,
};
