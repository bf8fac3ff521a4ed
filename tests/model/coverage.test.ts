// Every machine of the product (machines/*Machine.ts) has a model (tests/model/<machine>.model.ts)
// whose paths run here against the implementation, each step checked by its oracle; the coverage
// is what the real actors did in those runs, recorded for the table of `npm run test:model`
// (coverageReporter.ts) and required at 100% of state nodes and transitions here.
import { describe, expect, it } from 'vitest';
import { coverageTable, productMachines } from './coverageReporter.js';
import { coverageRow, testModel, uncovered, type CoverageRecord, type ModelSpec } from './modelHarness.js';

describe('model-based tests against the implementation', () => {
  it.each(productMachines())('%s: every path does what its oracle says, and the real actors cover every state node and transition', async (machine) => {
    const { model } = (await import(`./${machine}.model.ts`)) as { model: ModelSpec };
    expect(model.name).toBe(machine);
    const coverage = await testModel(model);
    console.table([coverageRow(model.name, coverage)]);
    expect(uncovered(coverage)).toEqual({ stateNodes: [], transitions: [] });
    // The oracle followed the paths: few steps are ones it says cannot happen in the real system.
    expect(coverage.skipped).toBeLessThan(coverage.steps / 10);
  });
});

const record = (machine: string, states: [number, number], transitions: [number, number]): CoverageRecord => ({
  machine,
  explored: 10,
  paths: 3,
  stateNodes: { covered: states[0], total: states[1], uncovered: states[0] < states[1] ? [`${machine}.lost`] : [] },
  transitions: { covered: transitions[0], total: transitions[1], uncovered: transitions[0] < transitions[1] ? [`${machine}.x --go`] : [] },
});

describe('the coverage table', () => {
  it('is complete only when every machine ran at 100% of both', () => {
    const full = coverageTable([record('aMachine', [5, 5], [7, 7]), record('bMachine', [3, 3], [2, 2])], ['aMachine', 'bMachine']);
    expect(full.complete).toBe(true);
    expect(full.text).toMatch(/aMachine\s+10\s+3\s+–\s+5\/5\s+100%\s+7\/7\s+100%\s+ok/);
    expect(full.text).toMatch(/total\s+8\/8\s+100%\s+9\/9\s+100%\s+ok/);

    const partial = coverageTable([record('aMachine', [4, 5], [7, 7])], ['aMachine']);
    expect(partial.complete).toBe(false);
    expect(partial.text).toContain('aMachine: state node not covered: aMachine.lost');
    expect(partial.text).toMatch(/4\/5\s+80%.*UNCOVERED/);

    const missing = coverageTable([record('aMachine', [5, 5], [7, 7])], ['aMachine', 'bMachine']);
    expect(missing.complete).toBe(false);
    expect(missing.text).toMatch(/bMachine.*NOT TESTED/);
  });
});
