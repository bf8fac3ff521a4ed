// The browser's own RTP capabilities are probed as the client is made (MediaDevice.probeCapabilities,
// src/client/nativeCapabilities.ts), not by the first Device.load after the welcome. Real
// mediasoup-client Devices over its FakeHandler, whose probes are counted.
import { Device } from 'mediasoup-client';
import * as fakeParameters from 'mediasoup-client/fakeParameters';
import type { HandlerFactory } from 'mediasoup-client/handlers/HandlerInterface';
import { describe, expect, it } from 'vitest';
import { MediaDevice } from '../../src/client/MediaDevice.js';
import type { RouterCapabilities } from '../../machines/shared.js';
import { fakeHandlerFactory } from './support/fakeServer.js';

const routerCapabilities = () => fakeParameters.generateRouterRtpCapabilities() as unknown as RouterCapabilities;

/** A MediaDevice whose Devices' probes are recorded (by direction); `failFirst` rejects the first recvonly probe. */
function countingDevice(failFirst = false) {
  const probes: string[] = [];
  let devices = 0;
  const createDevice = () => {
    devices++;
    const fake = fakeHandlerFactory();
    const counting: HandlerFactory = {
      ...fake,
      getNativeRtpCapabilities: async (options) => {
        probes.push(options.direction);
        if (failFirst && options.direction === 'recvonly' && probes.filter((d) => d === 'recvonly').length === 1) throw new Error('no RTCPeerConnection');
        return fake.getNativeRtpCapabilities(options);
      },
    };
    return new Device({ handlerFactory: counting });
  };
  const device = new MediaDevice(() => Promise.reject(new Error('no server')), createDevice);
  return { device, probes, devices: () => devices };
}

describe('native capabilities', () => {
  it('probeCapabilities asks the browser for both directions at once, and the load after the welcome asks nothing more', async () => {
    const { device, probes, devices } = countingDevice();
    device.probeCapabilities();
    expect(probes).toEqual(['recvonly', 'sendonly']);
    await device.load(routerCapabilities());
    expect(probes).toEqual(['recvonly', 'sendonly']);
    expect(devices()).toBe(1);
    expect(device.loaded).toBe(true);
    expect(device.canProduce('video')).toBe(true);
    expect(device.rtpCapabilities.codecs?.length).toBeGreaterThan(0);
  });

  it('a Device loaded later for other router capabilities (a reconnect to another node) probes in its load, as mediasoup-client does', async () => {
    const { device, probes, devices } = countingDevice();
    device.probeCapabilities();
    await device.load(routerCapabilities());
    const all = routerCapabilities();
    const other = { ...all, codecs: all.codecs!.filter((c) => c.mimeType !== 'video/H264') };
    await device.load(other);
    expect(devices()).toBe(2);
    expect(probes).toEqual(['recvonly', 'sendonly', 'recvonly', 'sendonly']);
    expect(device.loaded).toBe(true);
  });

  it('a failed probe fails the load that awaited it, with the reason; the next load probes again', async () => {
    const { device, probes } = countingDevice(true);
    device.probeCapabilities();
    expect(probes).toEqual(['recvonly', 'sendonly']);
    await expect(device.load(routerCapabilities())).rejects.toMatchObject({ code: 'UNSUPPORTED_CODEC', message: expect.stringContaining('no RTCPeerConnection') });
    expect(device.loaded).toBe(false);
    await device.load(routerCapabilities());
    expect(device.loaded).toBe(true);
    expect(probes).toEqual(['recvonly', 'sendonly', 'recvonly', 'sendonly']);
  });

  it('without probeCapabilities, a load probes as mediasoup-client does', async () => {
    const { device, probes } = countingDevice();
    await device.load(routerCapabilities());
    expect(probes).toEqual(['recvonly', 'sendonly']);
    expect(device.loaded).toBe(true);
  });
});
