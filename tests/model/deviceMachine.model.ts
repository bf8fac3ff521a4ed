// deviceMachine's paths, run against its real provided logic and a real MediaDevice whose
// browser Device (FakeHandler) loads when the test says, under a stand-in owner (the client's
// root) that sends `load` and keeps the reports. Checked at every step by DeviceOracle: the
// reports, the loads the browser was asked for, and what the MediaDevice is loaded with.
import * as fakeParameters from 'mediasoup-client/fakeParameters';
import type { EventObject } from 'xstate';
import { deviceMachine } from '../../machines/deviceMachine.js';
import { DeviceOracle, type Caps } from './deviceOracle.js';
import type { ModelSpec } from './modelHarness.js';
import { OwnerWorld } from './ownerWorld.js';
import { describeCapabilities } from './scriptedDevices.js';

// The graph's two sample capabilities stand for two real routers': A sends audio and video, B audio only.
const capsA = { codecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000 }] };
const capsB = { codecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }] };
const realA = fakeParameters.generateRouterRtpCapabilities();
const realB = { ...realA, codecs: realA.codecs!.filter((c) => c.kind === 'audio') };
const capsOf = (event: EventObject): Caps => (JSON.stringify((event as { routerRtpCapabilities?: unknown }).routerRtpCapabilities) === JSON.stringify(capsA) ? 'A' : 'B');
const label = (described: string) => (described === describeCapabilities(realA) ? 'A' : described === describeCapabilities(realB) ? 'B' : described);

async function start(probe: Parameters<ModelSpec['start']>[0]) {
  const world = new OwnerWorld({ logic: 'device', inspect: probe.inspect, describe: (r) => (r.type === 'device.failed' ? `${r.type}:${r.error.code}` : r.type) }).start();
  world.devices.hold = true;
  let seen = 0;
  const act = (event: EventObject) => {
    if (event.type === 'load') return world.send({ type: 'load', routerRtpCapabilities: capsOf(event) === 'A' ? realA : realB } as EventObject);
    if (event.type === 'xstate.done.actor.loadDevice') return world.devices.finish();
    if (event.type === 'xstate.error.actor.loadDevice') return world.devices.fail();
    throw new Error(`no way to do '${event.type}' to a real device`);
  };
  const observe = () => ({
    reports: world.takeReports(),
    loads: world.devices.loads.slice(seen, (seen = world.devices.loads.length)).map(label),
    waiting: world.devices.waiting,
    device: { loaded: world.device.loaded, video: world.device.canProduce('video') },
  });
  return { run: { act, observe, stop: () => world.stop() }, oracle: new DeviceOracle(capsOf) };
}

export const model: ModelSpec = {
  name: 'deviceMachine',
  machine: deviceMachine.provide({ actions: { reportLoaded: () => {}, reportFailed: () => {} } }),
  samples: {
    load: [
      { type: 'load', routerRtpCapabilities: capsA },
      { type: 'load', routerRtpCapabilities: capsB },
    ],
    'xstate.error.actor.loadDevice': [{ type: 'xstate.error.actor.loadDevice', error: { code: 'UNSUPPORTED_CODEC', message: 'no' } }],
  },
  serialize: (s) => JSON.stringify({ value: s.value, caps: s.context.routerRtpCapabilities, error: s.context.error?.code }),
  start,
};
