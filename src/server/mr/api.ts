// The narrow interface between MA (the gateway) and MR (rooms, routers, peers). MA only ever hands
// MR validated requests of one peer and relays what MR notifies; it never touches mediasoup
// objects. Today it is an in-process call; the same shape can become RPC to a separate MR node.
import type { NotificationData, NotificationMethod, ParsedRequest, RtpCapabilitiesOutline } from '../../protocol/messages.js';

export type Notify = <M extends NotificationMethod>(method: M, data: NotificationData<M>) => void;

/** Requests MR answers; `ping` and `leave` are the gateway's own. */
export type PeerRequest = Exclude<ParsedRequest, { method: 'ping' | 'leave' }>;

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
  /** Resolves with the response data, or rejects with a MediaError (code for the client) or any error (SERVER_ERROR). */
  request(request: PeerRequest): Promise<unknown>;
  /** Releases everything of this peer; others see its producers close. Idempotent. */
  close(reason: string): void;
}

export interface MediaRouterApi {
  /** True when at least one worker can take rooms. */
  readonly ready: boolean;
  openPeer(options: OpenPeerOptions): Promise<PeerHandle>;
  close(): void;
}
