// Recovery time per fault (tests/support/faults.ts): from the fault to page B decoding page A's
// video again, in real Chromium against the real server process, repeated and summarised as
// medians. tests/e2e/reconnect.test.ts runs each fault once and asserts everything else.
//
// `npm run bench recovery` (BENCH_RUNS runs per fault, default 5). Clients use the library's
// defaults (src/client/defaults.ts), which is what an application gets. Two figures per fault:
// fault → B decodes again (detection + backoff + recovery), and the last reconnect attempt's socket
// → B decodes again (the recovery alone; issue 8's target is 300 ms).
import { launchBrowser } from '../tests/support/browser.js';
import { FAST_CLIENT_OPTIONS, FaultHarness, type FaultName } from '../tests/support/faults.js';
import { startServerProcess } from '../tests/support/server.js';
import { figure, type Figure } from './stats.js';

export const FAULTS: readonly FaultName[] = ['drop', 'stall', 'restart', 'worker', 'ice'];

export interface RecoveryFigures {
  fault: FaultName;
  faultToDecodingMs: Figure;
  reconnectToDecodingMs: Figure | undefined;
}

export async function measureRecovery(runs: number, clientOptions: Record<string, unknown> = {}, log = (line: string) => console.error(line)): Promise<RecoveryFigures[]> {
  const [server, browser] = await Promise.all([startServerProcess({ env: { LOG_LEVEL: 'info' } }), launchBrowser()]);
  const harness = new FaultHarness(server, browser, clientOptions, log);
  const total = new Map<FaultName, number[]>(FAULTS.map((f) => [f, []]));
  const after = new Map<FaultName, number[]>(FAULTS.map((f) => [f, []]));
  try {
    for (let i = 0; i < runs; i++) {
      for (const fault of FAULTS) {
        const report = await harness.run(fault);
        total.get(fault)!.push(report.recoveryMs);
        if (report.afterReconnectMs !== undefined) after.get(fault)!.push(report.afterReconnectMs);
      }
    }
  } finally {
    harness.close();
    await browser.close();
    await harness.server.stop();
  }
  return FAULTS.map((fault) => {
    const a = after.get(fault)!;
    return { fault, faultToDecodingMs: figure(total.get(fault)!), reconnectToDecodingMs: a.length ? figure(a) : undefined };
  });
}

export async function run(): Promise<{ faults: RecoveryFigures[]; target: { reconnectToDecodingMs: number } }> {
  const runs = Number(process.env['BENCH_RUNS'] ?? 5);
  return { faults: await measureRecovery(runs, {}), target: { reconnectToDecodingMs: 300 } };
}
