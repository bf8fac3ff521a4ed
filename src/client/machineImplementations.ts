// The machines' named side effects, implemented with the signaling service and the device.
// This is the only place where machines meet the network and mediasoup-client.
//
// The machines are provided once, when this module loads (building a machine is not free, and a
// page should not pay it again for every client). Each implementation finds its own client's
// services through the actor system it runs in (`bindServices`).
import { fromCallback, fromPromise, type ActorSystem, type EventObject } from 'xstate';
import { clientMachine, nodeUrl } from '../../machines/clientMachine.js';
import { consumerMachine } from '../../machines/consumerMachine.js';
import { deviceMachine } from '../../machines/deviceMachine.js';
import { producerMachine } from '../../machines/producerMachine.js';
import { signalingMachine, type SocketEvent } from '../../machines/signalingMachine.js';
import { transportMachine } from '../../machines/transportMachine.js';
import { CloseCode } from '../protocol/codes.js';
import { MIN_PROTOCOL_VERSION, PROTOCOL_VERSION } from '../protocol/messages.js';
import type { Logger } from './logger.js';
import type { MediaDevice } from './MediaDevice.js';
import type { MediaSignalingService } from './MediaSignalingService.js';
import type { ReconnectPolicy } from './ReconnectPolicy.js';
import type { SendSettings } from './simulcast.js';

export interface ClientServices {
  signaling: MediaSignalingService;
  device: MediaDevice;
  policy: ReconnectPolicy;
  pingTimeout: number;
  /** The answer time allowed to startRecord and stopRecord. */
  recordingTimeout: number;
  /** The client's named loggers. */
  log: Record<'client' | 'signaling' | 'device', Logger>;
}

type AnyActorSystem = ActorSystem<any>;

const servicesBySystem = new WeakMap<AnyActorSystem, ClientServices>();

/** Gives the actor system of one client its services; call before the client actor starts. */
export function bindServices(system: AnyActorSystem, services: ClientServices): void {
  servicesBySystem.set(system, services);
}

function servicesOf(system: AnyActorSystem): ClientServices {
  const services = servicesBySystem.get(system);
  if (!services) throw new Error('[media-infra] this actor system has no client services bound');
  return services;
}

const socket = fromCallback<EventObject, { url: string }>(({ sendBack, system, input }) => {
  const { signaling, log, device } = servicesOf(system);
  const send = (event: SocketEvent) => sendBack(event);
  const connection = signaling.open({
    opened: () => send({ type: 'socket.opened' }),
    notified: (notification) => {
      // A server older than this client can speak to: the same final close as a server refusing an old client.
      if (notification.method === 'welcome' && notification.data.protocolVersion < MIN_PROTOCOL_VERSION) {
        const reason = `the server speaks protocol ${notification.data.protocolVersion}, this client ${MIN_PROTOCOL_VERSION}-${PROTOCOL_VERSION}`;
        log.signaling.warn(reason);
        send({ type: 'socket.closed', code: CloseCode.UNSUPPORTED_PROTOCOL, reason });
        connection.close(1000, 'unsupported protocol');
        return;
      }
      if (notification.method === 'welcome') device.serverVersion = notification.data.protocolVersion;
      send({ ...notification, type: 'socket.notified' });
    },
    closed: (code, reason) => send({ type: 'socket.closed', code, reason }),
  }, input.url);
  return () => connection.close(1000, 'client');
});

const signalingLogic = signalingMachine.provide({
  actors: {
    socket,
    ping: fromPromise(async ({ system }) => {
      const { signaling, pingTimeout } = servicesOf(system);
      await signaling.request('ping', {}, { timeout: pingTimeout });
    }),
    leave: fromPromise(async ({ system }) => {
      await servicesOf(system).signaling.request('leave', {});
    }),
  },
});

const deviceLogic = deviceMachine.provide({
  actors: {
    loadDevice: fromPromise(async ({ input, system }) => {
      const { device, log } = servicesOf(system);
      await device.load(input.routerRtpCapabilities);
      log.device.debug('loaded');
    }),
  },
});

const transportLogic = transportMachine.provide({
  actors: {
    createTransport: fromPromise(async ({ input, system }) => ({
      transportId: await servicesOf(system).device.createTransport(input.direction, input.offered),
    })),
    connectTransport: fromPromise(async ({ input, system }) => {
      await servicesOf(system).device.connectTransport(input.direction);
    }),
    restartIce: fromPromise(async ({ input, system }) => {
      await servicesOf(system).device.restartIce(input.direction);
    }),
    watchTransport: fromCallback(({ sendBack, input, system }) => {
      const { device, log } = servicesOf(system);
      return device.watchTransport(input.direction, {
        connectRequested: () => sendBack({ type: 'transport.connectRequested' }),
        stateChanged: (state) => {
          log.device.debug(`${input.direction} transport ${state}`);
          sendBack({ type: 'transport.stateChanged', state });
        },
      });
    }),
  },
  actions: {
    closeTransport: ({ context, system }) => servicesOf(system).device.closeTransport(context.direction),
  },
});

