// The built-in state panel: works offline, in any page that opts in (`client.showPanel()`).
//
//   live     the client's actor tree, each actor's current state (highlighted on its state
//            diagram when selected), the recent events with their payloads (redacted)
//   replay   a trace (`client.exportTrace()`, or the panel's Export button) loaded from a file,
//            stepped through event by event, every actor's state shown at each step
//
// Rows carry data attributes for tools and tests: `[data-actor]`, `[data-state]`, `[data-status]`.
//
// Its parts: the elements (panelDom.ts, panelStyle.ts), what it shows (panelState.ts), drawing that
// (panelRender.ts, actorTree.ts, stateDiagram.ts) and its controls (panelControls.ts).
import type { LiveSource } from '../client/inspection.js';
import { actorTree } from './actorTree.js';
import { wireControls } from './panelControls.js';
import { buildPanelDom } from './panelDom.js';
import { renderPanel } from './panelRender.js';
import { followLive, PanelState } from './panelState.js';
import { installStyle } from './panelStyle.js';
import type { ActorView, Trace } from './trace.js';

export interface PanelOptions {
  /** Where the panel goes; by default it floats on the right of the page. */
  container?: HTMLElement;
  /** A live client (what `client.showPanel()` passes). */
  live?: LiveSource;
  /** A trace to replay at once. */
  trace?: Trace | string;
}

export interface InspectorPanel {
  readonly element: HTMLElement;
  readonly mode: 'live' | 'replay';
  /** Replays a trace (an object or a file's text). */
  loadTrace(trace: Trace | string): void;
  /** In replay: shows the state right after trace event `index` (clamped). */
  step(index: number): void;
  /** Back to the live client (when there is one). */
  live(): void;
  /** What is shown now: the live session's trace so far, or the trace being replayed. */
  trace(): Trace;
  /** The actors as shown now. */
  actors(): ActorView[];
  close(): void;
}

export function mountPanel(options: PanelOptions = {}): InspectorPanel {
  installStyle();
  const dom = buildPanelDom(!options.container);
  (options.container ?? document.body).append(dom.root);
  const state = new PanelState(options.live);
  const render = (): void => renderPanel(dom, state);
  // live events come in bursts: one render for each burst
  const later = renderLater(render, 30);
  const unsubscribe = options.live && followLive(options.live, state, later.schedule);
  const panel: InspectorPanel = {
    element: dom.root,
    get mode() {
      return state.mode;
    },
    loadTrace(input) {
      state.loadTrace(input);
      render();
    },
    step(index) {
      state.goTo(index);
      render();
    },
    live() {
      if (state.goLive()) render();
    },
    trace: () => state.trace(),
    actors: () => actorTree(state.actors()).map((row) => row.actor),
    close() {
      unsubscribe?.();
      later.cancel();
      dom.root.remove();
    },
  };
  wireControls(dom, panel, state, render);
  if (options.trace !== undefined) panel.loadTrace(options.trace);
  else render();
  return panel;
}

/** Calls `render` once, `ms` after the first of any number of `schedule()` calls. */
function renderLater(render: () => void, ms: number): { schedule(): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    schedule() {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        render();
      }, ms);
    },
    cancel() {
      if (timer !== undefined) clearTimeout(timer);
    },
  };
}
