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

/**
 * esbuild options of the browser client bundles. The join benchmark builds its raw
 * mediasoup-client baseline with these too (and the same compile hint), so that both are compiled
 * alike and the comparison is like for like.
 */
export const clientBuildOptions = {
  bundle: true,
  platform: 'browser',
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  // The inspector (Stately inspector, state panel, traces) is a file of its own, loaded by `import()`
  // only when asked for (src/client/inspection.ts): nothing of it is in the client bundles.
  define: { 'process.env.NODE_ENV': '"production"', __MEDIA_INFRA_INSPECTOR__: '"./media-infra-inspector.js"' },
  logLevel: 'warning',
};

/**
 * V8's explicit compile hint (Chrome 136+; a plain comment elsewhere): compile every function of a
 * bundle when the file loads, instead of on its first call. Nearly all of the client runs when a
 * client joins, so joining no longer waits for the compiler; loading the file takes longer instead
 * (see README, "Figures").
 */
export const compileHint = { js: '//# allFunctionsCalledOnLoad' };
