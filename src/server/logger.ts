// One JSON line per event (pino). Secrets are never passed to the logger: callers log ids, method
// names and paths without query strings; `redact` is a second line of defence for field names.
import pino, { type Logger } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: { service: 'media-infra' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['token', '*.token', 'authorization', '*.authorization', 'apiKey', '*.apiKey'], censor: '[redacted]' },
  });
}
