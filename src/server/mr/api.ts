// The one door between MA (the gateway, the HTTP API) and MR (rooms, routers, peers). MA hands MR
// validated requests of one peer and relays what MR notifies; it never touches mediasoup objects,
// and everything that crosses is plain data (requests, responses with an error body, notifications,
// counts), so this interface can be served in-process today and between nodes tomorrow.
import type { ErrorBody, NotificationData, NotificationMethod, ParsedRequest, RequestMethod, ResponseData, RtpCapabilitiesOutline } from '../../protocol/messages.js';

export type WelcomeTransports = NonNullable<NotificationData<'welcome'>['transports']>;

export type Notify = <M extends NotificationMethod>(method: M, data: NotificationData<M>) => void;

/** Requests MR answers; `ping` and `leave` are the gateway's own. */
export type PeerRequest = Exclude<ParsedRequest, { method: 'ping' | 'leave' }>;
export type PeerMethod = PeerRequest['method'];

/** MR's answer to a request: its response data, or a refusal the client is meant to read. */
export type PeerResponse<M extends RequestMethod = PeerMethod> = { ok: true; data: ResponseData<M> } | { ok: false; error: ErrorBody };

export interface OpenPeerOptions {
  roomId: string;
  userId: string;
  /** Sends a notification to this peer's client. */
  notify: Notify;
  /** MR closed the peer on its own (its router's worker died): the gateway drops the socket. */
  onClosedByServer: (reason: string) => void;
}

export interface PeerHandle {
  readonly id: string;
  readonly routerRtpCapabilities: RtpCapabilitiesOutline;
  /** The room's speaker as its clients were last told (`activeSpeaker`): a client that arrives later is told it too. */
  readonly speaker: NotificationData<'activeSpeaker'>['speaker'];
  /** Protocol 3: creates this peer's send and recv transports, as `welcome` offers them (no `createTransport`). */
  openTransports(): Promise<WelcomeTransports>;
  /** Never rejects: a failure inside MR is logged there and answered SERVER_ERROR. */
  request(request: PeerRequest): Promise<PeerResponse>;
  /** Releases everything of this peer; others see its producers close. Idempotent. */
  close(reason: string): void;
}

export interface WorkerStats {
  pid: number;
  /** Routers alive in the worker (one per open room). */
  routers: number;
  /** WebRtcTransports registered in the worker's WebRtcServer. */
  webRtcTransports: number;
  /** Every live object of the worker registers one: the finest leak detector. */
  channelRequestHandlers: number;
}

/** What MR holds now: its own maps (rooms, peers) and the workers' dumps (the rest). */
export interface MediaStats {
  rooms: number;
  peers: number;
  /** From the routers' dumps. */
  transports: number;
  producers: number;
  consumers: number;
  workers: WorkerStats[];
}

export interface MediaRouterApi {
  /** True when at least one worker can take rooms. */
  readonly ready: boolean;
  openPeer(options: OpenPeerOptions): Promise<PeerHandle>;
  stats(): Promise<MediaStats>;
  close(): void;
}
