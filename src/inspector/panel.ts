// The built-in state panel: works offline, in any page that opts in (`client.showPanel()`).
//
//   live     the client's actor tree, each actor's current state (highlighted on its state
//            diagram when selected), the recent events with their payloads (redacted)
//   replay   a trace (`client.exportTrace()`, or the panel's Export button) loaded from a file,
//            stepped through event by event, every actor's state shown at each step
//
// Rows carry data attributes for tools and tests: `[data-actor]`, `[data-state]`, `[data-status]`.
import type { LiveSource } from '../client/inspection.js';
import {
  describeState,
  parseTrace,
  stateAt,
  statePaths,
  TRACE_FORMAT,
  TRACE_VERSION,
  TraceWriter,
  traceToJson,
  applyTraceEvent,
  type ActorView,
  type StateShape,
  type Trace,
  type TraceEvent,
} from './trace.js';

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

const STYLE = `
.mi-panel{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:#ddd;background:#15171c;border-left:1px solid #333;display:flex;flex-direction:column;box-sizing:border-box;overflow:hidden}
.mi-panel.mi-floating{position:fixed;top:0;right:0;width:min(480px,100vw);height:100vh;z-index:2147483000;box-shadow:-4px 0 16px #0008}
.mi-panel *{box-sizing:border-box}
.mi-panel header{display:flex;gap:4px;align-items:center;padding:6px 8px;background:#1e2129;border-bottom:1px solid #333;flex-wrap:wrap}
.mi-panel header strong{margin-right:auto;font-size:12px;color:#fff}
.mi-panel button,.mi-panel label.mi-load{font:inherit;background:#2a2f3a;color:#ddd;border:1px solid #444;border-radius:3px;padding:2px 7px;cursor:pointer}
.mi-panel button[aria-pressed=true]{background:#3b6ea8;color:#fff;border-color:#3b6ea8}
.mi-panel button:disabled{opacity:.4;cursor:default}
.mi-panel .mi-replay{display:none;gap:4px;align-items:center;padding:6px 8px;border-bottom:1px solid #333;flex-wrap:wrap}
.mi-panel[data-mode=replay] .mi-replay{display:flex}
.mi-panel .mi-replay input[type=range]{flex:1;min-width:120px}
.mi-panel .mi-step{width:100%;color:#9ab}
.mi-panel section{padding:6px 8px;border-bottom:1px solid #2a2a2a;overflow:auto}
.mi-panel h3{margin:0 0 4px;font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:#889}
.mi-panel .mi-actors{flex:0 0 auto;max-height:34vh}
.mi-panel .mi-diagram{flex:0 0 auto;max-height:30vh}
.mi-panel .mi-events{flex:1 1 auto;min-height:80px}
.mi-panel .mi-actor{display:flex;gap:8px;padding:1px 4px;border-radius:3px;cursor:pointer;white-space:nowrap}
.mi-panel .mi-actor:hover{background:#222733}
.mi-panel .mi-actor[aria-selected=true]{background:#263349}
.mi-panel .mi-actor .mi-name{color:#8cf;flex:0 0 auto}
.mi-panel .mi-actor .mi-state{color:#dfd;overflow:hidden;text-overflow:ellipsis}
.mi-panel .mi-actor[data-status=stopped],.mi-panel .mi-actor[data-status=done],.mi-panel .mi-actor[data-status=error]{opacity:.5}
.mi-panel .mi-actor.mi-changed .mi-state{color:#ff6}
.mi-panel .mi-node{border:1px solid #3a3f4b;border-radius:5px;padding:2px 5px;margin:2px;display:inline-flex;flex-direction:column;vertical-align:top;color:#99a}
.mi-panel .mi-node>.mi-children{display:flex;flex-wrap:wrap}
.mi-panel .mi-node.mi-parallel>.mi-children>.mi-node{border-style:dashed}
.mi-panel .mi-node.mi-final>.mi-label::after{content:" ◉"}
.mi-panel .mi-node.mi-active{border-color:#4caf50;color:#fff;background:#1d2b1f}
.mi-panel .mi-node.mi-active>.mi-label{font-weight:bold;color:#8f8}
.mi-panel .mi-event{white-space:pre-wrap;word-break:break-all;padding:2px 0;border-bottom:1px dotted #2a2a2a}
.mi-panel .mi-event.mi-current{background:#3a3320}
.mi-panel .mi-event .mi-type{color:#fc6}
.mi-panel .mi-event .mi-payload{color:#889}
`;

