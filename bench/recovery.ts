// Recovery time per fault (tests/support/faults.ts): from the fault to page B decoding page A's
// video again, in real Chromium against the real server process, repeated and summarised as
// medians. tests/e2e/reconnect.test.ts runs each fault once and asserts everything else.
//
//   node build.mjs --quiet && npx esbuild bench/recovery.ts --bundle --platform=node --format=esm \
//     --packages=external --outfile=dist/bench/recovery.mjs && node dist/bench/recovery.mjs [runs] [--fast]
//
// Without --fast the clients use the library's defaults (src/client/defaults.ts), which is what an
// application gets; --fast uses the e2e tests' shorter heartbeat, backoff and ICE timeouts.
import { pathToFileURL } from 'node:url';
import { launchBrowser } from '../tests/support/browser.js';
import { FAST_CLIENT_OPTIONS, FaultHarness, type FaultName } from '../tests/support/faults.js';
import { startServerProcess } from '../tests/support/server.js';

export const FAULTS: readonly FaultName[] = ['drop', 'stall', 'restart', 'worker', 'ice'];

export interface RecoveryFigures {
  fault: FaultName;
  runs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  samples: number[];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

export async function measureRecovery(runs: number, clientOptions: Record<string, unknown> = {}, log = (line: string) => console.error(line)): Promise<RecoveryFigures[]> {
  const [server, browser] = await Promise.all([startServerProcess({ env: { LOG_LEVEL: 'info' } }), launchBrowser()]);
  const harness = new FaultHarness(server, browser, clientOptions, log);
  const samples = new Map<FaultName, number[]>(FAULTS.map((f) => [f, []]));
  try {
    for (let i = 0; i < runs; i++) {
      for (const fault of FAULTS) samples.get(fault)!.push((await harness.run(fault)).recoveryMs);
    }
  } finally {
    harness.close();
    await browser.close();
    await harness.server.stop();
  }
  return FAULTS.map((fault) => {
    const s = samples.get(fault)!;
    return { fault, runs: s.length, medianMs: median(s), minMs: Math.min(...s), maxMs: Math.max(...s), samples: s };
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const runs = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 5);
  const fast = process.argv.includes('--fast');
  const figures = await measureRecovery(runs, fast ? FAST_CLIENT_OPTIONS : {});
  console.log(`recovery time, fault → B decodes A's video again (${runs} runs each, ${fast ? 'e2e test timings' : 'library defaults'})`);
  console.table(figures.map(({ samples, ...f }) => ({ ...f, samples: samples.join(' ') })));
}
