// Settings from environment variables, all optional (SPEC "Running it"). Every value is validated
// here so a typo fails at start with a message naming the variable, not later in a handler.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { isIP } from 'node:net';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
/** `pretty`: readable lines for a person at a terminal; `json`: one JSON object a line, for collectors. */
export type LogFormat = 'pretty' | 'json';

export interface Config {
  port: number;
  host: string;
  apiKey: string;
  /** Set when the key was generated on this start: main prints it once. */
  generatedApiKeyPath?: string;
  /** Where the development key lives when MEDIA_API_KEY is unset (for the log line). */
  apiKeySource: 'env' | 'file' | 'generated';
  databasePath: string;
  sessionTtlSeconds: number;
  recordingsDir: string;
  rtcMinPort: number;
  rtcMaxPort: number;
  announcedIp?: string;
  logLevel: LogLevel;
  /** LOG_FORMAT; default pretty when stdout is a terminal, JSON otherwise. */
  logFormat: LogFormat;
  numWorkers: number;
  /**
   * How clients (and later other nodes) reach this server, e.g. `https://media.example.com`;
   * the token API's `url` is derived from it, never from a request header. Unset: `http://HOST:PORT`
   * with the port actually bound.
   */
  publicUrl?: URL;
  /**
   * The demo page and its token route (a stand-in for a customer's server): on in development
   * (no MEDIA_API_KEY configured) or with DEMO=1; a server given its own key never mints tokens
   * without it.
   */
  demo: boolean;
  /** Serve the client bundles' source maps (SOURCE_MAPS=1); off by default. */
  sourceMaps: boolean;
  /** Most sessions (issued tokens, expired ones within their grace period included) the table holds. */
  maxSessions: number;
  /** DATABASE_URL: sessions and recordings in PostgreSQL instead of the SQLite file at `databasePath`. */
  databaseUrl?: URL;
  /** REDIS_URL: cluster mode (live state and node-to-node messages in Redis); needs `databaseUrl`. */
  redisUrl?: URL;
  /** This node's name in the cluster (NODE_ID; generated per start when unset). */
  nodeId: string;
  /** Peers placement sends to this node at most (NODE_MAX_PEERS); capacity only steers placement. */
  nodeMaxPeers: number;
  /**
   * SPEAKER_DETECTION (default 1): each room runs mediasoup's active-speaker and audio-level
   * observers (`activeSpeaker`, `audioLevels`); 0 leaves them out (no speaker, no levels; the
   * scale bench measures what they cost).
   */
  speakerDetection: boolean;
}

/** NODE_MAX_PEERS when unset: this many peers per mediasoup worker. */
export const PEERS_PER_WORKER = 100;
const NODE_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

/** An empty variable counts as unset (docker-compose and shells often export `FOO=`). */
function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got '${raw}'`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function flag(env: Env, name: string): boolean | undefined {
  const value = read(env, name);
  if (value !== undefined && value !== '0' && value !== '1') throw new ConfigError(`${name} must be 0 or 1, got '${value}'`);
  return value === undefined ? undefined : value === '1';
}

/** An http(s) origin, optionally with a base path; no query, no fragment, no credentials. */
function publicUrl(env: Env): URL | undefined {
  const raw = read(env, 'PUBLIC_URL');
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`PUBLIC_URL must be a URL like https://media.example.com, got '${raw}'`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username || url.password) {
    throw new ConfigError(`PUBLIC_URL must be an http(s) URL without query, fragment or credentials, got '${raw}'`);
  }
  return url;
}

