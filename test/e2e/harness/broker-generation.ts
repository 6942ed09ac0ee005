/**
 * The broker generation an e2e scenario runs against: which local RabbitMQ and Redis-protocol
 * server stand in for the synthesized broker StatefulSets, as test/worker/generations.js describes
 * them for the worker suites (one place for every generation's addresses and tools).
 *
 * The suite runs on the `deployed` generation by default (RabbitMQ 4.0 on 5682 and Valkey 8.1 on
 * 6389, from the Debian 13 root of .ci/start-brokers: what the manifests deploy); the two tutorial
 * files (coarse, fine) also run on the `machine` generation (RabbitMQ 3.10 on 5672, Redis 7.0 on 6379).
 * `E2E_BROKERS=<generation>` runs the whole suite on another one, e.g.
 *   E2E_BROKERS=machine npm run test:e2e
 * (the tutorial files then run on it and on `machine`, once when they are the same).
 */
import { Defaults } from '../../../contract';

interface GenerationEnv {
  readonly env: {
    readonly WQ_TEST_GENERATION: string;
    readonly WQ_TEST_AMQP_URL: string;
    readonly WQ_TEST_REDIS_URL: string;
    readonly WQ_TEST_RABBITMQCTL: string;
  };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const GENERATIONS = require('../../worker/generations') as Record<string, GenerationEnv>;

/** The environment variable that picks the suite's generation. */
export const GENERATION_ENV = 'E2E_BROKERS';
/** The suite's generation unless E2E_BROKERS names another: the brokers the manifests deploy. @default 'deployed' */
export const DEFAULT_GENERATION = 'deployed';
/** The generation the tutorial files run on besides the suite's. */
export const TUTORIAL_EXTRA_GENERATION = 'machine';

export interface BrokerGeneration {
  /** The name in test/worker/generations.js: `machine`, `deployed`, ... */
  readonly name: string;
  /** What it is, with versions and ports, for test names and errors. */
  readonly description: string;
  /** The local RabbitMQ's administrator (guest, which may log in from localhost, where the harness runs). */
  readonly amqpAdminUrl: string;
  readonly redisUrl: string;
  /** The command (and leading arguments) of rabbitmqctl for this RabbitMQ's node. */
  readonly rabbitmqctl: readonly string[];
  /** The local port a broker's container port forwards to (5672: RabbitMQ, 6379: Redis); undefined for a port no broker of the generation serves. */
  readonly backendPort: (containerPort: number) => number | undefined;
}

/** The generation of that name, from test/worker/generations.js. */
export function brokerGeneration(name: string): BrokerGeneration {
  const entry = Object.hasOwn(GENERATIONS, name) ? GENERATIONS[name] : undefined;
  if (!entry)
    throw new Error(
      `broker generation ${JSON.stringify(name)} is unknown: expected one of ${Object.keys(GENERATIONS).join(', ')}`,
    );
  const { WQ_TEST_GENERATION, WQ_TEST_AMQP_URL, WQ_TEST_REDIS_URL, WQ_TEST_RABBITMQCTL } = entry.env;
  const ports = new Map<number, number>([
    [Defaults.amqpPort, portOf(WQ_TEST_AMQP_URL, Defaults.amqpPort)],
    [Defaults.redisPort, portOf(WQ_TEST_REDIS_URL, Defaults.redisPort)],
  ]);
  return {
    name,
    description: WQ_TEST_GENERATION,
    amqpAdminUrl: WQ_TEST_AMQP_URL,
    redisUrl: WQ_TEST_REDIS_URL,
    rabbitmqctl: WQ_TEST_RABBITMQCTL.split(' '),
    backendPort: (containerPort) => ports.get(containerPort),
  };
}

/** The generation every e2e file runs on: E2E_BROKERS, or DEFAULT_GENERATION. */
export function suiteGeneration(): BrokerGeneration {
  const name = process.env[GENERATION_ENV];
  try {
    return brokerGeneration(name || DEFAULT_GENERATION);
  } catch (error) {
    throw new Error(`${GENERATION_ENV}: ${(error as Error).message}`, { cause: error });
  }
}

/** The generations the tutorial files run on: the suite's, then TUTORIAL_EXTRA_GENERATION unless it is the same. */
export function tutorialGenerations(): BrokerGeneration[] {
  const suite = suiteGeneration();
  return suite.name === TUTORIAL_EXTRA_GENERATION ? [suite] : [suite, brokerGeneration(TUTORIAL_EXTRA_GENERATION)];
}

/** Every generation a run of the suite uses. */
export function generationsOfRun(): BrokerGeneration[] {
  return tutorialGenerations();
}

function portOf(url: string, fallback: number): number {
  const { port } = new URL(url);
  return port ? Number(port) : fallback;
}
