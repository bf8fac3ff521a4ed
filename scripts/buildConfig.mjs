// What build.mjs and the test helpers (tests/support/server.ts) share, so the server the tests run
// is bundled exactly as the one users run.
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The newest modification time (ms) of a file, or of any file under a directory. */
export function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

/** esbuild options of the server bundle (dependencies stay external: node_modules is installed). */
export function serverBuildOptions(outfile) {
  return {
    entryPoints: [join(root, 'src', 'server', 'main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    sourcemap: true,
    outfile,
    logLevel: 'warning',
  };
}
