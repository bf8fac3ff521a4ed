// The client's logging: named loggers (`[media-infra:signaling] …`, like LiveKit's
// `getLogger('room')`), filtered by one level per client. The default, 'warn', keeps warnings on the
// console; 'debug' adds the signaling flow (method, request id, outcome, milliseconds) and the
// client's state changes and reconnection attempts. Callers pass names, ids, codes and times only:
// never a message's data, an SDP or the token.

/**
 * The least severe level a client writes (`'silent'`: nothing). Default `'warn'`; `'debug'` adds
 * the signaling flow, state changes and reconnection attempts.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
type Method = Exclude<LogLevel, 'silent'>;

/** Where lines go (default: the console). A level the sink has no method for is dropped. */
export type LogSink = Partial<Record<Method, (...args: unknown[]) => void>>;

/** One named logger; the level decides which of its methods write. */
export type Logger = Record<Method, (...args: unknown[]) => void>;

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** The named loggers of one client: `loggers('signaling').debug('join #3 ok in 12 ms')`. */
export function createLoggers(level: LogLevel = 'warn', sink: LogSink = console): (name: string) => Logger {
  const min = LEVELS.indexOf(level) < 0 ? LEVELS.indexOf('warn') : LEVELS.indexOf(level);
  return (name) => {
    const prefix = `[media-infra:${name}]`;
    const at = (method: Method) => (LEVELS.indexOf(method) < min ? () => {} : (...args: unknown[]) => sink[method]?.(prefix, ...args));
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  };
}
