// mediasoup reads MEDIASOUP_WORKER_BIN when its module loads, so the path to our offline-built
// worker (scripts/build-mediasoup-worker.sh) must be in the environment before the first import.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';

export type Mediasoup = typeof import('mediasoup');

/** Where scripts/build-mediasoup-worker.sh puts the worker for the pinned mediasoup version. */
export function defaultWorkerBin(env: NodeJS.ProcessEnv = process.env): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const version = (pkg.dependencies?.['mediasoup'] ?? '').replace(/^[~^=]/, '');
  const cache = env['MEDIA_INFRA_CACHE'] || join(env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'media-infra');
  return join(cache, 'mediasoup-worker', version, 'mediasoup-worker');
}

let loaded: Promise<Mediasoup> | undefined;

export function loadMediasoup(): Promise<Mediasoup> {
  loaded ??= (async () => {
    if (!process.env['MEDIASOUP_WORKER_BIN']) process.env['MEDIASOUP_WORKER_BIN'] = defaultWorkerBin();
    const bin = process.env['MEDIASOUP_WORKER_BIN'];
    if (!existsSync(bin)) {
      throw new Error(`the mediasoup worker is missing at ${bin}: run \`npm start\` or \`bash scripts/setup.sh\` once to build it`);
    }
    return await import('mediasoup');
  })();
  return loaded;
}