const ENDED = new Set(['stopped', 'done', 'error']);
const RECENT = 40;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function payloadText(e: TraceEvent): string {
  if (e.kind !== 'event') return '';
  const { type: _type, ...rest } = (e.event ?? {}) as Record<string, unknown>;
  const text = Object.keys(rest).length ? JSON.stringify(rest) : '';
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function eventType(e: TraceEvent): string {
  return e.kind === 'event' ? String((e.event as { type?: unknown } | null)?.type ?? '') : '';
}

export function mountPanel(options: PanelOptions = {}): InspectorPanel {
  if (!document.getElementById('mi-panel-style')) {
    const style = el('style', { id: 'mi-panel-style' }, STYLE);
    document.head.append(style);
  }
  const root = el('aside', { class: 'mi-panel', 'aria-label': 'media-infra state panel', 'data-mode': 'live' });
  if (!options.container) root.classList.add('mi-floating');

  // header
  const header = el('header');
  header.append(el('strong', {}, 'media-infra state'));
  const liveBtn = el('button', { type: 'button', 'data-action': 'live', 'aria-pressed': 'true' }, 'Live');
  const exportBtn = el('button', { type: 'button', 'data-action': 'export', title: 'Save the session as a redacted JSON trace' }, 'Export');
  const loadLabel = el('label', { class: 'mi-load', title: 'Replay a trace file' }, 'Load…');
  const fileInput = el('input', { type: 'file', accept: '.json,application/json', hidden: '', 'data-action': 'load' });
  loadLabel.append(fileInput);
  const closeBtn = el('button', { type: 'button', 'data-action': 'close', 'aria-label': 'Close the panel' }, '×');
  header.append(liveBtn, exportBtn, loadLabel, closeBtn);

  // replay controls
  const replayBar = el('div', { class: 'mi-replay' });
  const first = el('button', { type: 'button', 'data-action': 'first', 'aria-label': 'First step' }, '⏮');
  const prev = el('button', { type: 'button', 'data-action': 'prev', 'aria-label': 'Previous step' }, '◀');
  const slider = el('input', { type: 'range', min: '0', max: '0', value: '0', 'aria-label': 'Step' });
  const next = el('button', { type: 'button', 'data-action': 'next', 'aria-label': 'Next step' }, '▶');
  const last = el('button', { type: 'button', 'data-action': 'last', 'aria-label': 'Last step' }, '⏭');
  const stepLabel = el('div', { class: 'mi-step', 'data-step': '' });
  replayBar.append(first, prev, slider, next, last, stepLabel);

  const actorsSection = el('section', { class: 'mi-actors' });
  actorsSection.append(el('h3', {}, 'Actors'));
  const actorList = el('div', { role: 'listbox', 'aria-label': 'Actors' });
  actorsSection.append(actorList);
  const diagramSection = el('section', { class: 'mi-diagram' });
  const diagramTitle = el('h3', {}, 'State diagram');
  const diagram = el('div', { 'data-diagram': '' });
  diagramSection.append(diagramTitle, diagram);
  const eventsSection = el('section', { class: 'mi-events' });
  eventsSection.append(el('h3', {}, 'Recent events (redacted)'));
  const eventList = el('div', { 'data-events': '' });
  eventsSection.append(eventList);
  root.append(header, replayBar, actorsSection, diagramSection, eventsSection);
  (options.container ?? document.body).append(root);

  // ---- state
  const liveSource = options.live;
  let writer: TraceWriter | undefined;
  let liveActors = new Map<string, ActorView>();
  let unsubscribe: (() => void) | undefined;
  let mode: 'live' | 'replay' = 'live';
  let replay: Trace | undefined;
  let step = 0;
  let selected: string | undefined;
  let renderTimer: ReturnType<typeof setTimeout> | undefined;
  const pending: Parameters<TraceWriter['add']>[0][] = [];

  if (liveSource) {
    writer = new TraceWriter(liveSource.secrets);
    for (const recorded of liveSource.recorded()) ingest(writer.add(recorded));
    // an actor gets its systemId right after its creation is inspected: read names a bit later
    unsubscribe = liveSource.subscribe((recorded) => {
      pending.push(recorded);
      if (pending.length === 1) queueMicrotask(drain);
    });
  } else {
    liveBtn.disabled = true;
  }

  function drain(): void {
    for (const recorded of pending.splice(0)) ingest(writer!.add(recorded));
    scheduleRender();
  }

  function ingest(e: TraceEvent | undefined): void {
    if (e) liveActors = applyTraceEvent(liveActors, e);
  }

  function liveTrace(): Trace {
    return {
      format: TRACE_FORMAT,
      version: TRACE_VERSION,
      createdAt: new Date().toISOString(),
      redacted: true,
      dropped: liveSource?.dropped ?? 0,
      machines: { ...(writer?.machines ?? {}) },
      events: [...(writer?.events ?? [])],
    };
  }

  function currentTrace(): Trace {
    return mode === 'replay' && replay ? replay : liveTrace();
  }

  function currentActors(): Map<string, ActorView> {
    return mode === 'replay' && replay ? stateAt(replay, step) : liveActors;
  }

  function scheduleRender(): void {
    if (renderTimer !== undefined) return;
    renderTimer = setTimeout(() => {
      renderTimer = undefined;
      render();
    }, 30);
  }

  // ---- rendering
  function visible(actors: Map<string, ActorView>): ActorView[] {
    // ended helper actors (a finished request, an old socket) would only clutter the tree
    const shown = [...actors.values()].filter((a) => a.machine || !ENDED.has(a.status));
    const byParent = new Map<string | undefined, ActorView[]>();
    const names = new Set(shown.map((a) => a.name));
    for (const a of shown) {
      const parent = a.parent && names.has(a.parent) ? a.parent : undefined;
      byParent.set(parent, [...(byParent.get(parent) ?? []), a]);
    }
    const out: ActorView[] = [];
    const walk = (parent: string | undefined, depth: number) => {
      for (const a of byParent.get(parent) ?? []) {
        depthOf.set(a.name, depth);
        out.push(a);
        walk(a.name, depth + 1);
      }
    };
    const depthOf = new Map<string, number>();
    walk(undefined, 0);
    depths = depthOf;
    return out;
  }
  let depths = new Map<string, number>();

  function render(): void {
    root.dataset.mode = mode;
    liveBtn.setAttribute('aria-pressed', String(mode === 'live'));
    const actors = currentActors();
    const trace = mode === 'replay' ? replay : undefined;
    const changedSeq = trace ? trace.events[step]?.seq : undefined;

    // actor tree
    const rows = visible(actors).map((a) => {
      const row = el('div', {
        class: 'mi-actor',
        role: 'option',
        'data-actor': a.name,
        'data-status': a.status,
        'data-state': statePaths(a.value).join(' '),
        'aria-selected': String(a.name === selected),
        title: a.machine ? `${a.machine} machine` : 'actor',
      });
      if (changedSeq !== undefined && a.changedAt === changedSeq) row.classList.add('mi-changed');
      row.style.paddingLeft = `${4 + 14 * (depths.get(a.name) ?? 0)}px`;
      row.append(el('span', { class: 'mi-name' }, a.name), el('span', { class: 'mi-state' }, describeState(a)));
      row.addEventListener('click', () => {
        selected = a.name;
        render();
      });
      return row;
    });
    actorList.replaceChildren(...rows);

    // the selected actor's diagram (the root by default)
    const chosen = (selected && actors.get(selected)) || actors.get('client') || [...actors.values()][0];
    const shape = chosen?.machine ? (trace ?? liveTrace()).machines[chosen.machine] : undefined;
    diagramTitle.textContent = chosen ? `State diagram: ${chosen.name}${chosen.machine ? ` (${chosen.machine})` : ''}` : 'State diagram';
    diagram.replaceChildren(...(shape && chosen ? [drawShape(shape, activeSet(chosen), '')] : [el('span', {}, chosen ? describeState(chosen) : '—')]));
    diagram.dataset.diagramActor = chosen?.name ?? '';

    // events
    const all = trace ? trace.events.slice(0, step + 1) : writer?.events ?? [];
    // xstate's own promise settlements repeat what `xstate.done.actor.*` says: left out here
    const recent = all.filter((e) => e.kind === 'event' && !eventType(e).startsWith('xstate.promise.')).slice(-RECENT).reverse();
    eventList.replaceChildren(
      ...recent.map((e) => {
        const item = el('div', { class: 'mi-event', 'data-seq': String(e.seq) });
        if (e.seq === changedSeq) item.classList.add('mi-current');
        const source = e.kind === 'event' && e.source ? `${e.source} → ` : '';
        item.append(
          el('span', {}, `+${(e.t / 1000).toFixed(3)}s ${source}${e.actor} `),
          el('span', { class: 'mi-type' }, eventType(e)),
          el('span', { class: 'mi-payload' }, ` ${payloadText(e)}`),
        );
        return item;
      }),
    );

    // replay bar
    if (trace) {
      slider.max = String(Math.max(0, trace.events.length - 1));
      slider.value = String(step);
      const e = trace.events[step];
      const what = !e ? '' : e.kind === 'event' ? `${e.source ? `${e.source} → ` : ''}${e.actor}: ${eventType(e)}` : e.kind === 'actor' ? `${e.actor} created` : `${e.actor} → ${statePaths(e.value).join(', ') || e.status}`;
      stepLabel.textContent = `step ${step + 1} / ${trace.events.length} · +${((e?.t ?? 0) / 1000).toFixed(3)}s · ${what}`;
      stepLabel.dataset.step = String(step);
      first.disabled = prev.disabled = step <= 0;
      next.disabled = last.disabled = step >= trace.events.length - 1;
    }
  }

  function activeSet(view: ActorView): Set<string> {
    const out = new Set<string>();
    for (const path of statePaths(view.value)) {
      const parts = path.split('.');
      for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join('.'));
    }
    return out;
  }

  function drawShape(shape: StateShape, active: Set<string>, path: string): HTMLElement {
    const box = el('div', { class: `mi-node mi-${shape.type}`, 'data-node': path || '(root)' });
    if (path && active.has(path)) box.classList.add('mi-active');
    box.append(el('span', { class: 'mi-label' }, path ? shape.key : `${shape.key} (machine)`));
    if (shape.states?.length) {
      const children = el('div', { class: 'mi-children' });
      for (const child of shape.states) children.append(drawShape(child, active, path ? `${path}.${child.key}` : child.key));
      box.append(children);
    }
    return box;
  }

  // ---- controls
  const panel: InspectorPanel = {
    element: root,
    get mode() {
      return mode;
    },
    loadTrace(input) {
      replay = parseTrace(input);
      mode = 'replay';
      step = 0;
      selected = undefined;
      render();
    },
    step(index) {
      if (!replay) throw new Error('no trace loaded');
      step = Math.max(0, Math.min(index, replay.events.length - 1));
      render();
    },
    live() {
      if (!liveSource) return;
      mode = 'live';
      render();
    },
    trace: currentTrace,
    actors: () => visible(currentActors()),
    close() {
      unsubscribe?.();
      if (renderTimer !== undefined) clearTimeout(renderTimer);
      root.remove();
    },
  };

  liveBtn.addEventListener('click', () => panel.live());
  closeBtn.addEventListener('click', () => panel.close());
  first.addEventListener('click', () => panel.step(0));
  prev.addEventListener('click', () => panel.step(step - 1));
  next.addEventListener('click', () => panel.step(step + 1));
  last.addEventListener('click', () => panel.step(Number.MAX_SAFE_INTEGER));
  slider.addEventListener('input', () => panel.step(Number(slider.value)));
  exportBtn.addEventListener('click', () => {
    const text = traceToJson(currentTrace(), liveSource?.secrets ?? []);
    const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
    const a = el('a', { href: url, download: `media-infra-trace-${new Date().toISOString().replace(/[:.]/g, '-')}.json` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1_000);
  });
  fileInput.addEventListener('change', async () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    try {
      panel.loadTrace(await file.text());
    } catch (error) {
      stepLabel.textContent = `could not load ${file.name}: ${error instanceof Error ? error.message : String(error)}`;
    }
    fileInput.value = '';
  });

  if (options.trace !== undefined) panel.loadTrace(options.trace);
  else render();
  return panel;
}
