import { describe, expect, it } from 'vitest';
import { deviceMachine } from '../../machines/deviceMachine.js';
import { coverageRow, testModel, uncovered, type ModelSpec } from './modelHarness.js';

const capsA = { codecs: [{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000 }] };
const capsB = { codecs: [{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 }] };

export const deviceModel: ModelSpec = {
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
};

describe('deviceMachine (model)', () => {
  it('every path reaches its state; every state node and transition is covered', async () => {
    const coverage = await testModel(deviceModel);
    console.table([coverageRow(deviceModel.name, coverage)]);
    expect(uncovered(coverage)).toEqual({ stateNodes: [], transitions: [] });
    expect(coverage.transitions.length).toBeGreaterThan(5);
  });
});
