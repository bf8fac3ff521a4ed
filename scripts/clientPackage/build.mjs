// The client's npm package, `@media-infra/client`, written by build.mjs into dist/client-package/
// (`npm run pack:client` packs it). What a customer installs has only browser code in it:
//
//   dist/index.js                  the entry for bundlers: ESM, unminified, its dependencies left
//                                  as imports so the customer's bundler dedupes and tree-shakes them
//   dist/media-infra-inspector.js  the inspector, reached only by a literal `import()` from
//                                  dist/index.js: bundlers make it a chunk of its own, loaded when
//                                  inspection is asked for
//   browser/                       the IIFE for `<script>` users (global `MediaInfra`) and its
//                                  inspector, self-contained and minified: the files the server serves
//   types/                         the .d.ts of the public API (tsconfig.build.json's output, only the
//                                  files the entry reaches)
//   docs/api/                      the API reference (`npm run docs`)
//   package.json, README.md (scripts/clientPackage/README.md)
import { build } from 'esbuild';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

export const PACKAGE_NAME = '@media-infra/client';
export const PACKAGE_DIR = join(root, 'dist', 'client-package');

/**
 * What the client imports at run time: the package's only dependencies (versions from the root
 * package.json). The build fails when the bundle imports any other package.
 */
const RUNTIME_DEPENDENCIES = ['mediasoup-client', 'valibot', 'xstate'];

/** The inspector's file beside dist/index.js, as dist/index.js imports it. */
const INSPECTOR_FILE = './media-infra-inspector.js';

/** The package name of an import specifier (`mediasoup-client/types` → `mediasoup-client`). */
const packageOf = (specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

/**
 * src/client/inspection.ts imports the inspector by a variable (the served bundle defines it as the
 * file beside it), which no bundler follows. Here the call is made a literal `import()` of the file
 * beside dist/index.js, left external, so a customer's bundler finds it and splits it off.
 */
const literalInspectorImport = {
  name: 'literal-inspector-import',
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/]client[\\/]inspection\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const call = /import\(\s*(?:\/\*[^*]*\*\/\s*)?inspectorModule\s*\)/g;
      const found = source.match(call)?.length ?? 0;
      if (found !== 1) throw new Error(`client package: expected one import(inspectorModule) in ${args.path}, found ${found}: update scripts/clientPackage/build.mjs`);
      return { contents: source.replace(call, `import(${JSON.stringify(INSPECTOR_FILE)})`), loader: 'ts' };
    });
    b.onResolve({ filter: /^\.\/media-infra-inspector\.js$/ }, (args) => ({ path: args.path, external: true }));
  },
};

/** The packages a build's output imports (from esbuild's metafile). */
function importedPackages(metafile) {
  const names = new Set();
  for (const output of Object.values(metafile.outputs)) {
    for (const imp of output.imports) if (imp.external && !imp.path.startsWith('.')) names.add(packageOf(imp.path));
  }
  return names;
}

/**
 * The .d.ts files `entry` reaches through relative imports, from `typesDir`; fails on an import of
 * a package that is not a dependency (the customer has only the package and its dependencies).
 */
function typeClosure(typesDir, entry) {
  const seen = new Set();
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(join(typesDir, file), 'utf8');
    for (const [, specifier] of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g)) {
      if (specifier.startsWith('.')) {
        const target = posix.normalize(posix.join(posix.dirname(file), specifier.replace(/\.js$/, '.d.ts')));
        if (target.startsWith('..')) throw new Error(`client package: ${file} imports ${specifier}, outside the types`);
        queue.push(target);
      } else if (!RUNTIME_DEPENDENCIES.includes(packageOf(specifier))) {
        throw new Error(`client package: ${file} imports '${specifier}', which is not a dependency of ${PACKAGE_NAME}`);
      }
    }
  }
  return [...seen].sort();
}

