// From the panel's state to its DOM, after every change: lists are rebuilt, not patched.
import { actorTree, type TreeRow } from './actorTree.js';
import { el, type PanelDom } from './panelDom.js';
import type { PanelState } from './panelState.js';
import { renderDiagram } from './stateDiagram.js';
import { describeHealth, describeSpeaker, describeState, statePaths, type HealthView, type Trace, type TraceEvent } from './trace.js';

const RECENT = 40;

export function renderPanel(dom: PanelDom, state: PanelState): void {
  dom.root.dataset.mode = state.mode;
  dom.liveBtn.setAttribute('aria-pressed', String(state.mode === 'live'));
  const actors = state.actors();
  const changedSeq = state.changedSeq();
  const root = actors.get('client') ?? [...actors.values()].find((a) => a.parent === undefined);
  renderSpeaker(dom.speaker, root?.health);
  dom.actorList.replaceChildren(...actorTree(actors).map((row) => actorRow(row, state.selected, changedSeq)));
  // the selected actor's diagram (the root by default)
  const chosen = (state.selected && actors.get(state.selected)) || actors.get('client') || [...actors.values()][0];
  renderDiagram(dom, chosen, state.machines());
  renderEvents(dom.eventList, state.events(), changedSeq);
  const replay = state.replaying;
  if (replay) renderReplayBar(dom, replay, state.step);
}

/** A row of the actor tree; clicking it selects the actor (see panelControls.ts). */
function actorRow({ actor: a, depth }: TreeRow, selected: string | undefined, changedSeq: number | undefined): HTMLElement {
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
  row.style.paddingLeft = `${4 + 14 * depth}px`;
  row.append(el('span', { class: 'mi-name' }, a.name), el('span', { class: 'mi-state' }, describeState(a)));
  if (a.health) {
    // its latest call health beside its state; the figures as attributes too, for tools and tests
    for (const [key, name] of HEALTH_ATTRIBUTES) {
      const value = a.health[key];
      if (typeof value === 'number' || typeof value === 'string') row.setAttribute(`data-${name}`, String(value));
    }
    row.append(el('span', { class: 'mi-health' }, describeHealth(a.health)));
  }
  return row;
}

const HEALTH_ATTRIBUTES: ReadonlyArray<[keyof HealthView, string]> = [
  ['score', 'score'],
  ['bitrateBps', 'bitrate'],
  ['framesPerSecond', 'fps'],
  ['lossFraction', 'loss'],
  ['quality', 'quality'],
];

/** `speaking: alice (producer.1)`; `[data-speaker]` is the user id, empty when nobody speaks. */
function renderSpeaker(line: HTMLElement, health: HealthView | undefined): void {
  const speaker = health?.speaker;
  line.dataset.speaker = speaker?.userId ?? '';
  if (speaker?.actor) line.dataset.speakerActor = speaker.actor;
  else delete line.dataset.speakerActor;
  line.textContent = `speaking: ${describeSpeaker(speaker)}`;
}

function renderEvents(list: HTMLElement, all: readonly TraceEvent[], changedSeq: number | undefined): void {
  // xstate's own promise settlements repeat what `xstate.done.actor.*` says: left out here
  const recent = all.filter((e) => e.kind === 'event' && !eventType(e).startsWith('xstate.promise.')).slice(-RECENT).reverse();
  list.replaceChildren(...recent.map((e) => eventRow(e, changedSeq)));
}

function eventRow(e: TraceEvent, changedSeq: number | undefined): HTMLElement {
  const item = el('div', { class: 'mi-event', 'data-seq': String(e.seq) });
  if (e.seq === changedSeq) item.classList.add('mi-current');
  item.append(
    el('span', {}, `${elapsed(e.t)} ${sentBy(e)}${e.actor} `),
    el('span', { class: 'mi-type' }, eventType(e)),
    el('span', { class: 'mi-payload' }, ` ${payloadText(e)}`),
  );
  return item;
}

function renderReplayBar(dom: PanelDom, trace: Trace, step: number): void {
  dom.slider.max = String(Math.max(0, trace.events.length - 1));
  dom.slider.value = String(step);
  const e = trace.events[step];
  dom.stepLabel.textContent = `step ${step + 1} / ${trace.events.length} · ${elapsed(e?.t ?? 0)} · ${stepText(e)}`;
  dom.stepLabel.dataset.step = String(step);
  dom.first.disabled = dom.prev.disabled = step <= 0;
  dom.next.disabled = dom.last.disabled = step >= trace.events.length - 1;
}

/** What the trace event at the step did. */
function stepText(e: TraceEvent | undefined): string {
  if (!e) return '';
  if (e.kind === 'event') return `${sentBy(e)}${e.actor}: ${eventType(e)}`;
  if (e.kind === 'actor') return `${e.actor} created`;
  if (e.kind === 'health') return `${e.actor}: ${e.health.speaker !== undefined ? `speaking: ${describeSpeaker(e.health.speaker)}` : describeHealth(e.health)}`;
  return `${e.actor} → ${statePaths(e.value).join(', ') || e.status}`;
}

function elapsed(ms: number): string {
  return `+${(ms / 1000).toFixed(3)}s`;
}

function sentBy(e: TraceEvent): string {
  return e.kind === 'event' && e.source ? `${e.source} → ` : '';
}

function eventType(e: TraceEvent): string {
  return e.kind === 'event' ? String((e.event as { type?: unknown } | null)?.type ?? '') : '';
}

function payloadText(e: TraceEvent): string {
  if (e.kind !== 'event') return '';
  const { type: _type, ...rest } = (e.event ?? {}) as Record<string, unknown>;
  const text = Object.keys(rest).length ? JSON.stringify(rest) : '';
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}