/** A database or Redis URL with one of `protocols`; its password may be in it (never logged). */
function engineUrl(env: Env, name: string, protocols: readonly string[], example: string): URL | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL like ${example}`);
  }
  if (!protocols.includes(url.protocol)) throw new ConfigError(`${name} must start with ${protocols.map((p) => `${p}//`).join(' or ')}, like ${example}`);
  return url;
}

export const API_KEY_FILE = 'media-api-key';

/**
 * The development key: generated once, kept beside the database (mode 0600) so tokens issued by a
 * customer's dev server keep working across restarts, and printed only when it is created.
 */
function developmentKey(databasePath: string): { key: string; path: string; generated: boolean } {
  const path = join(dirname(databasePath), API_KEY_FILE);
  try {
    const key = readFileSync(path, 'utf8').trim();
    if (key.length >= 16) return { key, path, generated: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const key = randomBytes(32).toString('base64url');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, key + '\n', { mode: 0o600 });
  chmodSync(path, 0o600); // mode is ignored when the file already existed (e.g. empty)
  return { key, path, generated: true };
}

export function loadConfig(env: Env = process.env, stdoutIsTerminal = process.stdout.isTTY === true): Config {
  const port = integer(env, 'PORT', 3000, 0, 65535);
  const host = read(env, 'HOST') ?? '127.0.0.1';
  if (host !== 'localhost' && isIP(host) === 0) throw new ConfigError(`HOST must be an IP address or 'localhost', got '${host}'`);
  const databasePath = resolve(read(env, 'DATABASE_PATH') ?? './data/media-infra.db');
  const sessionTtlSeconds = integer(env, 'SESSION_TTL_SECONDS', 259200, 1, 365 * 24 * 3600);
  const recordingsDir = resolve(read(env, 'RECORDINGS_DIR') ?? './data/recordings');
  const rtcMinPort = integer(env, 'RTC_MIN_PORT', 40000, 1024, 65535);
  const rtcMaxPort = integer(env, 'RTC_MAX_PORT', 49999, 1024, 65535);
  const numWorkers = integer(env, 'NUM_WORKERS', availableParallelism(), 1, 256);
  // One WebRtcServer port per worker, plus at least one more port for plain transports (recording).
  if (rtcMaxPort - rtcMinPort + 1 < numWorkers + 1) {
    throw new ConfigError(`RTC_MIN_PORT..RTC_MAX_PORT (${rtcMinPort}..${rtcMaxPort}) must hold at least NUM_WORKERS + 1 = ${numWorkers + 1} ports`);
  }
  const announcedIp = read(env, 'ANNOUNCED_IP');
  if (announcedIp !== undefined && isIP(announcedIp) === 0 && !/^[A-Za-z0-9.-]+$/.test(announcedIp)) {
    throw new ConfigError(`ANNOUNCED_IP must be an IP address or a host name, got '${announcedIp}'`);
  }
  const logLevel = (read(env, 'LOG_LEVEL') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);
  const logFormat = (read(env, 'LOG_FORMAT') ?? (stdoutIsTerminal ? 'pretty' : 'json')) as LogFormat;
  if (logFormat !== 'pretty' && logFormat !== 'json') throw new ConfigError(`LOG_FORMAT must be pretty or json, got '${logFormat}'`);
  const demoFlag = flag(env, 'DEMO');
  const sourceMaps = flag(env, 'SOURCE_MAPS') ?? false;
  const speakerDetection = flag(env, 'SPEAKER_DETECTION') ?? true;
  const maxSessions = integer(env, 'MAX_SESSIONS', 1_000_000, 1, 1_000_000_000);
  const url = publicUrl(env);
  const databaseUrl = engineUrl(env, 'DATABASE_URL', ['postgres:', 'postgresql:'], 'postgres://user@host:5432/db');
  const redisUrl = engineUrl(env, 'REDIS_URL', ['redis:', 'rediss:'], 'redis://host:6379');
  if (redisUrl !== undefined && databaseUrl === undefined) {
    throw new ConfigError('REDIS_URL (cluster mode) needs DATABASE_URL: every node must read the same sessions and recordings');
  }
  const nodeId = read(env, 'NODE_ID') ?? `node-${randomBytes(4).toString('hex')}`;
  if (!NODE_ID_PATTERN.test(nodeId)) throw new ConfigError(`NODE_ID must be 1-64 of A-Z a-z 0-9 _ . -, got '${nodeId}'`);
  const nodeMaxPeers = integer(env, 'NODE_MAX_PEERS', numWorkers * PEERS_PER_WORKER, 1, 1_000_000);

  let apiKey = read(env, 'MEDIA_API_KEY');
  let apiKeySource: Config['apiKeySource'] = 'env';
  let generatedApiKeyPath: string | undefined;
  if (apiKey === undefined) {
    const dev = developmentKey(databasePath);
    apiKey = dev.key;
    apiKeySource = dev.generated ? 'generated' : 'file';
    if (dev.generated) generatedApiKeyPath = dev.path;
  } else if (apiKey.length < 16) {
    throw new ConfigError('MEDIA_API_KEY must be at least 16 characters');
  }
  const demo = demoFlag ?? apiKeySource !== 'env';

  return {
    port,
    host,
    apiKey,
    apiKeySource,
    ...(generatedApiKeyPath !== undefined && { generatedApiKeyPath }),
    databasePath,
    sessionTtlSeconds,
    recordingsDir,
    rtcMinPort,
    rtcMaxPort,
    ...(announcedIp !== undefined && { announcedIp }),
    logLevel,
    logFormat,
    numWorkers,
    ...(url !== undefined && { publicUrl: url }),
    demo,
    sourceMaps,
    maxSessions,
    ...(databaseUrl !== undefined && { databaseUrl }),
    ...(redisUrl !== undefined && { redisUrl }),
    nodeId,
    nodeMaxPeers,
    speakerDetection,
  };
}
