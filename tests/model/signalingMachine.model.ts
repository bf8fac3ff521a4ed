// signalingMachine's paths, run against its real provided logic (the socket actor over
// MediaSignalingService, ping, leave) and the scripted fake server, under a stand-in owner (the
// client's root) that sends connect / disconnect / drop and keeps the reports. Checked at every
// step by SignalingOracle: the reports, every socket as the server sees it, the requests, and
// which timer is running.
import type { EventObject } from 'xstate';
import { signalingMachine } from '../../machines/signalingMachine.js';
import type { FakeSocket } from '../unit/support/fakeServer.js';
import { NEVER } from './clientWorld.js';
import type { ModelSpec } from './modelHarness.js';
import { OwnerWorld } from './ownerWorld.js';
import { SignalingOracle } from './signalingOracle.js';
import { actorErrors, welcome } from './samples.js';

const METHODS = new Set(['ping', 'leave']);

function describeSocket(socket: FakeSocket): string {
  if (socket.readyState === 0) return 'connecting';
  if (socket.readyState === 1) return 'open';
  return socket.closedByClient ? `closed by the client (${socket.closedByClient.code})` : 'closed by the server';
}

async function start(probe: Parameters<ModelSpec['start']>[0]) {
  const world = new OwnerWorld({
    logic: 'signaling',
    input: { timing: { pingInterval: NEVER, welcomeTimeout: NEVER, closeTimeout: NEVER } },
    inspect: probe.inspect,
    describe: (r) => (r.type === 'signaling.welcomed' ? 'welcomed' : r.type === 'signaling.notified' ? `notified:${r.method}` : `closed:${r.code ?? `-:${r.reason}`}`),
  });
  // The server opens, welcomes and answers only when the path says so.
  Object.assign(world.server, { autoOpen: false, autoWelcome: false, closeOnLeave: false });
  world.server.held.add('ping').add('leave');
  world.start();
  let seen = 0;
  const act = (event: EventObject & Record<string, any>) => {
    const { server } = world;
    switch (event.type) {
      case 'connect':
        return world.send({ ...event, type: 'connect' });
      case 'disconnect':
      case 'drop':
        return world.send({ type: event.type });
      case 'socket.opened':
        return server.open();
      case 'socket.notified':
        if (event.method === 'welcome') return server.welcome();
        return server.notify(event.method, event.data);
      case 'socket.closed':
        return server.current!.serverClose(event.code, event.reason);
      case 'xstate.done.actor.ping':
      case 'xstate.done.actor.leave':
        return server.answer(event.type.slice('xstate.done.actor.'.length) as 'ping');
      case 'xstate.error.actor.ping':
      case 'xstate.error.actor.leave':
        return server.refuse(event.type.slice('xstate.error.actor.'.length) as 'ping');
      default:
        if (event.type.startsWith('xstate.after.')) return world.fire(event.type);
        throw new Error(`no way to do '${event.type}' to a real signaling connection`);
    }
  };
  const observe = () => {
    const fresh = world.server.requests.slice(seen);
    seen = world.server.requests.length;
    return {
      reports: world.takeReports(),
      sockets: world.server.sockets.map(describeSocket),
      // Where each socket went, without its query (protocol version, token).
      urls: world.server.sockets.map((socket) => socket.url.split('?')[0]),
      server: fresh.filter((r) => METHODS.has(r.method)).map((r) => r.method),
      timers: world.timers(),
    };
  };
  return { run: { act, observe, stop: () => world.stop() }, oracle: new SignalingOracle() };
}

export const model: ModelSpec = {
  name: 'signalingMachine',
  machine: signalingMachine.provide({ actions: { reportWelcomed: () => {}, reportNotified: () => {}, reportClosed: () => {} } }),
  input: { timing: { pingInterval: NEVER, welcomeTimeout: NEVER, closeTimeout: NEVER } },
  samples: {
    // The root says which node each connection goes to.
    connect: [
      { type: 'connect', url: 'ws://node-a.test/v1/ws' },
      { type: 'connect', url: 'ws://node-b.test/v1/ws' },
    ],
    'socket.notified': [
      { type: 'socket.notified', method: 'welcome', data: welcome },
      { type: 'socket.notified', method: 'consumerClosed', data: { consumerId: 'c1', reason: 'producer closed' } },
    ],
    'socket.closed': [{ type: 'socket.closed', code: 1006, reason: '' }],
    ...actorErrors('ping', 'leave'),
  },
  serialize: (s) => JSON.stringify(s.value),
  start,
};
