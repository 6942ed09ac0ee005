import { type App, Chart, type ChartProps, Size, Testing } from 'cdk8s';
import {
  ExternalBroker,
  QueueSeeder,
  RabbitMQStatefulSet,
  RedisPod,
  ScaledWorkQueueJob,
  WorkQueueJob,
} from '../../constructs';

export const IMAGE = 'registry.local:5000/job-wq:1.4';

export interface FullAppOptions {
  /** RabbitMQ nodes. @default 1 */
  readonly replicas?: number;
  /** Props of every chart (namespace, labels). @default { namespace: 'batch' } */
  readonly chartProps?: ChartProps;
  /** Where `app.synth()` writes. @default - a new temporary directory (never the working directory's dist/) */
  readonly outdir?: string;
}

/**
 * An app with every construct of the library, as a user composes them: a RabbitMQ (cluster with
 * `replicas`) and a Redis in one chart, seeders and worker Jobs of both patterns in another, a
 * ScaledWorkQueueJob and an ExternalBroker with its own producer in a third. No credential is given.
 */
export function fullApp(options: FullAppOptions = {}): { app: App; charts: Chart[] } {
  const app = Testing.app(options.outdir !== undefined ? { outdir: options.outdir } : undefined);
  const chartProps = options.chartProps ?? { namespace: 'batch' };
  const brokers = new Chart(app, 'brokers', chartProps);
  const jobs = new Chart(app, 'jobs', chartProps);
  const scaled = new Chart(app, 'scaled', chartProps);

  const rabbitmq = new RabbitMQStatefulSet(brokers, 'rabbitmq', { replicas: options.replicas });
  const redis = new RedisPod(brokers, 'redis', { storage: Size.gibibytes(1) });

  const coarseSeeder = new QueueSeeder(jobs, 'coarse-seed', {
    broker: rabbitmq,
    queue: 'job1',
    items: ['a', 'b', 'c'],
    image: IMAGE,
    name: 'job-wq-1-seed',
  });
  new WorkQueueJob(jobs, 'coarse', { seeder: coarseSeeder, image: IMAGE, pattern: 'coarse', name: 'job-wq-1' });
  const fineSeeder = new QueueSeeder(jobs, 'fine-seed', {
    broker: redis,
    queue: 'job2',
    items: ['x', 'y'],
    image: IMAGE,
    run: 'nightly',
  });
  new WorkQueueJob(jobs, 'fine', { seeder: fineSeeder, image: IMAGE, pattern: 'fine' });

  new ScaledWorkQueueJob(scaled, 'uploads', {
    broker: rabbitmq,
    queue: 'uploads',
    image: IMAGE,
    pattern: 'coarse',
    maxJobs: 3,
    externalProducer: true,
  });
  const external = new ExternalBroker(scaled, 'cache', {
    scheme: 'redis',
    host: 'cache.example.com',
    existingSecretName: 'cache-credentials',
  });
  new WorkQueueJob(scaled, 'thumbnails', {
    broker: external,
    queue: 'thumbnails',
    image: IMAGE,
    pattern: 'fine',
    externalProducer: true,
  });
  return { app, charts: [brokers, jobs, scaled] };
}
