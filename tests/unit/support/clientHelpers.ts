import type { ClientState, MediaClientOptions, MediaInfraClient } from '../../../src/client/index.js';
import { createMediaClient, MediaInfraError } from '../../../src/client/index.js';
import { expect } from 'vitest';
import { fakeDevice, FakeServer } from './fakeServer.js';

export const TOKEN = 'secret-token-do-not-leak';

/** A client talking to a FakeServer, recording every state it passes through. */
export function startClient(server = new FakeServer(), options: MediaClientOptions = {}) {
  const warnings: unknown[][] = [];
  const client = createMediaClient('ws://media.test/v1/ws', TOKEN, {
    webSocketFactory: server.factory,
    deviceFactory: fakeDevice,
    pingInterval: 60_000,
    reconnect: { initialDelay: 1, maxDelay: 5, maxAttempts: 3, jitter: 0 },
    logger: { warn: (...args: unknown[]) => warnings.push(args) },
    ...options,
  });
  const states: ClientState[] = [client.state];
  client.on('state', (s) => states.push(s));
  return { client, server, states, warnings };
}

/** Resolves when the client is in `state`; rejects when it ends closed instead, or after `ms`. */
export function waitForState(client: MediaInfraClient, state: ClientState, ms = 3_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (s: ClientState) => {
      if (s === state) return done(resolve);
      if (s === 'closed') done(() => reject(new Error(`closed (${client.closeReason}) while waiting for ${state}`)));
    };
    const timer = setTimeout(() => done(() => reject(new Error(`still ${client.state} after ${ms} ms waiting for ${state}`))), ms);
    const done = (fn: () => void) => {
      clearTimeout(timer);
      client.off('state', check);
      fn();
    };
    client.on('state', check);
    check(client.state);
  });
}

/** Resolves when `predicate` holds, checked on every macrotask. */
export async function until(predicate: () => boolean, ms = 3_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/** The MediaInfraError a promise rejects with (fails the test if it resolves or rejects otherwise). */
export async function rejection(promise: Promise<unknown>): Promise<MediaInfraError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MediaInfraError);
  return error as MediaInfraError;
}
