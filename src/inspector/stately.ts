// `inspect: true`: the client's actors, live in the Stately inspector (https://stately.ai/inspect,
// opened in a new window; it needs the internet). Events are redacted on the way, like a trace.
import { createBrowserInspector } from '@statelyai/inspect';
import type { LiveSource } from '../client/inspection.js';
import { redact } from './trace.js';

export interface StatelyConnection {
  stop(): void;
}

export function startStatelyInspector(source: LiveSource, options: { url?: string; iframe?: HTMLIFrameElement | null } = {}): StatelyConnection {
  if (typeof window === 'undefined') throw new Error('the Stately inspector needs a browser window (inspect: true); pass a function instead');
  const inspector = createBrowserInspector({
    ...options,
    sanitizeContext: (context: unknown) => (redact(context, source.secrets) ?? {}) as Record<string, unknown>,
    sanitizeEvent: (event: unknown) => redact(event, source.secrets) as { type: string },
  });
  for (const { event } of source.recorded()) inspector.inspect.next?.(event);
  const unsubscribe = source.subscribe(({ event }) => inspector.inspect.next?.(event));
  return {
    stop() {
      unsubscribe();
      inspector.stop();
    },
  };
}
