// Settings from the environment: defaults, validation, and the development API key.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startServerProcess } from '../support/server.js';
import { API_KEY_FILE, ConfigError, loadConfig } from '../../src/server/config.js';
import { prettyLine } from '../../src/server/logger.js';

const dir = () => mkdtempSync(join(tmpdir(), 'media-infra-config-'));
const KEY = 'a-key-of-sixteen-or-more';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({ MEDIA_API_KEY: KEY });
    expect(c).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      apiKey: KEY,
      apiKeySource: 'env',
      sessionTtlSeconds: 259200,
      rtcMinPort: 40000,
      rtcMaxPort: 49999,
      logLevel: 'info',
      logFormat: 'json',
      demo: false,
      sourceMaps: false,
      maxSessions: 1_000_000,
    });
    expect(c.publicUrl).toBeUndefined();
    expect(c.databasePath).toMatch(/data\/media-infra\.db$/);
    expect(c.recordingsDir).toMatch(/data\/recordings$/);
    expect(c.numWorkers).toBeGreaterThanOrEqual(1);
    expect(c.announcedIp).toBeUndefined();
  });

  it('reads the cluster settings: engine URLs by scheme (never echoing them), REDIS_URL only with DATABASE_URL, NODE_ID, NODE_MAX_PEERS from the workers', () => {
    const c = loadConfig({ MEDIA_API_KEY: KEY, NUM_WORKERS: '3' });
    expect(c.databaseUrl).toBeUndefined();
    expect(c.redisUrl).toBeUndefined();
    expect(c.nodeId).toMatch(/^node-[0-9a-f]{8}$/);
    expect(c.nodeMaxPeers).toBe(300);
    const cluster = loadConfig({ MEDIA_API_KEY: KEY, DATABASE_URL: 'postgres://u:secret@db:5432/media', REDIS_URL: 'redis://cache:6379', NODE_ID: 'a.b-1', NODE_MAX_PEERS: '7' });
    expect(cluster.databaseUrl?.host).toBe('db:5432');
    expect(cluster.redisUrl?.host).toBe('cache:6379');
    expect(cluster).toMatchObject({ nodeId: 'a.b-1', nodeMaxPeers: 7 });
    expect(() => loadConfig({ MEDIA_API_KEY: KEY, REDIS_URL: 'redis://cache:6379' })).toThrow(/REDIS_URL .* needs DATABASE_URL/);
    expect(() => loadConfig({ MEDIA_API_KEY: KEY, DATABASE_URL: 'mysql://u:secret@db/x' })).toThrow(ConfigError);
    expect(() => loadConfig({ MEDIA_API_KEY: KEY, DATABASE_URL: 'mysql://u:secret@db/x' })).not.toThrow(/secret/);
    expect(() => loadConfig({ MEDIA_API_KEY: KEY, NODE_ID: 'no spaces' })).toThrow(/NODE_ID/);
    expect(() => loadConfig({ MEDIA_API_KEY: KEY, NODE_MAX_PEERS: '0' })).toThrow(/NODE_MAX_PEERS/);
  });

  it('has the demo on only in development (no MEDIA_API_KEY configured) or with DEMO=1', () => {
    expect(loadConfig({ MEDIA_API_KEY: KEY }).demo).toBe(false);
    expect(loadConfig({ MEDIA_API_KEY: KEY, HOST: '127.0.0.1' }).demo).toBe(false);
    expect(loadConfig({ MEDIA_API_KEY: KEY, HOST: '0.0.0.0', DEMO: '1' }).demo).toBe(true);
    expect(loadConfig({ DATABASE_PATH: join(dir(), 'db.sqlite') }).demo).toBe(true);
    expect(loadConfig({ DATABASE_PATH: join(dir(), 'db.sqlite'), DEMO: '0' }).demo).toBe(false);
  });

  it('logs readable lines at a terminal and JSON elsewhere, unless LOG_FORMAT says', () => {
    expect(loadConfig({ MEDIA_API_KEY: KEY }, true).logFormat).toBe('pretty');
    expect(loadConfig({ MEDIA_API_KEY: KEY }, false).logFormat).toBe('json');
    expect(loadConfig({ MEDIA_API_KEY: KEY, LOG_FORMAT: 'json' }, true).logFormat).toBe('json');
    expect(loadConfig({ MEDIA_API_KEY: KEY, LOG_FORMAT: 'pretty' }, false).logFormat).toBe('pretty');
    const line = prettyLine(JSON.stringify({ level: 30, time: '2026-12-01T21:03:04.567Z', service: 'media-infra', msg: 'listening', url: 'http://127.0.0.1:3000', workers: 2 }), false);
    expect(line).toBe('21:03:04 INFO  listening url=http://127.0.0.1:3000 workers=2');
  });

  it('reads PUBLIC_URL, SOURCE_MAPS and MAX_SESSIONS', () => {
    const c = loadConfig({ MEDIA_API_KEY: KEY, PUBLIC_URL: 'https://media.example.com/sfu', SOURCE_MAPS: '1', MAX_SESSIONS: '5' });
    expect(c.publicUrl?.href).toBe('https://media.example.com/sfu');
    expect(c.sourceMaps).toBe(true);
    expect(c.maxSessions).toBe(5);
  });

  it('reads SPEAKER_DETECTION: on unless 0', () => {
    expect(loadConfig({ MEDIA_API_KEY: KEY }).speakerDetection).toBe(true);
    expect(loadConfig({ MEDIA_API_KEY: KEY, SPEAKER_DETECTION: '0' }).speakerDetection).toBe(false);
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT/],
    [{ PORT: '70000' }, /PORT/],
    [{ SESSION_TTL_SECONDS: '0' }, /SESSION_TTL_SECONDS/],
    [{ SESSION_TTL_SECONDS: '-5' }, /SESSION_TTL_SECONDS/],
    [{ RTC_MIN_PORT: '40000', RTC_MAX_PORT: '40001', NUM_WORKERS: '2' }, /RTC_MIN_PORT/],
    [{ NUM_WORKERS: '0' }, /NUM_WORKERS/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ LOG_FORMAT: 'xml' }, /LOG_FORMAT/],
    [{ HOST: 'not a host' }, /HOST/],
    [{ DEMO: 'yes' }, /DEMO/],
    [{ SOURCE_MAPS: 'true' }, /SOURCE_MAPS/],
    [{ SPEAKER_DETECTION: 'off' }, /SPEAKER_DETECTION/],
    [{ MAX_SESSIONS: '0' }, /MAX_SESSIONS/],
    [{ PUBLIC_URL: 'media.example.com' }, /PUBLIC_URL/],
    [{ PUBLIC_URL: 'ftp://media.example.com' }, /PUBLIC_URL/],
    [{ PUBLIC_URL: 'https://media.example.com/?x=1' }, /PUBLIC_URL/],
    [{ MEDIA_API_KEY: 'short' }, /MEDIA_API_KEY/],
  ])('fails clearly on %o', (env, message) => {
    expect(() => loadConfig({ MEDIA_API_KEY: KEY, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ MEDIA_API_KEY: KEY, ...env })).toThrow(message);
  });

  it('generates a development key once, beside the database, mode 0600, and reuses it', () => {
    const env = { DATABASE_PATH: join(dir(), 'nested', 'db.sqlite') };
    const first = loadConfig(env);
    expect(first.apiKeySource).toBe('generated');
    const path = join(dirname(env.DATABASE_PATH), API_KEY_FILE);
    expect(first.generatedApiKeyPath).toBe(path);
    expect(readFileSync(path, 'utf8').trim()).toBe(first.apiKey);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(first.apiKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const second = loadConfig(env);
    expect(second.apiKey).toBe(first.apiKey);
    expect(second.apiKeySource).toBe('file');
    expect(second.generatedApiKeyPath).toBeUndefined();
    // An explicit key wins and the file is left alone.
    expect(loadConfig({ ...env, MEDIA_API_KEY: KEY }).apiKey).toBe(KEY);
  });
});

describe('the server process without MEDIA_API_KEY', () => {
  it('prints the generated key on the first start only, and the key works on both', async () => {
    const first = await startServerProcess({ env: { MEDIA_API_KEY: '' } });
    const key = readFileSync(join(dirname(first.databasePath), API_KEY_FILE), 'utf8').trim();
    const issue = (httpUrl: string) =>
      fetch(`${httpUrl}/v1/api/connect`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ roomId: 'r', userId: 'u' }),
      });
    expect((await issue(first.httpUrl)).status).toBe(200);
    expect(await first.stop()).toBe(0);
    expect(first.logs().split(key).length - 1).toBe(1);

    const second = await startServerProcess({ env: { MEDIA_API_KEY: '' }, databasePath: first.databasePath });
    expect((await issue(second.httpUrl)).status).toBe(200);
    expect(await second.stop()).toBe(0);
    expect(second.logs()).not.toContain(key);
  });

  it('exits 1 with a clear message on a bad setting', async () => {
    await expect(startServerProcess({ env: { SESSION_TTL_SECONDS: 'soon' } })).rejects.toThrow(/SESSION_TTL_SECONDS must be a whole number/);
  });
});
