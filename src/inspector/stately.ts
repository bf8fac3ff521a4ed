// `inspect: true`: the client's actors, live in the Stately inspector (https://stately.ai/inspect,
// opened in a new window; it needs the internet). Events are redacted on the way, like a trace.
import { createBrowserInspector } from '@statelyai/inspect';
import type { LiveSource, RecordedEvent } from '../client/inspection.js';
import { isHealthEvent, redact } from './trace.js';

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
  // call health is no actor: the Stately inspector gets the actors' events only
  const forward = ({ event }: RecordedEvent) => !isHealthEvent(event) && inspector.inspect.next?.(event);
  for (const recorded of source.recorded()) forward(recorded);
  const unsubscribe = source.subscribe(forward);
  return {
    stop() {
      unsubscribe();
      inspector.stop();
    },
  };
}