/** The package's package.json, from the root one (version, license, dependency versions). */
export function packageJson(rootPackage) {
  const types = './types/src/client/index.d.ts';
  return {
    name: PACKAGE_NAME,
    version: rootPackage.version,
    description: 'Browser client of media-infra: real-time audio/video with a mediasoup SFU, every part of the client an XState actor.',
    license: rootPackage.license,
    type: 'module',
    main: './dist/index.js',
    module: './dist/index.js',
    types,
    exports: {
      '.': { types, import: './dist/index.js', default: './dist/index.js' },
      './iife': './browser/media-infra-client.iife.js',
      './package.json': './package.json',
    },
    unpkg: './browser/media-infra-client.iife.js',
    jsdelivr: './browser/media-infra-client.iife.js',
    sideEffects: false,
    files: ['dist', 'browser', 'types', 'docs', 'README.md'],
    dependencies: Object.fromEntries(
      RUNTIME_DEPENDENCIES.map((name) => {
        const version = rootPackage.dependencies[name];
        if (!version) throw new Error(`client package: ${name} is not a dependency of the root package.json`);
        return [name, `^${version}`];
      }),
    ),
    engines: rootPackage.engines,
    keywords: ['webrtc', 'mediasoup', 'sfu', 'xstate', 'video', 'audio'],
  };
}

/** A replaced package directory is removed only this long after it was made: readers may be in it. */
const KEEP_REPLACED_MS = 10 * 60_000;

/**
 * Writes the package into `outDir` (default dist/client-package). Needs build.mjs's outputs:
 * dist/client/ (the served IIFE and inspector) and dist/types/. `target`: the browsers of the
 * served bundles, so the package runs wherever they do whatever the customer's bundler lowers.
 *
 * Test files pack and bundle the package while another `npm test` may rebuild it: it is written
 * into a directory of its own and `outDir` becomes a symlink to it in one rename, so nobody ever
 * reads a half-written package.
 */
export async function writeClientPackage({ target, outDir = PACKAGE_DIR }) {
  const parent = dirname(outDir);
  const prefix = `.${basename(outDir)}-`;
  mkdirSync(parent, { recursive: true });
  const stage = mkdtempSync(join(parent, prefix));
  await writePackageFiles(target, stage);
  const link = `${stage}.link`;
  symlinkSync(basename(stage), link, 'dir');
  if (existsSync(outDir) && !lstatSync(outDir).isSymbolicLink()) rmSync(outDir, { recursive: true, force: true });
  renameSync(link, outDir);
  const current = realpathSync(outDir);
  for (const entry of readdirSync(parent)) {
    const path = join(parent, entry);
    if (entry.startsWith(prefix) && path !== current && Date.now() - lstatSync(path).mtimeMs > KEEP_REPLACED_MS) rmSync(path, { recursive: true, force: true });
  }
  return outDir;
}

async function writePackageFiles(target, outDir) {
  const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const pkg = packageJson(rootPackage);

  const esm = {
    absWorkingDir: root,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target,
    metafile: true,
    legalComments: 'inline',
    logLevel: 'warning',
  };
  const [client, inspector] = await Promise.all([
    build({
      ...esm,
      entryPoints: ['src/client/index.ts'],
      outfile: join(outDir, 'dist', 'index.js'),
      packages: 'external',
      define: { __MEDIA_INFRA_INSPECTOR__: JSON.stringify(INSPECTOR_FILE) },
      plugins: [literalInspectorImport],
    }),
    // The inspector bundles what it alone uses (@statelyai/inspect, whose Node side would pull `ws`):
    // only the client's dependencies stay imports.
    build({
      ...esm,
      entryPoints: ['src/inspector/index.ts'],
      outfile: join(outDir, 'dist', 'media-infra-inspector.js'),
      external: RUNTIME_DEPENDENCIES.flatMap((name) => [name, `${name}/*`]),
    }),
  ]);
  for (const name of [...importedPackages(client.metafile), ...importedPackages(inspector.metafile)]) {
    if (!RUNTIME_DEPENDENCIES.includes(name)) throw new Error(`client package: the bundle imports '${name}', which is not a dependency`);
  }
  if (!readFileSync(join(outDir, 'dist', 'index.js'), 'utf8').includes(`import(${JSON.stringify(INSPECTOR_FILE)})`)) {
    throw new Error('client package: dist/index.js does not import the inspector lazily');
  }

  for (const file of ['media-infra-client.iife.js', 'media-infra-inspector.js']) {
    cpSync(join(root, 'dist', 'client', file), join(outDir, 'browser', file));
  }

  const typesDir = join(root, 'dist', 'types');
  const entryTypes = relative('./types', pkg.types);
  for (const file of typeClosure(typesDir, entryTypes)) cpSync(join(typesDir, file), join(outDir, 'types', file));

  if (existsSync(join(root, 'docs', 'api'))) cpSync(join(root, 'docs', 'api'), join(outDir, 'docs', 'api'), { recursive: true });
  cpSync(join(here, 'README.md'), join(outDir, 'README.md'));
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
}
