import { App, Chart } from 'cdk8s';
import { IWorkQueueBroker, QueueSeeder, RabbitMQStatefulSet, RedisPod, ScaledWorkQueueJob, WorkQueueJob } from '../constructs';
import { validateStackConfig, WorkQueueStackConfig } from './config';

/** The three charts of a stack, in the order they must be applied and awaited. */
export interface WorkQueueCharts {
  readonly broker: Chart;
  readonly seeder: Chart;
  readonly job: Chart;
}

/** A stack's charts and the constructs in them that a deployment reads: the broker's host, the Jobs. */
export interface WorkQueueStackTree {
  readonly charts: WorkQueueCharts;
  readonly broker: IWorkQueueBroker;
  readonly seeder: QueueSeeder;
  /** The worker Job, or with `autoscale` the KEDA ScaledJob that creates worker Jobs. */
  readonly job: WorkQueueJob | ScaledWorkQueueJob;
}

/**
 * One work-queue stack as three charts (broker, seeder, worker Job or, with `autoscale`, a KEDA
 * ScaledJob), each written to its own file by `cdk8s synth` and applied in that order by the
 * Pulumi program.
 */
export function addWorkQueueStack(app: App, config: WorkQueueStackConfig): WorkQueueCharts {
  return buildWorkQueueStack(app, config).charts;
}

/** As `addWorkQueueStack`, returning the constructs too. */
export function buildWorkQueueStack(app: App, config: WorkQueueStackConfig): WorkQueueStackTree {
  const chartProps = { namespace: config.namespace, disableResourceNameHashes: true };
  const brokerChart = new Chart(app, `${config.name}-broker`, chartProps);
  validateStackConfig(brokerChart, config);
  const seederChart = new Chart(app, `${config.name}-seeder`, chartProps);
  const jobChart = new Chart(app, `${config.name}-job`, chartProps);

  const brokerProps = { password: config.brokerPassword, existingSecretName: config.brokerSecretName, createNamespace: config.createNamespace };
  const broker: IWorkQueueBroker =
    config.broker === 'rabbitmq'
      ? new RabbitMQStatefulSet(brokerChart, 'rabbitmq', {
          ...brokerProps,
          replicas: config.brokerReplicas,
          erlangCookie: config.erlangCookie,
          consumerTimeoutSeconds: config.consumerTimeoutSeconds,
          workerImage: config.image,
        })
      : new RedisPod(brokerChart, 'redis', { ...brokerProps, replicas: config.brokerReplicas });

  const seeder = new QueueSeeder(seederChart, 'seeder', {
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
    seedWaitSeconds: config.seedWaitSeconds,
    workSeconds: config.workSeconds,
    workCommand: config.workCommand,
    leaseSeconds: config.leaseSeconds,
    maxAttempts: config.maxAttempts,
    workTimeoutSeconds: config.workTimeoutSeconds,
  };
  let job: WorkQueueJob | ScaledWorkQueueJob;
  if (config.autoscale) {
    const parallelism = config.pattern === 'fine' ? config.parallelism : undefined;
    job = new ScaledWorkQueueJob(jobChart, 'job', { ...worker, ...config.autoscale, parallelism });
  } else {
    job = new WorkQueueJob(jobChart, 'job', { ...worker, parallelism: config.parallelism, completions: config.completions });
  }

  return { charts: { broker: brokerChart, seeder: seederChart, job: jobChart }, broker, seeder, job };
}
