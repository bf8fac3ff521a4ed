// The world of a machine that has no facade of its own (device, signaling, transport): one actor
// of its real provided logic (as the client provides it, src/client/machineImplementations.ts)
// with its real services (MediaSignalingService over the scripted FakeServer, MediaDevice over
// ScriptedDevices), under a stand-in owner that sends it the commands the client's root would
// send and keeps every report it gets back: what the owner would see.
import { createActor, setup, type AnyActorRef, type AnyActorLogic, type EventObject, type InspectionEvent } from 'xstate';
import { MediaDevice } from '../../src/client/MediaDevice.js';
import { MediaSignalingService } from '../../src/client/MediaSignalingService.js';
import { createLoggers } from '../../src/client/logger.js';
import { bindServices, providedClientMachine } from '../../src/client/machineImplementations.js';
import { FakeServer } from '../unit/support/fakeServer.js';
import { fireTimer, NEVER, runningTimers } from './clientWorld.js';
import { ScriptedDevices } from './scriptedDevices.js';

const silent = createLoggers('silent');

export interface OwnerWorldOptions {
  /** Which of the client's child actors: its provided logic is taken from the client machine. */
  logic: 'device' | 'signaling' | 'transport';
  input?: unknown;
  inspect: (event: InspectionEvent) => void;
  /** How a report reads in an observation. */
  describe: (report: EventObject & Record<string, any>) => string;
}

export class OwnerWorld {
  readonly server = new FakeServer();
  readonly devices = new ScriptedDevices();
  readonly signaling: MediaSignalingService;
  readonly device: MediaDevice;
  readonly reports: string[] = [];
  readonly actor: AnyActorRef;

  constructor(options: OwnerWorldOptions) {
    // As ClientWorld: transports are asked with createTransport, which the test answers.
    this.server.offerTransports = false;
    this.signaling = new MediaSignalingService('ws://media.test/v1/ws', 'model-token', {
      requestTimeout: NEVER,
      webSocketFactory: this.server.factory,
      logger: { warn: () => {} },
    });
    this.device = new MediaDevice((method, data) => this.signaling.request(method, data), this.devices.factory);
    const logic = (providedClientMachine.implementations.actors as Record<string, AnyActorLogic>)[options.logic]!;
    const owner = setup({ actors: { child: logic } }).createMachine({
      invoke: { id: 'child', systemId: options.logic, src: 'child', input: options.input as never },
      on: {
        '*': {
          actions: ({ event }) => {
            if (!event.type.startsWith('xstate.')) this.reports.push(options.describe(event as never));
          },
        },
      },
    });
    this.actor = createActor(owner, { inspect: options.inspect });
    bindServices(this.actor.system, {
      signaling: this.signaling,
      device: this.device,
      policy: { maxAttempts: 1, delay: () => NEVER },
      pingTimeout: NEVER,
      recordingTimeout: NEVER,
      log: { client: silent('client'), signaling: silent('signaling'), device: silent('device') },
    });
  }

  start(): this {
    this.actor.start();
    return this;
  }

  /** The actor under test. */
  get child(): AnyActorRef {
    return (this.actor.getSnapshot() as { children: Record<string, AnyActorRef> }).children.child!;
  }

  /** A command of the owner (as the client's root sends it). */
  send(event: EventObject): void {
    this.child.send(event);
  }

  takeReports(): string[] {
    return this.reports.splice(0);
  }

  fire(prefix: string): void {
    fireTimer(this.actor.system, prefix);
  }

  timers(): string[] {
    return runningTimers(this.actor.system);
  }

  async stop(): Promise<void> {
    this.devices.hold = false;
    this.devices.releaseAll();
    this.actor.stop();
    for (const socket of this.server.sockets) socket.serverClose(1000, 'test over');
  }
}
