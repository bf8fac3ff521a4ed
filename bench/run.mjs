// `npm run bench [name…]`: bundles each benchmark (bench/<name>.ts exporting `run()`), runs them one
// after another on the built server, prints their figures and writes them to bench/results.json
// with the machine they ran on. Figures are medians of repeated runs (see bench/stats.ts).
import { build } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

// scripts/buildConfig.mjs finds the repository from its own location: bundled into dist/bench/ it
// would look in dist/. It stays outside the bundle, imported by its absolute path.
const keepBuildConfig = {
  name: 'keep-build-config',
  setup(b) {
    b.onResolve({ filter: /buildConfig\.mjs$/ }, (args) => ({ path: resolve(args.resolveDir, args.path), external: true }));
  },
};

const ALL = ['size', 'join', 'latency', 'recovery', 'cluster', 'scale', 'simulcast'];
const names = process.argv.slice(2).length ? process.argv.slice(2) : ALL.filter((n) => existsSync(`bench/${n}.ts`));
mkdirSync('dist/bench', { recursive: true });

const resultsPath = 'bench/results.json';
const previous = existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : { results: {} };
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  date: new Date().toISOString(),
};
console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}`);

const results = { ...previous.results };
for (const name of names) {
  const outfile = `dist/bench/${name}.mjs`;
  await build({ entryPoints: [`bench/${name}.ts`], bundle: true, platform: 'node', target: 'node20', format: 'esm', packages: 'external', plugins: [keepBuildConfig], outfile, logLevel: 'warning' });
  console.log(`\n== ${name}`);
  const started = Date.now();
  const { run } = await import(pathToFileURL(outfile).href);
  const figures = await run();
  console.log(JSON.stringify(figures, null, 2));
  results[name] = { ...figures, machine, seconds: Math.round((Date.now() - started) / 1000) };
}
writeFileSync(resultsPath, `${JSON.stringify({ results }, null, 2)}\n`);
console.log(`\nwritten to ${resultsPath}`);
