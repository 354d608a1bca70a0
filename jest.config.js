// Three projects: unit tests need no server; integration tests talk to the real broker,
// registry and MongoDB-protocol server that test/support/global-setup.ts finds or starts; browser
// tests drive the dashboard in Debian's Chromium against the same servers.
const { pathsToModuleNameMapper } = require('ts-jest');
const { compilerOptions } = require('./tsconfig.json');

const shared = {
  testEnvironment: 'node',
  transform: {
    // Type checking is `npm run typecheck`'s job; here it would only slow every run down.
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: pathsToModuleNameMapper(compilerOptions.paths, { prefix: '<rootDir>/' }),
};

module.exports = {
  // Integration tests wait on real servers (each wait has its own, shorter deadline).
  testTimeout: 120000,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  // Unit, then integration, then browser files (jest's own order mixes the projects).
  testSequencer: '<rootDir>/test/browser/project-order-sequencer.js',
  projects: [
    { ...shared, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    {
      ...shared,
      displayName: 'browser',
      testMatch: ['<rootDir>/test/browser/**/*.spec.ts'],
      // The same files as integration's: jest runs a global hook once per distinct file, so
      // one invocation with both projects starts (and stops) the servers once.
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
