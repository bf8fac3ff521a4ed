// esbuild: the browser client (ESM + IIFE), the server, and type declarations for the package.
// `--quiet` (used by scripts/setup.sh) skips the work when every output is newer than every source.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const quiet = process.argv.includes('--quiet');
const sources = ['src', 'machines', 'build.mjs', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];
const outputs = ['dist/client/media-infra-client.js', 'dist/client/media-infra-client.iife.js', 'dist/client/media-infra-inspector.js', 'dist/server/main.js', 'dist/types/src/client/index.d.ts'];

function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

if (quiet && outputs.every(existsSync)) {
  const src = Math.max(...sources.filter(existsSync).map(newest));
  const out = Math.min(...outputs.map((o) => statSync(o).mtimeMs));
  if (out > src) process.exit(0);
}
if (quiet) console.error('[setup] building the client bundles and the server');

const client = {
  entryPoints: ['src/client/index.ts'],
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
await Promise.all([
  build({ ...client, format: 'esm', outfile: 'dist/client/media-infra-client.js' }),
  build({ ...client, entryPoints: ['src/inspector/index.ts'], format: 'esm', outfile: 'dist/client/media-infra-inspector.js' }),
  build({ ...client, format: 'iife', globalName: 'MediaInfra', outfile: 'dist/client/media-infra-client.iife.js' }),
  build({
    entryPoints: ['src/server/main.ts'],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    sourcemap: true,
    outfile: 'dist/server/main.js',
    logLevel: 'warning',
  }),
]);
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
if (!quiet) console.log('built dist/client (ESM + IIFE), dist/server, dist/types');
