import { Construct } from 'constructs';
import { ScaledWorkQueueJobProps, WorkQueuePattern } from '../constructs';
import { checkRequired, fail, PropRules, SECRET_SHOWN_AS } from '../constructs/validate';
import { Defaults } from '../worker/contract';

/** The broker a stack deploys. */
export type BrokerKind = 'rabbitmq' | 'redis';
export const BROKER_KINDS: readonly BrokerKind[] = ['rabbitmq', 'redis'];

/** Everything one work-queue stack (broker, seeder, worker Job) is built from. */
export interface WorkQueueStackConfig {
  /** Stack name: prefix of the chart names (`<name>-broker`, `<name>-seeder`, `<name>-job`). */
  readonly name: string;
  readonly broker: BrokerKind;
  readonly pattern: WorkQueuePattern;
  readonly queue: string;
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
  /** @default - derived from the items for `coarse`, unset for `fine` */
  readonly completions?: number;
  /** @default - the manifests carry no namespace: `kubectl apply -n` or the context decides */
  readonly namespace?: string;
  /**
   * Write the Namespace object of `namespace` as the broker chart's first object (the broker's
   * `createNamespace`). `false` for a namespace that exists already or that a deployment creates itself.
   * @default true (with a `namespace`)
   */
  readonly createNamespace?: boolean;
  /**
   * The seeder's run label (`QueueSeeder`'s `run`, `SEED_RUN`): the same items with another run
   * are a new seed, seeded and worked off again, in a new worker Job.
   * @default - none: the seed is named by its items alone, and re-applying the same items runs nothing again
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
  /** @default 5 */
  readonly maxAttempts?: number;
  /**
   * Seconds one item may take before the worker stops it and counts a failed attempt
   * (`WORK_TIMEOUT_SECONDS`); with RabbitMQ, 60 s below `consumerTimeoutSeconds`.
   * @default 1500
   */
  readonly workTimeoutSeconds?: number;
  /**
   * RabbitMQ's consumer timeout in seconds (`RabbitMQStatefulSet`'s `consumerTimeoutSeconds`);
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
}

/** The KEDA settings of an autoscaled stack; see `ScaledWorkQueueJobProps`. */
export type AutoscaleConfig = Pick<
  ScaledWorkQueueJobProps,
  'maxJobs' | 'pollingIntervalSeconds' | 'scalingStrategy' | 'itemsPerJob' | 'activationQueueLength' | 'successfulJobsHistoryLimit' | 'failedJobsHistoryLimit'
>;

const TUTORIAL_ITEMS = ['apple', 'banana', 'cherry', 'date', 'fig', 'grape', 'lemon', 'melon'];

/** "Coarse Parallel Processing Using a Work Queue": RabbitMQ, one item per pod. */
export const COARSE_TUTORIAL: Omit<WorkQueueStackConfig, 'image'> = {
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
export const FINE_TUTORIAL: Omit<WorkQueueStackConfig, 'image'> = {
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
 * Checks what the constructs cannot see (which broker, the chart names); every other field is
 * checked by the construct it reaches, with the same wording.
 */
export function validateStackConfig(scope: Construct, config: WorkQueueStackConfig): void {
  if (!BROKER_KINDS.includes(config.broker)) fail(scope, 'broker', config.broker, `one of ${BROKER_KINDS.map((b) => `"${b}"`).join(', ')}`);
  checkRequired(scope, 'image', config.image, PropRules.image);
  if (config.broker === 'redis' && config.consumerTimeoutSeconds !== undefined) {
    fail(scope, 'consumerTimeoutSeconds', config.consumerTimeoutSeconds, 'nothing with broker "redis" (the consumer timeout is RabbitMQ\'s)');
  }
  if (config.broker === 'redis' && config.erlangCookie !== undefined)
    fail(scope, 'erlangCookie', SECRET_SHOWN_AS, 'nothing with broker "redis" (the cookie is for a RabbitMQ cluster)');
}
