import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // The recording stress test (both cores burnt for a minute, 60 recordings) runs with
    // `npm run test:stress`: its burner would starve the test file running beside it, and it takes
    // minutes on a busy machine. The faults it found have deterministic tests in every run
    // (recording/mediaGaps: a lost picture, a long pause; recording/recordingProbe: the file's coverage).
    exclude: process.env['RECORDING_STRESS'] === '1' ? [] : ['tests/recording/stress.test.ts'],
    // Browser and server tests start real processes (mediasoup workers, Chromium): give them room,
    // and run at most two files at once on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
