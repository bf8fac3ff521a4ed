// The node-to-node messages that make one room span several nodes, declared once with their
// payloads (over the Cluster, as plain JSON). Every node runs the same code, so what arrives is
// checked for its outline only; mediasoup checks RTP and SRTP parameters in depth.
//
//   broadcast  room.producerOpened   RemoteProducer & { roomId }   a producer of the sender went live
//   broadcast  room.producerPaused   { roomId, producerId }
//   broadcast  room.producerResumed  { roomId, producerId }
//   broadcast  room.producerClosed   { roomId, producerId }
//   broadcast  room.closed           { roomId }                    the sender closed its router of the room
//   request    room.producers        { roomId } → { producers: RemoteProducer[] }   the answerer's own, now
//   request    pipe.connect          { roomId } & PipeEndpoint → PipeEndpoint        both sides connect once
//   request    pipe.consume          { roomId, producerId } → PipedProducer          a pipe consumer at the answerer (video made paused, audio running)
//   send       pipe.resume           { roomId, producerId }        a consumer of the asker's video pipe producer wants media: resume the pipe consumer
//   send       pipe.pause            { roomId, producerId }        none does any more: pause it
//   send       pipe.release          { roomId, producerId }        the asker does not want the pipe producer it asked for: close the pipe consumer
import * as v from 'valibot';
import type { types as ms } from 'mediasoup';
import { AppData, MediaKind, RtpParametersOutline } from '../../protocol/media.js';
import type { ClusterMessage } from '../cluster/cluster.js';

export const RoomMessage = {
  producerOpened: 'room.producerOpened',
  producerPaused: 'room.producerPaused',
  producerResumed: 'room.producerResumed',
  producerClosed: 'room.producerClosed',
  closed: 'room.closed',
} as const;

export const RoomRequest = {
  producers: 'room.producers',
  pipeConnect: 'pipe.connect',
  pipeConsume: 'pipe.consume',
} as const;

export const PIPE_RELEASE = 'pipe.release';
export const PIPE_RESUME = 'pipe.resume';
export const PIPE_PAUSE = 'pipe.pause';

const Id = v.pipe(v.string(), v.minLength(1), v.maxLength(128));

/** A producer as the other nodes of its room know it: enough to announce it and to pipe it. */
export const RemoteProducer = v.object({
  producerId: Id,
  /** Its owner's user id: what local listeners are told in `newConsumer`. */
  userId: v.string(),
  kind: MediaKind,
  paused: v.boolean(),
  appData: AppData,
});
export type RemoteProducer = v.InferOutput<typeof RemoteProducer>;

export const RoomRef = v.object({ roomId: Id });
export const ProducerRef = v.object({ roomId: Id, producerId: Id });
export const ProducerOpened = v.object({ roomId: Id, ...RemoteProducer.entries });
export const ProducersAnswer = v.object({ producers: v.array(RemoteProducer) });

/** One side of a PipeTransport pair: where it listens and its SRTP key. */
export const PipeEndpoint = v.object({
  ip: v.string(),
  port: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(65535)),
  srtpParameters: v.looseObject({ cryptoSuite: v.string(), keyBase64: v.string() }),
});
export type PipeEndpoint = v.InferOutput<typeof PipeEndpoint>;
export const PipeConnect = v.object({ roomId: Id, ...PipeEndpoint.entries });

/** What the asking node needs to create its pipe producer: the pipe consumer's side of the stream. */
export const PipedProducer = v.object({ kind: MediaKind, rtpParameters: RtpParametersOutline, paused: v.boolean() });
export type PipedProducer = v.InferOutput<typeof PipedProducer>;

/** A message's payload checked against `schema` (throws a ValiError the dispatcher logs). */
export function read<S extends v.GenericSchema>(schema: S, message: ClusterMessage | unknown): v.InferOutput<S> {
  return v.parse(schema, message);
}

export const toSrtp = (endpoint: PipeEndpoint): ms.SrtpParameters => endpoint.srtpParameters as ms.SrtpParameters;
export const toRtpParameters = (piped: PipedProducer): ms.RtpParameters => piped.rtpParameters as unknown as ms.RtpParameters;
