// The size budget of the browser client, checked on every CI run (figures: `npm run bench`): the
// module the server serves, and the npm package's entry as a customer's production bundle has it.
import { describe, expect, it } from 'vitest';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUDGET, measureBundleSize } from '../../bench/bundleSize.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const kb = (bytes: number): string => (bytes / 1024).toFixed(1);

describe('browser bundle size', () => {
  it(`served module ≤ ${BUDGET.wholeGzip / 1024} KB gz, our code ≤ ${BUDGET.ownGzip / 1024} KB gz; the package in an app ≤ ${BUDGET.packageGzip / 1024} KB gz before inspecting`, async () => {
    const size = await measureBundleSize(root);
    console.log(
      `served module: ${kb(size.wholeGzip)} KB gz (${(size.wholeMin / 1024).toFixed(0)} KB min); our code: ${kb(size.ownGzip)} KB gz\n` +
        `@media-infra/client in an app's production bundle: ${kb(size.package.initialGzip)} KB gz (${(size.package.initialMin / 1024).toFixed(0)} KB min) loaded at once, ` +
        `inspector chunk ${kb(size.package.lazyGzip)} KB gz loaded when asked for`,
    );
    expect(size.wholeGzip).toBeLessThanOrEqual(BUDGET.wholeGzip);
    expect(size.ownGzip).toBeLessThanOrEqual(BUDGET.ownGzip);
    expect(size.package.initialGzip).toBeLessThanOrEqual(BUDGET.packageGzip);
    // Our code is part of the whole, and the package's inspector is a chunk of its own: a
    // measurement that got either backwards is broken.
    expect(size.ownGzip).toBeLessThan(size.wholeGzip);
    expect(size.ownGzip).toBeLessThan(size.package.initialGzip);
    expect(size.package.lazyGzip).toBeGreaterThan(0);
  });
});
