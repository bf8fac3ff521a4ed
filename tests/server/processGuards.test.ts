// The server's process-wide guard: a promise nobody handled that rejects is logged and counted,
// and the process goes on (Node's default would exit with every call on the server). Run in a
// child process, as the server runs it: vitest's own workers report unhandled rejections as failures.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

async function runGuarded(guarded: boolean): Promise<{ status: number | null; stdout: string }> {
  const entry = `
    import pino from 'pino';
    import { guardUnhandledRejections, unhandledRejections } from './src/server/processGuards.ts';
    ${guarded ? 'guardUnhandledRejections(pino());' : ''}
    Promise.reject(new Error('nobody awaited this'));
    setTimeout(() => console.log(JSON.stringify({ alive: true, unhandled: unhandledRejections() })), 200);
  `;
  const out = await build({ stdin: { contents: entry, resolveDir: root, loader: 'ts' }, bundle: true, platform: 'node', format: 'esm', packages: 'external', write: false });
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', out.outputFiles[0]!.text], { cwd: root, encoding: 'utf8', timeout: 20_000 });
  return { status: child.status, stdout: child.stdout };
}

describe('unhandled rejections', () => {
  it('are logged and counted, and the process goes on', async () => {
    const { status, stdout } = await runGuarded(true);
    expect(status).toBe(0);
    expect(stdout).toMatch(/"msg":"unhandled promise rejection[^"]*"/);
    expect(stdout).toContain('nobody awaited this');
    expect(stdout).toContain('{"alive":true,"unhandled":1}');
  });

  it('would end the process without the guard (what the guard prevents)', async () => {
    const { status, stdout } = await runGuarded(false);
    expect(status).not.toBe(0);
    expect(stdout).not.toContain('"alive":true');
  });
});
