// The browser module's size: the whole minified ES module as served, and our own code alone
// (the same entry bundled with its npm dependencies left out), both gzipped.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** CI's budget (issue 8): the whole module and our own code, gzipped bytes. */
export const BUDGET = { wholeGzip: 75 * 1024, ownGzip: 15 * 1024 } as const;

export interface BundleSize {
  wholeMin: number;
  wholeGzip: number;
  ownMin: number;
  ownGzip: number;
}

const gzip = (b: Uint8Array): number => gzipSync(b, { level: 9 }).length;

/** `root`: the repository; the whole module is read from dist/ (built by build.mjs). */
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
  return { wholeMin: whole.length, wholeGzip: gzip(whole), ownMin: ownBytes.length, ownGzip: gzip(ownBytes) };
}
