// The inspector module, loaded lazily by the client (`inspect: true`, `client.showPanel()`,
// `client.exportTrace()`); in the browser build it is `media-infra-inspector.js`. A page can also
// import it directly to replay a trace without a client: `mountPanel({ trace })`.
export { mountPanel, type InspectorPanel, type PanelOptions } from './panel.js';
export { startStatelyInspector, type StatelyConnection } from './stately.js';
export {
  actorName,
  applyTraceEvent,
  createTrace,
  describeHealth,
  describeSpeaker,
  describeState,
  isHealthEvent,
  parseTrace,
  redact,
  stateAt,
  statePaths,
  traceToJson,
  TraceWriter,
  type ActorView,
  type HealthView,
  type SpeakerView,
  type StateShape,
  type Trace,
  type TraceEvent,
} from './trace.js';
