import { type Construct } from 'constructs';
import { type ScaledWorkQueueJobProps, type WorkQueuePattern } from '../constructs';
import { checkRequired, fail } from '../constructs/validate';
import { Defaults, PropRules, SECRET_SHOWN_AS } from '../contract';

/** The broker a stack deploys. */
export type BrokerKind = 'rabbitmq' | 'redis';
export const BROKER_KINDS: readonly BrokerKind[] = ['rabbitmq', 'redis'];

/**
 * How a stack hands its items to the workers: through a queue, one item per pod (`coarse`) or
 * drained by the pods (`fine`), or by index from ConfigMaps, with no broker (`indexed`, an Indexed Job).
 */
export type StackPattern = WorkQueuePattern | 'indexed';
export const STACK_PATTERNS: readonly StackPattern[] = ['coarse', 'fine', 'indexed'];

/**
 * Everything one work-queue stack is built from: with a queue pattern a broker, a seeder and a
 * worker Job; with `indexed` an Indexed Job and the ConfigMaps of its items.
 */
export interface WorkQueueStackConfig {
  /**
   * Stack name: prefix of the chart names (`<name>-broker`, `<name>-seeder`, `<name>-job`; with
   * pattern `indexed` only `<name>-job`).
   */
  readonly name: string;
  /** The broker of the queue. Required with pattern `coarse` or `fine`; refused with `indexed`, which has none. */
  readonly broker?: BrokerKind;
  readonly pattern: StackPattern;
  /** The queue (AMQP) or list (Redis) name. Required with pattern `coarse` or `fine`; refused with `indexed`. */
  readonly queue?: string;
  readonly items: string[];
  /**
   * Prefix of the worker Job's name, `<jobName>-<hash>` (the hash covers what Kubernetes cannot
   * change on an existing Job, so a changed batch is a new Job); the seeding Job is `<jobName>-seed-<hash>`.
   */
  readonly jobName: string;
  /** The worker image reference, a tag or, better, a digest. */
  readonly image: string;
  /** @default 2 */
  readonly parallelism?: number;
  /** @default - derived from the items for `coarse`, unset for `fine`; refused with `indexed`, whose completions is the item count */
  readonly completions?: number;
  /** @default - the manifests carry no namespace: `kubectl apply -n` or the context decides */
  readonly namespace?: string;
  /**
   * Write the Namespace object of `namespace` as the broker chart's first object (the broker's
   * `createNamespace`), or with pattern `indexed` the job chart's. `false` for a namespace that exists already or that a deployment creates itself.
   * @default true (with a `namespace`)
   */
  readonly createNamespace?: boolean;
  /**
   * The run label: with a queue pattern the seeder's (`QueueSeeder`'s `run`, `SEED_RUN`), so the
   * same items with another run are a new seed, seeded and worked off again, in a new worker Job;
   * with `indexed` the Indexed Job's, so the same items with another run are a new Job.
   * @default - none: the seed (or the Indexed Job) is named by its items alone, and re-applying the same items runs nothing again
   */
  readonly run?: string;
  /**
   * Seconds a worker waits for its seed to complete before it gives up (exit code 4, retried by
   * the Job) (`SEED_WAIT_SECONDS`).
   * @default 600 (`Defaults.seedWaitSeconds`)
   */
  readonly seedWaitSeconds?: number;
  /** @default 10 */
  readonly workSeconds?: number;
  /** @default - the built-in handler */
  readonly workCommand?: string;
  /** @default 30 */
  readonly leaseSeconds?: number;
  /**
   * Attempts of an item: with a queue, its deliveries before it goes to the dead-letter queue or
   * list; with `indexed`, the pods of its index (`backoffLimitPerIndex` is `maxAttempts - 1`).
   * @default 5
   */
  readonly maxAttempts?: number;
  /**
   * Seconds one item may take before the worker stops it and counts a failed attempt
   * (`WORK_TIMEOUT_SECONDS`); with RabbitMQ, 60 s below `consumerTimeoutSeconds`.
   * @default 1500
   */
  readonly workTimeoutSeconds?: number;
  /**
   * RabbitMQ's consumer timeout in seconds (`RabbitMQStatefulSet`'s `consumerTimeout`);
   * only with broker "rabbitmq".
   * @default 1800
   */
  readonly consumerTimeoutSeconds?: number;
  /**
   * Broker password. It is written into the broker's Secret, so it appears in the manifests.
   * @default - RabbitMQ: generated once inside the cluster by the broker's credentials Job, never at synth; Redis: none
   */
  readonly brokerPassword?: string;
  /** An existing Secret with the broker credentials. @default - none */
  readonly brokerSecretName?: string;
  /**
   * Broker members: 1, or an odd number of at least 3. RabbitMQ nodes that form one cluster with
   * quorum queues (`RabbitMQStatefulSet`'s `replicas`), or Redis data nodes with a Sentinel each,
   * whose clients ask Sentinel for the primary (`RedisPod`'s `replicas`).
   * @default 1
   */
  readonly brokerReplicas?: number;
  /**
   * The Erlang cookie the RabbitMQ nodes of a cluster share (`brokerReplicas` of 3 or more).
   * @default - generated once inside the cluster by the broker's credentials Job (the Pulumi
   *   component generates one and keeps it in its state)
   */
  readonly erlangCookie?: string;
  /**
   * Let KEDA create worker Jobs while the queue has items (`ScaledWorkQueueJob`) instead of one
   * worker Job. `completions` then does not apply, nor `parallelism` for `coarse` (each Job takes one item).
   * @default - one worker Job (`WorkQueueJob`)
   */
  readonly autoscale?: AutoscaleConfig;
  /**
   * Items that may fail before the Indexed Job fails at once (`maxFailedIndexes`); only with
   * pattern `indexed`.
   * @default - no budget: every item is tried, and the Job fails at the end (reason FailedIndexes) if any item failed
   */
  readonly maxFailedItems?: number;
  /**
   * Items whose success completes the Indexed Job (a `successPolicy` rule of `succeededCount`); the
   * others are then stopped. Only with pattern `indexed`.
   * @default - every item must succeed
   */
  readonly succeededCount?: number;
  /**
   * The Kubernetes version of the cluster, such as "1.31" or "v1.30.4": synth fails with one line
   * when the Indexed Job uses a field that version does not enable by default. Only with pattern `indexed`.
   * @default '1.33'
   */
  readonly kubernetesVersion?: string;
}

