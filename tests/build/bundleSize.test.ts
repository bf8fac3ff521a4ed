// The size budget of the browser module, checked on every CI run (figures: `npm run bench`).
import { describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUDGET, measureBundleSize } from '../../bench/bundleSize.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('browser bundle size', () => {
  it(`stays within ${BUDGET.wholeGzip / 1024} KB gz whole and ${BUDGET.ownGzip / 1024} KB gz of our own code`, async () => {
    const size = await measureBundleSize(root);
    console.log(`client module: ${(size.wholeGzip / 1024).toFixed(1)} KB gz (${(size.wholeMin / 1024).toFixed(0)} KB min); our code: ${(size.ownGzip / 1024).toFixed(1)} KB gz`);
    expect(size.wholeGzip).toBeLessThanOrEqual(BUDGET.wholeGzip);
    expect(size.ownGzip).toBeLessThanOrEqual(BUDGET.ownGzip);
    // Our code is part of the whole: a measurement that got this backwards is broken.
    expect(size.ownGzip).toBeLessThan(size.wholeGzip);
  });
});
