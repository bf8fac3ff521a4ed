// One event a line (pino). Secrets are never passed to the logger: callers log ids, method names
// and paths without query strings; `redact` is a second line of defence for field names.
// At a terminal the lines are made readable (`12:03:04 INFO  listening url=…`); elsewhere, and
// always with LOG_FORMAT=json, they are JSON for log collectors.
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import type { LogFormat, LogLevel } from './config.js';

export type { Logger };

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLORS: Record<number, string> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields every line has, shown in the line's head or not at all. */
const HEAD_FIELDS = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);

/** A JSON line from pino → `HH:MM:SS LEVEL message key=value …`. */
export function prettyLine(json: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const level = Number(entry['level']);
  const name = (LEVEL_NAMES[level] ?? String(level)).padEnd(5);
  const time = typeof entry['time'] === 'string' ? entry['time'].slice(11, 19) : '';
  const fields = Object.entries(entry)
    .filter(([k]) => !HEAD_FIELDS.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const head = color ? `\x1b[${LEVEL_COLORS[level] ?? '0'}m${name}\x1b[0m` : name;
  return [time, head, String(entry['msg'] ?? ''), ...fields].filter(Boolean).join(' ');
}

function prettyStream(out: NodeJS.WriteStream): Writable {
  let pending = '';
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line) out.write(prettyLine(line, out.isTTY === true) + '\n');
      done();
    },
  });
}

export function createLogger(level: LogLevel, format: LogFormat = 'json'): Logger {
  const options = {
    level,
    base: { service: 'media-infra' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['token', '*.token', 'authorization', '*.authorization', 'apiKey', '*.apiKey'], censor: '[redacted]' },
  };
  return format === 'pretty' ? pino(options, prettyStream(process.stdout)) : pino(options);
}
