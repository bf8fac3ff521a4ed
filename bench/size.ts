// Size figures of the browser module, against the budget CI checks (tests/build/bundleSize.test.ts).
import { BUDGET, measureBundleSize, type BundleSize } from './bundleSize.js';

export async function run(): Promise<BundleSize & { budget: typeof BUDGET }> {
  return { ...(await measureBundleSize(process.cwd())), budget: BUDGET };
}
