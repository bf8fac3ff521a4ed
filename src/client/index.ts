// media-infra browser client: the public entry point.
export { createMediaClient, MediaInfraClient } from './MediaInfraClient.js';
export { ProduceManager } from './ProduceManager.js';
export type { ProduceManagerEvents, ProducerState } from './ProduceManager.js';
export { ConsumeManager } from './ConsumeManager.js';
export type { ConsumeManagerEvents, ConsumerState } from './ConsumeManager.js';
export { MediaInfraError, ErrorCode } from './MediaInfraError.js';
export { defaults } from './defaults.js';
export { backoffPolicy } from './ReconnectPolicy.js';
export type { BackoffOptions, ReconnectPolicy } from './ReconnectPolicy.js';
export type { ClientState, CloseReason, MediaClientOptions, MediaInfraClientEvents, ProduceOptions } from './types.js';
export type { Recording } from '../../machines/producerMachine.js';
export type { WebSocketFactory, WebSocketLike } from './MediaSignalingService.js';
export type { LogLevel, LogSink } from './logger.js';
export type { ClientStats, ConsumerStats, ProducerStats, ServerStreamStats } from './callStats.js';
export type { ConnectionQuality } from './connectionQuality.js';
export { qualityThresholds } from './connectionQuality.js';
export type { ActiveSpeaker } from './callHealth.js';
