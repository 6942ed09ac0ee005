/**
 * The container end-to-end suite (`npm run test:e2e`): the harness's own unit tests, then the
 * scenarios, which build the worker image, push it to 127.0.0.1:5000 and run the synthesized Jobs'
 * pods with Docker against the local brokers of a broker generation: `deployed` (RabbitMQ 4.0,
 * Valkey 8.1) unless E2E_BROKERS names another, the tutorial files also on `machine`
 * (test/e2e/harness/broker-generation.ts). The system kind of test (docs/testing.md#tests-by-kind),
 * with the `system` project of jest.config.js.
 */
// Each file transpiled on its own, as in jest.config.js: `npm run typecheck` type-checks them.
const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true } }] },
  roots: ['<rootDir>/test/e2e'],
};

module.exports = {
  testTimeout: 15 * 60 * 1000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  projects: [
    { ...common, displayName: 'harness', testMatch: ['<rootDir>/test/e2e/harness/**/*.test.ts'] },
    {
      ...common,
      displayName: 'containers',
      testMatch: ['<rootDir>/test/e2e/*.e2e.test.ts'],
      globalSetup: '<rootDir>/test/e2e/global-setup.ts',
      globalTeardown: '<rootDir>/test/e2e/global-teardown.ts',
    },
  ],
};
