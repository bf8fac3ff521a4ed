// `npm run cluster`: bundles scripts/cluster.ts (it shares the tests' engine launchers) and runs it.
import { build } from 'esbuild';
import { pathToFileURL } from 'node:url';

const outfile = 'dist/scripts/cluster.mjs';
await build({ entryPoints: ['scripts/cluster.ts'], bundle: true, platform: 'node', target: 'node20', format: 'esm', packages: 'external', outfile, logLevel: 'warning' });
const { run } = await import(pathToFileURL(outfile).href);
await run();
