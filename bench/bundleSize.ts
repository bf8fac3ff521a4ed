// The browser client's size, gzipped:
// - the whole minified ES module as the server serves it, and our own code alone (the same entry
//   bundled with its npm dependencies left out);
// - the npm package (`@media-infra/client`) as a customer's bundler sees it: an app that imports
//   everything the package exports, bundled by esbuild for production. What a page loads before it
//   inspects anything is the budget; the inspector chunk, loaded only when asked for, is shown beside.
import { build, type Metafile } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * CI's budget (issue 8; the package's entry since issue 17), gzipped bytes. Our own code's share
 * went from 15 to 24 KB with issues 15, 16 and 18 (node rotation, intents while reconnecting,
 * simulcast and adaptive layers, call health: 21 KB measured); what a page loads in all stays 75 KB.
 */
export const BUDGET = { wholeGzip: 75 * 1024, ownGzip: 24 * 1024, packageGzip: 75 * 1024 } as const;

export interface PackageSize {
  /** The chunks a page loads before inspecting: the app's entry and what it imports statically. */
  initialMin: number;
  initialGzip: number;
  /** The chunks loaded only by `import()` (the inspector). */
  lazyMin: number;
  lazyGzip: number;
}

export interface BundleSize {
  wholeMin: number;
  wholeGzip: number;
  ownMin: number;
  ownGzip: number;
  /** The package's entry in a customer's bundle (dist/client-package, dependencies as locked here). */
  package: PackageSize;
}

const gzip = (b: Uint8Array): number => gzipSync(b, { level: 9 }).length;

/**
 * `@media-infra/client` bundled from `appDir`, where it is installed (resolved through its
 * `exports` like any package), as a production build: ESM with code splitting, minified,
 * `process.env.NODE_ENV` "production".
 */
export async function measurePackageEntry(appDir: string): Promise<PackageSize> {
  const outdir = join(appDir, 'size-out');
  const result = await build({
    absWorkingDir: appDir,
    stdin: { contents: "export * from '@media-infra/client';", resolveDir: appDir, sourcefile: 'app.js' },
    bundle: true,
    format: 'esm',
    splitting: true,
    platform: 'browser',
    minify: true,
    legalComments: 'none',
    define: { 'process.env.NODE_ENV': '"production"' },
    outdir,
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const outputs = result.metafile.outputs;
  const entry = Object.keys(outputs).find((p) => outputs[p]!.entryPoint);
  if (!entry) throw new Error('no entry chunk');
  const initial = staticClosure(outputs, entry);
  const size = { initialMin: 0, initialGzip: 0, lazyMin: 0, lazyGzip: 0 };
  for (const file of result.outputFiles) {
    const path = Object.keys(outputs).find((p) => join(appDir, p) === file.path);
    if (!path) throw new Error(`${file.path} is not in the metafile`);
    if (initial.has(path)) {
      size.initialMin += file.contents.length;
      size.initialGzip += gzip(file.contents);
    } else {
      size.lazyMin += file.contents.length;
      size.lazyGzip += gzip(file.contents);
    }
  }
  return size;
}

/** An output and every output it imports statically, transitively. */
function staticClosure(outputs: Metafile['outputs'], from: string): Set<string> {
  const seen = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const imp of outputs[path]!.imports) if (imp.kind === 'import-statement' && !imp.external) visit(imp.path);
  };
  visit(from);
  return seen;
}

/** `root`: the repository; reads dist/ (built by build.mjs). */
export async function measureBundleSize(root: string): Promise<BundleSize> {
  const whole = readFileSync(join(root, 'dist', 'client', 'media-infra-client.js'));
  const own = await build({
    absWorkingDir: root,
    entryPoints: ['src/client/index.ts'],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    legalComments: 'none',
    packages: 'external',
    write: false,
    logLevel: 'silent',
  });
  const ownBytes = own.outputFiles[0]!.contents;
  // An app with dist/client-package linked in as its node_modules/@media-infra/client: the package's
  // own files through its exports map; its dependencies resolve from this repository's node_modules.
  const app = mkdtempSync(join(tmpdir(), 'media-infra-size-'));
  try {
    mkdirSync(join(app, 'node_modules', '@media-infra'), { recursive: true });
    symlinkSync(join(root, 'dist', 'client-package'), join(app, 'node_modules', '@media-infra', 'client'), 'dir');
    const pkg = await measurePackageEntry(app);
    return { wholeMin: whole.length, wholeGzip: gzip(whole), ownMin: ownBytes.length, ownGzip: gzip(ownBytes), package: pkg };
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
}