/** A stack of a queue pattern: broker and queue given. */
export type QueueStackConfig = WorkQueueStackConfig & {
  readonly pattern: WorkQueuePattern;
  readonly broker: BrokerKind;
  readonly queue: string;
};

/** A stack of the indexed pattern: an Indexed Job, no broker. */
export type IndexedStackConfig = WorkQueueStackConfig & { readonly pattern: 'indexed' };

/** The KEDA settings of an autoscaled stack; see `ScaledWorkQueueJobProps`. */
export type AutoscaleConfig = Pick<
  ScaledWorkQueueJobProps,
  | 'maxJobs'
  | 'scalingStrategy'
  | 'itemsPerJob'
  | 'activationQueueLength'
  | 'successfulJobsHistoryLimit'
  | 'failedJobsHistoryLimit'
> & {
  /**
   * Seconds between two looks at the queue (`ScaledWorkQueueJob`'s `pollingInterval`).
   * @default 30
   */
  readonly pollingIntervalSeconds?: number;
};

const TUTORIAL_ITEMS = ['apple', 'banana', 'cherry', 'date', 'fig', 'grape', 'lemon', 'melon'];

/** "Coarse Parallel Processing Using a Work Queue": RabbitMQ, one item per pod. */
export const COARSE_TUTORIAL: Omit<QueueStackConfig, 'image'> = {
  name: 'coarse',
  broker: 'rabbitmq',
  pattern: 'coarse',
  queue: 'job1',
  items: TUTORIAL_ITEMS,
  jobName: 'job-wq-1',
  // completions follows the items (8 here, as in the tutorial's job.yaml), so items can change alone.
  parallelism: 2,
  workSeconds: Defaults.workSeconds,
};

/** "Fine Parallel Processing Using a Work Queue": Redis, pods drain the list. */
export const FINE_TUTORIAL: Omit<QueueStackConfig, 'image'> = {
  name: 'fine',
  broker: 'redis',
  pattern: 'fine',
  queue: 'job2',
  items: [...TUTORIAL_ITEMS, 'orange'],
  jobName: 'job-wq-2',
  parallelism: 2,
  workSeconds: Defaults.workSeconds,
};

/**
 * "Indexed Job for Parallel Processing with Static Work Assignment": no broker, each pod takes
 * the item of its completion index from the items' ConfigMaps.
 */
export const INDEXED_EXAMPLE: Omit<IndexedStackConfig, 'image'> = {
  name: 'indexed',
  pattern: 'indexed',
  items: TUTORIAL_ITEMS,
  jobName: 'job-wq-3',
  parallelism: 2,
  workSeconds: Defaults.workSeconds,
};