const producerLogic = producerMachine.provide({
  actors: {
    produce: fromPromise(async ({ input, signal, system }) => {
      const { device } = servicesOf(system);
      const producerId = await device.produce({ ...input, track: input.track as MediaStreamTrack, send: input.send as SendSettings });
      if (signal.aborted) {
        // Closed while producing: do not leave a producer behind.
        await device.closeProducer(producerId).catch(() => undefined);
      }
      return { producerId };
    }),
    pauseProducer: fromPromise(async ({ input, system }) => servicesOf(system).device.pauseProducer(input.producerId)),
    resumeProducer: fromPromise(async ({ input, system }) => servicesOf(system).device.resumeProducer(input.producerId)),
    closeProducer: fromPromise(async ({ input, system }) => servicesOf(system).device.closeProducer(input.producerId)),
    replaceTrack: fromPromise(async ({ input, system }) => servicesOf(system).device.replaceTrack(input.producerId, input.track as MediaStreamTrack)),
    startRecord: fromPromise(async ({ input, system }) => {
      const { signaling, recordingTimeout } = servicesOf(system);
      return signaling.request('startRecord', { producerId: input.producerId }, { timeout: recordingTimeout });
    }),
    stopRecord: fromPromise(async ({ input, system }) => {
      const { signaling, recordingTimeout } = servicesOf(system);
      return signaling.request('stopRecord', { producerId: input.producerId }, { timeout: recordingTimeout });
    }),
  },
  actions: {
    releaseProducer: ({ system }, params) => servicesOf(system).device.releaseProducer(params.producerId),
    stopSending: ({ system }, params) => servicesOf(system).device.stopSending(params.producerId),
    startSending: ({ system }, params) => servicesOf(system).device.startSending(params.producerId),
  },
});

const consumerLogic = consumerMachine.provide({
  actors: {
    consume: fromPromise(async ({ input, signal, system }) => {
      const { device } = servicesOf(system);
      try {
        await device.consume(input);
      } finally {
        // Closed while being created: do not leave a local consumer behind.
        if (signal.aborted) device.releaseConsumer(input.id);
      }
    }),
    startConsumer: fromPromise(async ({ input, system }) => servicesOf(system).device.startConsumer(input.consumerId)),
    pauseConsumer: fromPromise(async ({ input, system }) => servicesOf(system).device.pauseConsumer(input.consumerId)),
    resumeConsumer: fromPromise(async ({ input, system }) => servicesOf(system).device.resumeConsumer(input.consumerId)),
    setPreferredLayers: fromPromise(async ({ input, system }) => servicesOf(system).device.setConsumerPreferredLayers(input)),
  },
  actions: {
    releaseConsumer: ({ system }, params) => servicesOf(system).device.releaseConsumer(params.consumerId),
  },
});

/** The client machine with every actor, action and delay provided; start it after `bindServices`. */
export const providedClientMachine = clientMachine.provide({
  actors: {
    signaling: signalingLogic,
    device: deviceLogic,
    transport: transportLogic,
    producer: producerLogic,
    consumer: consumerLogic,
    join: fromPromise(async ({ system }) => {
      const { signaling, device } = servicesOf(system);
      await signaling.request('join', { rtpCapabilities: device.rtpCapabilities });
    }),
    listen: fromPromise(async ({ system }) => {
      const { signaling, device } = servicesOf(system);
      const answered = signaling.request('listen', {});
      // While the server makes the offer, the recv transport gets ready for it.
      void device.prepareToReceive();
      await answered;
    }),
  },
  delays: {
    backoff: ({ context, system }) => {
      const { policy, log } = servicesOf(system);
      const delay = policy.delay(context.attempt);
      // Asked on every entry of backingOff, also the one that gives up at once (attempts exhausted).
      if (context.attempt < context.maxAttempts) {
        log.client.debug(`reconnection attempt ${context.attempt + 1} of ${policy.maxAttempts} to ${nodeUrl(context)} in ${delay} ms`);
      }
      return delay;
    },
  },
});

export type ProvidedClientMachine = typeof clientMachine;
