// The client package as a customer gets it: `npm run pack:client`'s tarball installed into a fresh
// app (tests/package/customerApp.ts), type-checked with `tsc --strict`, bundled with esbuild, and
// run in Chromium against the real server: join, produce, listen, decode.
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { readFileSync, realpathSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, openClientPage } from '../support/browser.js';
import { startServerProcess, type ServerProcess } from '../support/server.js';
import { BUDGET, measurePackageEntry } from '../../bench/bundleSize.js';
import { createClient, listen, readFrames, waitForConsumers, waitForState } from '../e2e/pageHelpers.js';
import { diskSize, installedPackages, installInFreshApp, nativeBuildTraces, npm, SERVER_PACKAGES, type CustomerApp } from './customerApp.js';

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PACKAGE = '@media-infra/client';

const inside = (dir: string, path: string): boolean => !relative(dir, path).startsWith('..');

describe(`the client package (${PACKAGE}) in a fresh app`, () => {
  let tarball: string;
  let app: CustomerApp;

  beforeAll(async () => {
    const packed = await run('npm', ['run', '--silent', 'pack:client'], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
    tarball = packed.stdout.trim().split('\n').at(-1)!;
    console.log(packed.stdout.trim().split('\n').slice(-2).join('\n'));
    expect(tarball).toMatch(/dist\/media-infra-client-\d+\.\d+\.\d+\.tgz$/);
    app = await installInFreshApp(tarball);
  }, 300_000);

  afterAll(() => {
    if (app) rmSync(app.dir, { recursive: true, force: true });
  });

  it('installs browser code only: no server package, no install script, no native build', async () => {
    const packages = installedPackages(app.dir);
    const tree = (await npm(app.dir, ['ls', '--all'])).stdout;
    console.log(`npm install of the tarball: ${(app.installMs / 1000).toFixed(1)} s; installed: ${packages.length} packages, ${(diskSize(join(app.dir, 'node_modules')) / 1024 / 1024).toFixed(1)} MiB\n${tree}`);
    expect(packages.map((p) => p.name)).toContain(PACKAGE);
    expect(packages.filter((p) => SERVER_PACKAGES.includes(p.name)).map((p) => p.path)).toEqual([]);
    expect(packages.filter((p) => p.installScripts.length).map((p) => `${p.path}: ${p.installScripts.join(', ')}`)).toEqual([]);
    expect(nativeBuildTraces(app.dir)).toEqual([]);
    // npm marks a package whose install runs a script in the lock file too
    const lock = JSON.parse(readFileSync(join(app.dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { hasInstallScript?: boolean }> };
    expect(Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript).map(([path]) => path)).toEqual([]);
  });

  it('resolves the package and its dependencies inside the app only', async () => {
    const specifiers = [PACKAGE, 'xstate', 'mediasoup-client', 'valibot'];
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `for (const s of ${JSON.stringify(specifiers)}) console.log(import.meta.resolve(s));`], { cwd: app.dir });
    const resolved = stdout.trim().split('\n').map((url) => fileURLToPath(url));
    expect(resolved).toHaveLength(specifiers.length);
    for (const path of resolved) expect(inside(join(app.dir, 'node_modules'), path), path).toBe(true);
    expect(resolved[0]).toBe(join(app.dir, 'node_modules', PACKAGE, 'dist', 'index.js'));
  });

  it("type-checks the app's TypeScript with tsc --strict against the installed types only", async () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', join(app.dir, 'tsconfig.json'), '--listFiles'], { cwd: app.dir }).catch((e: { stdout: string }) => e);
    const files = result.stdout.trim().split('\n');
    // The compiler's own lib.*.d.ts are the tool's; every other file is the app's or what npm installed.
    const typescriptLib = realpathSync(join(root, 'node_modules', 'typescript', 'lib'));
    const errors = files.filter((l) => /error TS\d+/.test(l));
    expect(errors, errors.join('\n')).toEqual([]);
    expect(files.filter((f) => !inside(app.dir, f) && !inside(typescriptLib, f))).toEqual([]);
    expect(files).toContain(join(app.dir, 'node_modules', PACKAGE, 'types', 'src', 'client', 'index.d.ts'));
    // A whole compile, CPU-bound: 41 s in a loaded full suite, past a minute in a busier one.
  }, 180_000);

  it(`in an app's production bundle, the installed package stays within ${BUDGET.packageGzip / 1024} KB gz before inspecting`, async () => {
    const size = await measurePackageEntry(app.dir);
    console.log(`installed ${PACKAGE} bundled for production: ${(size.initialGzip / 1024).toFixed(1)} KB gz at once, inspector chunk ${(size.lazyGzip / 1024).toFixed(1)} KB gz`);
    expect(size.initialGzip).toBeLessThanOrEqual(BUDGET.packageGzip);
    expect(size.lazyGzip).toBeGreaterThan(0);
  });

  describe('bundled by esbuild, in Chromium against the real server', () => {
    let server: ServerProcess;
    let browser: Browser;
    let bundle: { dir: string; files: string[] };

    beforeAll(async () => {
      // As a customer's bundler builds an app: ESM, code splitting, minified for production.
      const outdir = join(app.dir, 'public', 'app');
      const result = await build({
        absWorkingDir: app.dir,
        entryPoints: ['src/main.ts'],
        bundle: true,
        format: 'esm',
        splitting: true,
        platform: 'browser',
        minify: true,
        define: { 'process.env.NODE_ENV': '"production"' },
        outdir,
        metafile: true,
        logLevel: 'silent',
      });
      const inputs = Object.keys(result.metafile.inputs).map((p) => join(app.dir, p));
      expect(inputs.filter((p) => !inside(app.dir, p))).toEqual([]);
      bundle = { dir: outdir, files: Object.keys(result.metafile.outputs).map((p) => relative(outdir, join(app.dir, p))) };
      [server, browser] = await Promise.all([startServerProcess(), launchBrowser()]);
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await server?.stop();
    });

    it('joins, produces the camera, a second client decodes it; the inspector is a chunk loaded only when asked for', async () => {
      const room = `package-${Date.now()}`;
      const [a, b] = await Promise.all([openClientPage(browser, server.httpUrl), openClientPage(browser, server.httpUrl)]);
      const requested: string[] = [];
      for (const { page } of [a, b]) {
        // The app's files, served on the server's origin at /app/ as a customer's site would.
        await page.route(`${server.httpUrl}/app/**`, (route) => {
          const file = new URL(route.request().url()).pathname.slice('/app/'.length);
          if (!bundle.files.includes(file)) return route.fulfill({ status: 404 });
          requested.push(file);
          return route.fulfill({ path: join(bundle.dir, file), contentType: 'text/javascript' });
        });
        // The page helpers use `MediaInfra`: from now on it is the app's bundle, not the served client.
        await page.evaluate(`(async () => { globalThis.MediaInfra = await import('/app/main.js'); })()`);
        expect(await page.evaluate(() => typeof (globalThis as any).MediaInfra.publishCamera)).toBe('function');
      }
      const inspectorChunks = bundle.files.filter((f) => f !== 'main.js' && readFileSync(join(bundle.dir, f), 'utf8').includes('media-infra-trace'));
      expect(inspectorChunks, `the inspector is not a chunk of its own: ${bundle.files.join(', ')}`).toHaveLength(1);
      expect(requested.filter((f) => inspectorChunks.includes(f))).toEqual([]);

      const [ta, tb] = await Promise.all([server.connect(room, 'alice'), server.connect(room, 'bob')]);
      await createClient(a.page, ta.url, ta.token);
      await waitForState(a.page, 'connected');
      const produced = await a.page.evaluate(async () => {
        const w = globalThis as any;
        w.camera = await w.MediaInfra.publishCamera(w.client);
        return { id: w.camera.id, kind: w.camera.kind, state: w.camera.state };
      });
      expect(produced).toMatchObject({ kind: 'video', state: 'live' });

      await createClient(b.page, tb.url, tb.token);
      await listen(b.page);
      await waitForState(b.page, 'connected');
      const [consumer] = await waitForConsumers(b.page, 1);
      expect(consumer).toMatchObject({ kind: 'video', userId: 'alice', trackKind: 'video' });
      const frames = await readFrames(b.page, 'video', 10);
      expect(frames.count).toBe(10);
      expect(frames.width).toBeGreaterThan(0);

      // Asking for a trace loads the inspector: its chunk, now.
      const trace = JSON.parse(await a.page.evaluate(() => (globalThis as any).client.exportTrace())) as { format?: string };
      expect(trace.format).toBe('media-infra-trace');
      expect(requested.filter((f) => inspectorChunks.includes(f))).toEqual(inspectorChunks);

      await Promise.all([a.page.evaluate(() => (globalThis as any).client.close()), b.page.evaluate(() => (globalThis as any).client.close())]);
      await Promise.all([a.page.context().close(), b.page.context().close()]);
    });
  });
});