type QueueOnlyField =
  | 'broker'
  | 'queue'
  | 'leaseSeconds'
  | 'seedWaitSeconds'
  | 'consumerTimeoutSeconds'
  | 'brokerPassword'
  | 'brokerSecretName'
  | 'brokerReplicas'
  | 'erlangCookie'
  | 'autoscale'
  | 'completions';

const NO_BROKER = 'an Indexed Job has no broker';

/** The fields of the queue patterns, and why an Indexed Job takes none of them. */
const QUEUE_ONLY_FIELDS: Readonly<Record<QueueOnlyField, string>> = {
  broker: 'an Indexed Job needs no broker: each pod takes the item of its index from the ConfigMaps',
  queue: 'an Indexed Job has no queue: each pod takes the item of its index from the ConfigMaps',
  leaseSeconds: "leases are the fine pattern's: each index of an Indexed Job is its pod's alone",
  seedWaitSeconds: 'nothing is seeded: the items are in ConfigMaps that the pods mount',
  consumerTimeoutSeconds: `the consumer timeout is RabbitMQ's, and ${NO_BROKER}`,
  brokerPassword: NO_BROKER,
  brokerSecretName: NO_BROKER,
  brokerReplicas: NO_BROKER,
  erlangCookie: NO_BROKER,
  autoscale: "KEDA scales on a queue's length; an Indexed Job runs its indexes, parallelism pods at a time",
  completions: "an Indexed Job's completions is the number of items",
};

type IndexedOnlyField = 'maxFailedItems' | 'succeededCount' | 'kubernetesVersion';

/** The fields of the indexed pattern, and what a queue pattern has instead. */
const INDEXED_ONLY_FIELDS: Readonly<Record<IndexedOnlyField, string>> = {
  maxFailedItems:
    "the Indexed Job's failure budget: a queue sends an item that fails maxAttempts times to its dead-letter queue or list",
  succeededCount: "the Indexed Job's success policy: a queue Job ends when its queue is worked off",
  kubernetesVersion: "the Indexed Job's check of its fields against the cluster's version",
};

const SECRET_FIELDS: ReadonlySet<string> = new Set(['brokerPassword', 'erlangCookie']);

/** A config that passed `validateStackConfig`: of a queue pattern with broker and queue, or indexed. */
export type CheckedStackConfig = QueueStackConfig | IndexedStackConfig;

/**
 * Checks what the constructs cannot see (which pattern and broker, the chart names, which fields
 * belong to which pattern) and returns the config typed by its pattern; every other field is
 * checked by the construct it reaches, with the same wording.
 */
export function validateStackConfig(scope: Construct, config: WorkQueueStackConfig): CheckedStackConfig {
  if (!STACK_PATTERNS.includes(config.pattern))
    fail(scope, 'pattern', config.pattern, `one of ${STACK_PATTERNS.map((p) => `"${p}"`).join(', ')}`);
  checkRequired(scope, 'image', config.image, PropRules.image);
  if (config.pattern === 'indexed') {
    for (const [field, why] of Object.entries(QUEUE_ONLY_FIELDS)) refuse(scope, config, field as QueueOnlyField, why);
    return config as IndexedStackConfig;
  }
  for (const [field, why] of Object.entries(INDEXED_ONLY_FIELDS)) refuse(scope, config, field as IndexedOnlyField, why);
  if (config.broker === undefined || !BROKER_KINDS.includes(config.broker))
    fail(scope, 'broker', config.broker, `one of ${BROKER_KINDS.map((b) => `"${b}"`).join(', ')}`);
  if (config.queue === undefined)
    fail(scope, 'queue', undefined, `a queue name: pattern "${config.pattern}" hands out its items through a queue`);
  if (config.broker === 'redis' && config.consumerTimeoutSeconds !== undefined) {
    fail(
      scope,
      'consumerTimeoutSeconds',
      config.consumerTimeoutSeconds,
      'nothing with broker "redis" (the consumer timeout is RabbitMQ\'s)',
    );
  }
  if (config.broker === 'redis' && config.erlangCookie !== undefined)
    fail(scope, 'erlangCookie', SECRET_SHOWN_AS, 'nothing with broker "redis" (the cookie is for a RabbitMQ cluster)');
  return config as QueueStackConfig;
}

/** Fails on a field given that the config's pattern does not take: one line naming the field, the value and why. */
function refuse(
  scope: Construct,
  config: WorkQueueStackConfig,
  field: QueueOnlyField | IndexedOnlyField,
  why: string,
): void {
  const value = config[field];
  if (value === undefined) return;
  fail(
    scope,
    field,
    SECRET_FIELDS.has(field) ? SECRET_SHOWN_AS : value,
    `nothing with pattern "${config.pattern}" (${why})`,
  );
}
