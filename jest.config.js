/**
 * Unit and integration tests; the container end-to-end suite has its own config (jest.e2e.config.js).
 * The broker suites of test/worker run once per broker generation (test/worker/generations.js),
 * a jest project each: `npx jest --selectProjects deployed` runs one; the redis8 project runs the
 * Redis suites where Redis 8.0 may differ from Valkey 8.1. Everything else runs once.
 */
/** test/worker suites that use no broker: they run once, in the machine project. */
const NO_BROKER = [
  'completion-rate',
  'config',
  'credentials-cli',
  'credentials',
  'indexed-items',
  'indexed-work',
  'misbehaving-peers',
  'reconnect',
  'seed-config',
  'seed-items',
  'seed-wait-timing',
  'status-report',
  'termination-message',
  'units',
];

/**
 * test/worker suites that also run against Redis 8.0, where it may differ from Valkey 8.1: the
 * Lua scripts and their replies, and how refused credentials are answered. Replication stays on
 * Redis 7.0 and Valkey 8.1 (the same protocol in all three), within CI's 20 minutes.
 */
const REDIS8 = ['redis-credentials', 'redis-work'];

/**
 * test/worker suites of the operations commands and traces, which read and write the brokers as
 * every other suite does and differ from them only in what they ask: they run on the generation
 * the constructs deploy alone (the dead-letter fallback under a memory alarm runs on both
 * RabbitMQ versions in test/cluster/seeder-memory-alarm.test.ts), within CI's 20 minutes.
 */
const DEPLOYED_ONLY = ['dead-letters', 'status-json', 'traces'];

const shared = { preset: 'ts-jest', testEnvironment: 'node' };

module.exports = {
  // Both cores: the broker suites spend most of their time waiting on brokers and child processes.
  maxWorkers: 2,
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  // Bundles the worker CLI once; the worker tests spawn it as the image runs it.
  globalSetup: '<rootDir>/test/worker/global-setup.js',
  // The suites that take minutes start first (test/slow-first-sequencer.js).
  testSequencer: '<rootDir>/test/slow-first-sequencer.js',
  projects: [
    {
      ...shared,
      displayName: 'other',
      roots: ['<rootDir>/test'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/', '<rootDir>/test/worker/'],
    },
    {
      ...shared,
      displayName: { name: 'machine', color: 'blue' },
      roots: ['<rootDir>/test/worker'],
      testPathIgnorePatterns: ['/node_modules/', ...DEPLOYED_ONLY.map((name) => `/test/worker/${name}\\.test\\.ts$`)],
      setupFiles: ['<rootDir>/test/worker/use-machine-brokers.js'],
    },
    {
      ...shared,
      displayName: { name: 'deployed', color: 'magenta' },
      roots: ['<rootDir>/test/worker'],
      testPathIgnorePatterns: ['/node_modules/', ...NO_BROKER.map((name) => `/test/worker/${name}\\.test\\.ts$`)],
      setupFiles: ['<rootDir>/test/worker/use-deployed-brokers.js'],
    },
    {
      ...shared,
      displayName: { name: 'redis8', color: 'red' },
      roots: ['<rootDir>/test/worker'],
      testMatch: REDIS8.map((name) => `<rootDir>/test/worker/${name}.test.ts`),
      setupFiles: ['<rootDir>/test/worker/use-redis8-brokers.js'],
    },
  ],
};
