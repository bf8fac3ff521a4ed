// The machines' named side effects, implemented with the signaling service and the device.
// This is the only place where machines meet the network and mediasoup-client.
import { fromCallback, fromPromise, type EventObject } from 'xstate';
import { clientMachine } from '../../machines/clientMachine.js';
import { consumerMachine, type ConsumerInput } from '../../machines/consumerMachine.js';
import { deviceMachine } from '../../machines/deviceMachine.js';
import { producerMachine, type Recording } from '../../machines/producerMachine.js';
import { signalingMachine, type SocketEvent } from '../../machines/signalingMachine.js';
import { transportMachine, type TransportConnectionState, type TransportDirection } from '../../machines/transportMachine.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import type { MediaDevice } from './MediaDevice.js';
import type { MediaSignalingService } from './MediaSignalingService.js';
import type { ReconnectPolicy } from './ReconnectPolicy.js';

export interface ImplementationDeps {
  signaling: MediaSignalingService;
  device: MediaDevice;
  policy: ReconnectPolicy;
  pingTimeout: number;
  logger: { warn(...args: unknown[]): void };
}

/** The client machine with every actor, action and delay provided. */
export function provideClientMachine({ signaling, device, policy, pingTimeout, logger }: ImplementationDeps): typeof clientMachine {
  const socket = fromCallback<EventObject>(({ sendBack }) => {
    const send = (event: SocketEvent) => sendBack(event);
    const connection = signaling.open({
      opened: () => send({ type: 'socket.opened' }),
      notified: (notification) => {
        if (notification.method === 'welcome' && notification.data.protocolVersion !== PROTOCOL_VERSION) {
          logger.warn(`[media-infra] the server speaks protocol ${notification.data.protocolVersion}, this client ${PROTOCOL_VERSION}`);
        }
        send({ type: 'socket.notified', method: notification.method, data: notification.data } as SocketEvent);
      },
      closed: (code, reason) => send({ type: 'socket.closed', code, reason }),
    });
    return () => connection.close(1000, 'client');
  });

  const signalingLogic = signalingMachine.provide({
    actors: {
      socket,
      ping: fromPromise(async () => {
        await signaling.request('ping', {}, { timeout: pingTimeout });
      }),
      leave: fromPromise(async () => {
        await signaling.request('leave', {});
      }),
    },
  });

  const deviceLogic = deviceMachine.provide({
    actors: {
      loadDevice: fromPromise(async ({ input }: { input: { routerRtpCapabilities: Record<string, unknown> } }) => {
        await device.load(input.routerRtpCapabilities);
      }),
    },
  });

  const transportLogic = transportMachine.provide({
    actors: {
      createTransport: fromPromise(async ({ input }: { input: { direction: TransportDirection } }) => ({
        transportId: await device.createTransport(input.direction),
      })),
      connectTransport: fromPromise(async ({ input }: { input: { direction: TransportDirection; transportId: string } }) => {
        await device.connectTransport(input.direction);
      }),
      restartIce: fromPromise(async ({ input }: { input: { direction: TransportDirection; transportId: string } }) => {
        await device.restartIce(input.direction);
      }),
      watchTransport: fromCallback<EventObject, { direction: TransportDirection }>(({ sendBack, input }) =>
        device.watchTransport(input.direction, {
          connectRequested: () => sendBack({ type: 'transport.connectRequested' }),
          stateChanged: (state) => sendBack({ type: 'transport.stateChanged', state: state as TransportConnectionState }),
        }),
      ),
    },
    actions: {
      closeTransport: ({ context }) => device.closeTransport(context.direction),
    },
  });

  const producerLogic = producerMachine.provide({
    actors: {
      produce: fromPromise(
        async ({
          input,
          signal,
        }: {
          input: { track: unknown; kind: 'audio' | 'video'; appData: Record<string, unknown>; paused: boolean };
          signal: AbortSignal;
        }) => {
          const producerId = await device.produce({ ...input, track: input.track as MediaStreamTrack });
          if (signal.aborted) {
            // Closed while producing: do not leave a producer behind.
            await device.closeProducer(producerId).catch(() => undefined);
          }
          return { producerId };
        },
      ),
      pauseProducer: fromPromise(async ({ input }: { input: { producerId: string } }) => device.pauseProducer(input.producerId)),
      resumeProducer: fromPromise(async ({ input }: { input: { producerId: string } }) => device.resumeProducer(input.producerId)),
      closeProducer: fromPromise(async ({ input }: { input: { producerId: string | undefined } }) => device.closeProducer(input.producerId)),
      startRecord: fromPromise(async ({ input }: { input: { producerId: string } }) => {
        const { recordingId } = await signaling.request('startRecord', { producerId: input.producerId });
        return { recordingId };
      }),
      stopRecord: fromPromise(async ({ input }: { input: { producerId: string } }): Promise<Recording> => {
        const { id, path } = await signaling.request('stopRecord', { producerId: input.producerId });
        return { id, path };
      }),
    },
    actions: {
      releaseProducer: (_, params) => device.releaseProducer(params.producerId),
    },
  });

  const consumerLogic = consumerMachine.provide({
    actors: {
      consume: fromPromise(async ({ input, signal }: { input: ConsumerInput; signal: AbortSignal }) => {
        try {
          await device.consume({ ...input, rtpParameters: input.rtpParameters as never });
        } finally {
          // Closed while being created: do not leave a local consumer behind.
          if (signal.aborted) device.releaseConsumer(input.id);
        }
      }),
      pauseConsumer: fromPromise(async ({ input }: { input: { consumerId: string } }) => device.pauseConsumer(input.consumerId)),
      resumeConsumer: fromPromise(async ({ input }: { input: { consumerId: string } }) => device.resumeConsumer(input.consumerId)),
    },
    actions: {
      releaseConsumer: (_, params) => device.releaseConsumer(params.consumerId),
    },
  });

  return clientMachine.provide({
    actors: {
      signaling: signalingLogic,
      device: deviceLogic,
      transport: transportLogic,
      producer: producerLogic,
      consumer: consumerLogic,
      join: fromPromise(async () => {
        await signaling.request('join', { rtpCapabilities: device.rtpCapabilities as never });
      }),
      listen: fromPromise(async () => {
        await signaling.request('listen', {});
      }),
    },
    delays: {
      backoff: ({ context }) => policy.delay(context.attempt),
    },
  });
}

export type ProvidedClientMachine = typeof clientMachine;
