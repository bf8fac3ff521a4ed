// esbuild: the browser client (ESM + IIFE), the server, type declarations, and the client's npm
// package (dist/client-package, scripts/clientPackage/build.mjs).
// `--quiet` (used by scripts/setup.sh) skips the work when every output is newer than every source;
// `--if-stale` does the same and says what it does (`npm run pack:client`).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { clientBuildOptions, compileHint, newest, serverBuildOptions } from './scripts/buildConfig.mjs';
import { writeClientPackage } from './scripts/clientPackage/build.mjs';

const quiet = process.argv.includes('--quiet');
const ifStale = quiet || process.argv.includes('--if-stale');
const sources = ['src', 'machines', 'build.mjs', 'scripts/buildConfig.mjs', 'scripts/clientPackage', 'docs/api', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];
const outputs = ['dist/client/media-infra-client.js', 'dist/client/media-infra-client.iife.js', 'dist/client/media-infra-inspector.js', 'dist/server/main.js', 'dist/types/src/client/index.d.ts', 'dist/client-package/package.json'];

if (ifStale && outputs.every(existsSync)) {
  const src = Math.max(...sources.filter(existsSync).map(newest));
  const out = Math.min(...outputs.map((o) => statSync(o).mtimeMs));
  if (out > src) {
    if (!quiet) console.log('dist is up to date');
    process.exit(0);
  }
}
if (quiet) console.error('[setup] building the client bundles and the server');

// The same options and compile hint as the join benchmark's raw baseline (scripts/buildConfig.mjs).
const client = { ...clientBuildOptions, entryPoints: ['src/client/index.ts'] };
await Promise.all([
  build({ ...client, banner: compileHint, format: 'esm', outfile: 'dist/client/media-infra-client.js' }),
  build({ ...client, entryPoints: ['src/inspector/index.ts'], format: 'esm', outfile: 'dist/client/media-infra-inspector.js' }),
  build({ ...client, banner: compileHint, format: 'iife', globalName: 'MediaInfra', outfile: 'dist/client/media-infra-client.iife.js' }),
  build(serverBuildOptions('dist/server/main.js')),
]);
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
// Last: it takes the IIFE and the types written above.
await writeClientPackage({ target: client.target });
if (!quiet) console.log('built dist/client (ESM + IIFE), dist/server, dist/types, dist/client-package');
