import { type App, Chart, Duration } from 'cdk8s';
import { type Construct } from 'constructs';
import {
  IndexedWorkJob,
  type IWorkQueueBroker,
  QueueSeeder,
  RabbitMQStatefulSet,
  RedisPod,
  ScaledWorkQueueJob,
  WorkQueueJob,
  type WorkQueuePattern,
} from '../constructs';
import { ensureNamespace } from '../constructs/namespace';
import { check } from '../constructs/validate';
import { Rules } from '../contract';
import {
  type IndexedStackConfig,
  type QueueStackConfig,
  validateStackConfig,
  type WorkQueueStackConfig,
} from './config';

/** The three charts of a queue stack, in the order they must be applied and awaited. */
export interface QueueStackCharts {
  readonly broker: Chart;
  readonly seeder: Chart;
  readonly job: Chart;
}

/** The one chart of an indexed stack: the Indexed Job and its items' ConfigMaps. */
export interface IndexedStackCharts {
  readonly job: Chart;
}

/** A stack's charts in apply order: broker, seeder and job for a queue pattern, the job chart alone for `indexed`. */
export type WorkQueueCharts = QueueStackCharts | IndexedStackCharts;

/** A queue stack's charts and the constructs in them that a deployment reads: the broker's host, the Jobs. */
export interface QueueStackTree {
  readonly pattern: WorkQueuePattern;
  readonly charts: QueueStackCharts;
  readonly broker: IWorkQueueBroker;
  readonly seeder: QueueSeeder;
  /** The worker Job, or with `autoscale` the KEDA ScaledJob that creates worker Jobs. */
  readonly job: WorkQueueJob | ScaledWorkQueueJob;
}

/** An indexed stack's chart and its Indexed Job. */
export interface IndexedStackTree {
  readonly pattern: 'indexed';
  readonly charts: IndexedStackCharts;
  readonly job: IndexedWorkJob;
}

/** A stack's charts and constructs, told apart by `pattern`. */
export type WorkQueueStackTree = QueueStackTree | IndexedStackTree;

/**
 * One work-queue stack as charts, each written to its own file by `cdk8s synth` and applied in
 * that order by the Pulumi program: for a queue pattern broker, seeder and worker Job (or, with
 * `autoscale`, a KEDA ScaledJob); for `indexed` one chart with the Indexed Job and its items.
 */
export function addWorkQueueStack(app: App, config: QueueStackConfig): QueueStackCharts;
export function addWorkQueueStack(app: App, config: WorkQueueStackConfig): WorkQueueCharts;
export function addWorkQueueStack(app: App, config: WorkQueueStackConfig): WorkQueueCharts {
  return buildWorkQueueStack(app, config).charts;
}

/** As `addWorkQueueStack`, returning the constructs too. */
export function buildWorkQueueStack(app: App, config: QueueStackConfig): QueueStackTree;
export function buildWorkQueueStack(app: App, config: WorkQueueStackConfig): WorkQueueStackTree;
export function buildWorkQueueStack(app: App, config: WorkQueueStackConfig): WorkQueueStackTree {
  const chartProps = { namespace: config.namespace, disableResourceNameHashes: true };
  // The stack's first chart is where its own checks report: the broker's, or an indexed stack's only one.
  const first = new Chart(app, `${config.name}-${config.pattern === 'indexed' ? 'job' : 'broker'}`, chartProps);
  const checked = validateStackConfig(first, config);
  if (checked.pattern === 'indexed') return buildIndexedStack(first, checked);
  const seederChart = new Chart(app, `${config.name}-seeder`, chartProps);
  const jobChart = new Chart(app, `${config.name}-job`, chartProps);
  return buildQueueStack({ broker: first, seeder: seederChart, job: jobChart }, checked);
}

function buildQueueStack(charts: QueueStackCharts, config: QueueStackConfig): QueueStackTree {
  const brokerProps = {
    password: config.brokerPassword,
    existingSecretName: config.brokerSecretName,
    createNamespace: config.createNamespace,
  };
  const broker: IWorkQueueBroker =
    config.broker === 'rabbitmq'
      ? new RabbitMQStatefulSet(charts.broker, 'rabbitmq', {
          ...brokerProps,
          replicas: config.brokerReplicas,
          erlangCookie: config.erlangCookie,
          consumerTimeout: durationOf(charts.broker, 'consumerTimeoutSeconds', config.consumerTimeoutSeconds),
          workerImage: config.image,
        })
      : new RedisPod(charts.broker, 'redis', { ...brokerProps, replicas: config.brokerReplicas });

  const seeder = new QueueSeeder(charts.seeder, 'seeder', {
    broker,
    queue: config.queue,
    items: config.items,
    run: config.run,
    image: config.image,
    name: `${config.jobName}-seed`,
  });

  const worker = {
    seeder,
    image: config.image,
    pattern: config.pattern,
    name: config.jobName,
    seedWait: durationOf(charts.broker, 'seedWaitSeconds', config.seedWaitSeconds),
    workDuration: durationOf(charts.broker, 'workSeconds', config.workSeconds),
    workCommand: config.workCommand,
    leaseDuration: durationOf(charts.broker, 'leaseSeconds', config.leaseSeconds),
    maxAttempts: config.maxAttempts,
    workTimeout: durationOf(charts.broker, 'workTimeoutSeconds', config.workTimeoutSeconds),
  };
  let job: WorkQueueJob | ScaledWorkQueueJob;
  if (config.autoscale) {
    const parallelism = config.pattern === 'fine' ? config.parallelism : undefined;
    const { pollingIntervalSeconds, ...autoscale } = config.autoscale;
    const pollingInterval = durationOf(charts.broker, 'autoscale.pollingIntervalSeconds', pollingIntervalSeconds);
    job = new ScaledWorkQueueJob(charts.job, 'job', { ...worker, ...autoscale, pollingInterval, parallelism });
  } else {
    job = new WorkQueueJob(charts.job, 'job', {
      ...worker,
      parallelism: config.parallelism,
      completions: config.completions,
    });
  }

  return { pattern: config.pattern, charts, broker, seeder, job };
}

/** The Indexed Job and its items' ConfigMaps, headed by the Namespace object as a queue stack's broker chart is. */
function buildIndexedStack(jobChart: Chart, config: IndexedStackConfig): IndexedStackTree {
  if (config.namespace !== undefined && config.createNamespace !== false) ensureNamespace(jobChart, config.namespace);
  const job = new IndexedWorkJob(jobChart, 'job', {
    items: config.items,
    image: config.image,
    name: config.jobName,
    parallelism: config.parallelism,
    workDuration: durationOf(jobChart, 'workSeconds', config.workSeconds),
    workCommand: config.workCommand,
    workTimeout: durationOf(jobChart, 'workTimeoutSeconds', config.workTimeoutSeconds),
    maxAttempts: config.maxAttempts,
    maxFailedItems: config.maxFailedItems,
    succeededCount: config.succeededCount,
    kubernetesVersion: config.kubernetesVersion,
    run: config.run,
  });
  return { pattern: 'indexed', charts: { job: jobChart }, job };
}

/**
 * A config field in seconds, as YAML writes it, as the Duration its construct takes. A Duration
 * cannot be negative, so that is checked here under the config's name, in the stack's first chart;
 * the construct checks the rest, under its prop's name.
 */
function durationOf(firstChart: Construct, field: string, value: number | undefined): Duration | undefined {
  check(firstChart, field, value, Rules.nonNegativeNumber);
  return value === undefined ? undefined : Duration.seconds(value);
}
