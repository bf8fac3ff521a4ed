// A customer's web app, made in a temporary directory: its own package.json, the client package
// installed from the tarball with npm (its dependencies from the npm registry), TypeScript that uses
// the public API, and what npm installed, as seen on disk. Nothing here resolves from this
// repository's node_modules: the typescript and esbuild binaries of this repository are tools only.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The packages of the server: a customer's front-end must never install them. */
export const SERVER_PACKAGES = ['mediasoup', 'better-sqlite3', 'pino', 'ws'];

/**
 * The app's code. It is type-checked with `tsc --strict` against the installed package's types; each
 * `@ts-expect-error` line must be an error, so types that had become `any` fail the check too.
 * `createMediaClient` is re-exported for the tests' page helpers (tests/e2e/pageHelpers.ts).
 */
export const APP_SOURCE = `import {
  createMediaClient,
  ErrorCode,
  MediaInfraError,
  type ClientState,
  type ConsumeManager,
  type MediaInfraClient,
  type ProduceManager,
  type Recording,
} from '@media-infra/client';

export { createMediaClient };

export function joinRoom(url: string, token: string, onTrack: (consumer: ConsumeManager) => void): MediaInfraClient {
  const client = createMediaClient(url, token, { reconnect: { maxAttempts: 3 } });
  client.on('state', (state: ClientState) => {
    document.title = state;
  });
  client.on('error', (error: MediaInfraError) => console.warn(error.code, error.message));
  client.listenTrack(onTrack);
  return client;
}

export async function publishCamera(client: MediaInfraClient): Promise<ProduceManager> {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 } });
  const track = stream.getVideoTracks()[0];
  if (!track) throw new Error('no camera');
  const producer = await client.produceTrack(track, { appData: { source: 'camera' } });
  producer.on('paused', () => console.info('camera paused'));
  return producer;
}

export async function record(producer: ProduceManager): Promise<Recording> {
  await producer.startRecord();
  return producer.stopRecord();
}

export function isClosedConsumer(error: unknown): boolean {
  return error instanceof MediaInfraError && error.code === ErrorCode.CONSUMER_CLOSED;
}

export function wrongUses(client: MediaInfraClient): void {
  // @ts-expect-error a track, not a string
  void client.produceTrack('camera');
  // @ts-expect-error 'open' is not a client state
  const state: 'open' = client.state;
  // @ts-expect-error no such event
  client.on('stat', () => undefined);
  void state;
}
`;

/** The app's tsconfig: strict, checking the package's .d.ts too (no skipLibCheck), no ambient types. */
const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'ESNext',
    moduleResolution: 'Bundler',
    lib: ['ES2022', 'DOM', 'DOM.Iterable'],
    strict: true,
    skipLibCheck: false,
    types: [],
    noEmit: true,
  },
  include: ['src'],
};

export interface CustomerApp {
  dir: string;
  /** How long `npm install <tarball>` took (ms). */
  installMs: number;
}

/** npm's own configuration from the environment of `npm test` (prefix, cache…) is not the app's. */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
}

export function npm(app: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('npm', args, { cwd: app, env: npmEnv(), maxBuffer: 16 * 1024 * 1024 });
}

/** A fresh app in a temporary directory with the tarball installed by `npm install`. */
export async function installInFreshApp(tarball: string): Promise<CustomerApp> {
  const dir = mkdtempSync(join(tmpdir(), 'media-infra-customer-'));
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'customer-app', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`);
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'main.ts'), APP_SOURCE);
  writeFileSync(join(dir, 'tsconfig.json'), `${JSON.stringify(TSCONFIG, null, 2)}\n`);
  const t0 = performance.now();
  await npm(dir, ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball]);
  return { dir, installMs: performance.now() - t0 };
}

export interface InstalledPackage {
  name: string;
  version: string;
  /** Where it is, relative to the app. */
  path: string;
  /** preinstall / install / postinstall, or `binding.gyp` (npm runs node-gyp for it). */
  installScripts: string[];
}

/** Every package under the app's node_modules, nested ones included. */
export function installedPackages(app: string): InstalledPackage[] {
  const found: InstalledPackage[] = [];
  const visitModules = (modules: string, rel: string) => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith('.')) continue;
      if (entry.startsWith('@')) {
        for (const scoped of readdirSync(join(modules, entry))) visitPackage(join(modules, entry, scoped), `${rel}/${entry}/${scoped}`);
      } else visitPackage(join(modules, entry), `${rel}/${entry}`);
    }
  };
  const visitPackage = (dir: string, rel: string) => {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) return;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string; version: string; scripts?: Record<string, string> };
    const installScripts = ['preinstall', 'install', 'postinstall'].filter((s) => pkg.scripts?.[s]);
    if (existsSync(join(dir, 'binding.gyp'))) installScripts.push('binding.gyp');
    found.push({ name: pkg.name, version: pkg.version, path: rel, installScripts });
    visitModules(join(dir, 'node_modules'), `${rel}/node_modules`);
  };
  visitModules(join(app, 'node_modules'), 'node_modules');
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

/** Files a native build leaves (compiled addons, node-gyp's build directory), relative to the app. */
export function nativeBuildTraces(app: string): string[] {
  const traces: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(join(dir, entry.name), path);
      else if (entry.name.endsWith('.node') || entry.name === 'config.gypi' || entry.name === 'binding.gyp') traces.push(path);
    }
  };
  walk(join(app, 'node_modules'), 'node_modules');
  return traces;
}

/** Bytes of every file under a directory. */
export function diskSize(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? diskSize(path) : statSync(path).size;
  }
  return total;
}
