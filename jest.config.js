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
  testSequencer: '<rootDir>/test/support/longest-first-sequencer.js',
};
