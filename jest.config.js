const { availableParallelism } = require('node:os');

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  snapshotSerializers: ['<rootDir>/test/support/asset-hash-serializer.js'],
  setupFiles: ['<rootDir>/test/support/env.js'],
  globalSetup: '<rootDir>/test/support/global-setup.js',
  testTimeout: 60000,
  // One worker more than cores (jest's default is one fewer: a single worker on 2 cores): the SQS
  // recovery, chaos and signal tests spend most of their time waiting on worker processes and
  // timers, and meanwhile the cores run the synth-heavy files. Full runs on a 2-core machine
  // shared with other jobs: 7.2 min with 2 workers, 5.6 min with 3 (one worker took ≈ 12 min).
  maxWorkers: availableParallelism() + 1,
  testSequencer: '<rootDir>/test/support/longest-first-sequencer.js',
};
