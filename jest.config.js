/**
 * The tests by kind, a jest project each (docs/testing.md#tests-by-kind); `npm test` runs them all:
 *
 * - `unit` (`npm run test:unit`): the constructs, stacks and worker code called in the jest worker
 *   itself, with no broker and no program of the project started as a process.
 * - `integration`: the project's programs run as processes (the bundled worker CLI, stacks/synth.js,
 *   the Pulumi dynamic-provider host, ESLint with the layer rules, TypeDoc) without a broker; and
 *   `integration:machine`, `integration:deployed`, `integration:redis8`: the broker suites of
 *   test/worker, once per broker generation (test/worker/generations.js).
 * - `system`: the package packed and installed into fresh projects, and the local RabbitMQ clusters
 *   and Redis Sentinels of test/cluster. The container end-to-end suite is the system kind too, in
 *   its own config (jest.e2e.config.js, `npm run test:e2e`).
 *
 * A suite is placed by the lists below, by its file name; a new file under test/constructs,
 * test/stacks, test/docs, test/layers or test/bench is a unit suite until a list names it, and a
 * new file of test/worker a broker suite.
 */

const fs = require('node:fs');
const path = require('node:path');

/** test/worker suites that use no broker and start no process: unit suites. */
const WORKER_UNIT = [
  'completion-rate',
  'config',
  'credentials',
  'indexed-items',
  'reconnect',
  'seed-config',
  'seed-items',
  'seed-wait-timing',
  'status-report',
  'units',
];

/** test/worker suites that start the bundled CLI against no broker (fakes, stand-ins, none): integration, once. */
const WORKER_CLI_NO_BROKER = ['credentials-cli', 'indexed-work', 'misbehaving-peers', 'termination-message'];

/** Suites outside test/worker that run a program of the project (or ESLint, TypeDoc) as a process: integration, once. */
const PROGRAMS = [
  // stacks/synth.js, as `npm run synth` runs it
  'test/stacks/synth.test.ts',
  'test/docs/construct-names.test.ts',
  // JobAwait's provider in Pulumi's own dynamic-provider host
  'test/stacks/job-await.test.ts',
  // the bundled worker CLI
  'test/docs/worker-failure-lines.test.ts',
  // ESLint with eslint.config.mjs, type-aware, over the real files
  'test/layers/import-floors.test.ts',
  // TypeDoc with typedoc.json, as `npm run docs:api` runs it
  'test/docs/api-reference.test.ts',
];

/**
 * test/worker suites that also run against Redis 8.0, where it may differ from Valkey 8.1: the
 * Lua scripts and their replies, and how refused credentials are answered. Replication stays on
 * Redis 7.0 and Valkey 8.1 (the same protocol in all three), within CI's 20 minutes.
 */
const REDIS8 = ['redis-credentials', 'redis-work'];

/**
 * test/worker broker suites that run on the generation the constructs deploy alone (RabbitMQ 4.0,
 * Valkey 8.1), within CI's 20 minutes: what they test does not depend on the broker's version, and
 * the broker behaviour they pass through is tested on both generations by the suites named.
 */
const DEPLOYED_ONLY = [
  // The operations commands and traces read and write the brokers as every other suite does and
  // differ from them only in what they ask (the dead-letter fallback under a memory alarm runs on
  // both RabbitMQ versions in test/cluster/seeder-memory-alarm.test.ts).
  'dead-letters',
  'status-json',
  'traces',
  // --help; the line for a status of a queue that never existed (a Redis key that does not exist,
  // AMQP 0-9-1's 404 to a passive declare: the same in every version); status --watch's redraw in
  // 60 columns.
  'cli',
  // How the worker hands an item to WORK_COMMAND on stdin, and SIGKILL while it spawns commands;
  // claims and leases on both Redis versions: redis-work, redis-batch.
  'command-input',
  // The worker's stdout pipe at exit.
  'exit-output',
  // ITEMS_FILE refused by its size before anything is sent; seeding on both: seed, items.
  'items-file-limit',
];

/** The folders of test/ whose suites each kind takes whole (test/worker is split by the lists above; test/e2e has its own config). */
const UNIT_FOLDERS = ['constructs', 'stacks', 'docs', 'layers', 'bench'];
const SYSTEM_FOLDERS = ['package', 'cluster'];

