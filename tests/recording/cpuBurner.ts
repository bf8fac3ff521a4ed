// Load for stress tests: one process per core spinning until a deadline it carries itself, so it
// stops on time even if the test that started it dies.
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';

export interface CpuBurner {
  /** Ends it early (tests' clean-up). */
  stop(): void;
  /** Resolves when every burner process has exited. */
  readonly done: Promise<void>;
}

export function burnCpu(ms: number, processes = availableParallelism()): CpuBurner {
  const code = `const end = Date.now() + ${Math.round(ms)}; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1);`;
  const procs: ChildProcess[] = Array.from({ length: processes }, () => spawn(process.execPath, ['-e', code], { stdio: 'ignore' }));
  return {
    stop: () => procs.forEach((p) => p.exitCode === null && p.signalCode === null && p.kill('SIGKILL')),
    done: Promise.all(procs.map((p) => new Promise<void>((resolve) => (p.exitCode !== null ? resolve() : p.once('exit', () => resolve()))))).then(() => undefined),
  };
}