/**
 * System suites `npm test` leaves out unless their variable is set, within CI's 20 minutes. The
 * three-node RabbitMQ 3.10 cluster: the constructs deploy RabbitMQ 4 (rabbitmq-cluster-4.0 runs
 * the same suite on it), 3.10 is past its end of life, and the machine generation's single node
 * keeps testing the worker's AMQP against 3.10. `RABBITMQ_310_CLUSTER=1 npm run test:system` runs it.
 */
const OPT_IN = { 'test/cluster/rabbitmq-cluster-3.10.test.ts': 'RABBITMQ_310_CLUSTER' };
const optedOut = Object.entries(OPT_IN)
  .filter(([, variable]) => !process.env[variable])
  .map(([file]) => `<rootDir>/${file}`);

/** A suite in a folder of test/ that no kind takes would never run: refuse it, naming the file. */
function checkEveryFolderHasAKind() {
  const placed = new Set([...UNIT_FOLDERS, ...SYSTEM_FOLDERS, 'worker', 'e2e']);
  const test = path.join(__dirname, 'test');
  for (const file of fs.readdirSync(test, { recursive: true })) {
    if (file.endsWith('.test.ts') && !placed.has(file.split(path.sep)[0])) {
      throw new Error(
        `jest.config.js: test/${file} is in no kind of test: expected a folder of test/ among ${[...placed].join(', ')}, or a kind for its folder`,
      );
    }
  }
}
checkEveryFolderHasAKind();

const worker = (names) => names.map((name) => `<rootDir>/test/worker/${name}.test.ts`);
const ignoreWorker = (names) => names.map((name) => `/test/worker/${name}\\.test\\.ts$`);

/**
 * ts-jest transpiles each file on its own (isolatedModules), without type-checking it: `npm run
 * typecheck` checks the whole project, tests included, once, where ts-jest would build a type
 * checker in every worker and check each suite's imports again.
 */
const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true } }] },
};
/** Bundles the worker CLI once per run, for the projects whose suites spawn it as the image runs it. */
const bundle = { globalSetup: '<rootDir>/test/worker/global-setup.js' };

/** The broker suites of test/worker on one generation (`use-<generation>-brokers.js` sets its addresses). */
function brokerSuites(generation, color, { skip = [], only } = {}) {
  return {
    ...shared,
    ...bundle,
    displayName: { name: `integration:${generation}`, color },
    roots: ['<rootDir>/test/worker'],
    testPathIgnorePatterns: ['/node_modules/', ...ignoreWorker([...WORKER_UNIT, ...WORKER_CLI_NO_BROKER, ...skip])],
    ...(only && { testMatch: worker(only) }),
    setupFiles: [`<rootDir>/test/worker/use-${generation}-brokers.js`],
  };
}

module.exports = {
  // Both cores: the broker suites spend most of their time waiting on brokers and child processes.
  maxWorkers: 2,
  // The system suites first: a clean clone has no durations to order by (test/system-first-sequencer.js).
  testSequencer: '<rootDir>/test/system-first-sequencer.js',
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  projects: [
    {
      ...shared,
      displayName: { name: 'unit', color: 'green' },
      roots: ['<rootDir>/test'],
      testMatch: [`<rootDir>/test/{${UNIT_FOLDERS.join(',')}}/**/*.test.ts`, ...worker(WORKER_UNIT)],
      testPathIgnorePatterns: ['/node_modules/', ...PROGRAMS.map((file) => `<rootDir>/${file}`)],
    },
    {
      ...shared,
      ...bundle,
      displayName: { name: 'integration', color: 'cyan' },
      roots: ['<rootDir>/test'],
      testMatch: [...PROGRAMS.map((file) => `<rootDir>/${file}`), ...worker(WORKER_CLI_NO_BROKER)],
    },
    brokerSuites('machine', 'blue', { skip: DEPLOYED_ONLY }),
    brokerSuites('deployed', 'magenta'),
    brokerSuites('redis8', 'red', { only: REDIS8 }),
    {
      ...shared,
      // test/cluster spawns the bundled CLI against its own nodes.
      ...bundle,
      displayName: { name: 'system', color: 'yellow' },
      roots: ['<rootDir>/test'],
      testMatch: [`<rootDir>/test/{${SYSTEM_FOLDERS.join(',')}}/**/*.test.ts`],
      testPathIgnorePatterns: ['/node_modules/', ...optedOut],
    },
  ],
};
