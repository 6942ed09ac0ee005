import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  QueueSeeder,
  type QueueSeederProps,
  RabbitMQStatefulSet,
  RedisPod,
  WorkQueueJob,
  type WorkQueueJobProps,
} from '../../constructs';
import { type Manifest, onlyJob, synth } from '../manifests';

const IMAGE = 'job-wq:1';
const RESOURCES: kplus.ContainerResources = {
  cpu: { request: kplus.Cpu.millis(200) },
  memory: { limit: Size.mebibytes(256) },
};

interface Variant {
  readonly seeder?: Partial<QueueSeederProps>;
  readonly worker?: Partial<WorkQueueJobProps>;
  readonly password?: string;
}

/** The names of the seeding and the worker Job of a Redis stack, and what `job.name` says. */
function jobNames(variant: Variant = {}): { seeder: string; worker: string; manifests: Manifest[] } {
  let seeder!: QueueSeeder;
  let worker!: WorkQueueJob;
  const manifests = synth((chart) => {
    const broker = new RedisPod(chart, 'redis', { password: variant.password });
    seeder = new QueueSeeder(chart, 'seeder', {
      broker,
      queue: 'q',
      items: ['a', 'b'],
      image: IMAGE,
      name: 'batch-seed',
      ...variant.seeder,
    });
    worker = new WorkQueueJob(chart, 'worker', {
      seeder,
      image: IMAGE,
      pattern: 'fine',
      name: 'batch',
      ...variant.worker,
    });
  });
  expect(onlyJob(manifests, 'batch-seed').metadata.name).toBe(seeder.job.name);
  expect(onlyJob(manifests, 'batch').metadata.name).toBe(worker.job.name);
  return { seeder: seeder.job.name, worker: worker.job.name, manifests };
}

describe('Job names', () => {
  test('are <name>-<8 hex digits>, and job.name is the whole name', () => {
    const { seeder, worker } = jobNames();
    expect(seeder).toMatch(/^batch-seed-[0-9a-f]{8}$/);
    expect(worker).toMatch(/^batch-[0-9a-f]{8}$/);
    expect(jobNames()).toMatchObject({ seeder, worker });
  });

  // Every prop that reaches a pod template: a change of any of them is a change Kubernetes refuses
  // on an existing Job, so it must be a new name.
  const templateChanges: Array<[string, Variant, Array<'seeder' | 'worker'>]> = [
    ['other items', { seeder: { items: ['a', 'c'] } }, ['seeder', 'worker']],
    ['another run of the same items', { seeder: { run: 'again' } }, ['seeder', 'worker']],
    ["the seeder's image", { seeder: { image: 'job-wq:2' } }, ['seeder']],
    ["the worker's image", { worker: { image: 'job-wq:2' } }, ['worker']],
    ["the seeder's brokerRetry", { seeder: { brokerRetry: Duration.seconds(5) } }, ['seeder']],
    ["the seeder's resources", { seeder: { resources: RESOURCES } }, ['seeder']],
    ['workDuration', { worker: { workDuration: Duration.seconds(1) } }, ['worker']],
    ['workCommand', { worker: { workCommand: 'cat' } }, ['worker']],
    ['leaseDuration', { worker: { leaseDuration: Duration.minutes(1) } }, ['worker']],
    ['maxAttempts', { worker: { maxAttempts: 2 } }, ['worker']],
    ['seedWait', { worker: { seedWait: Duration.seconds(30) } }, ['worker']],
    ["the worker's brokerRetry", { worker: { brokerRetry: Duration.seconds(5) } }, ['worker']],
    ["the worker's resources", { worker: { resources: RESOURCES } }, ['worker']],
    ['a broker password (its Secret in the pods)', { password: 'p' }, ['seeder', 'worker']],
  ];
  let base: ReturnType<typeof jobNames>;
  beforeAll(() => {
    base = jobNames();
  });
  for (const [what, variant, changed] of templateChanges) {
    test(`change with ${what}: ${changed.join(' and ')}`, () => {
      const names = jobNames(variant);
      for (const job of ['seeder', 'worker'] as const) {
        expect({ job, changed: names[job] !== base[job] }).toEqual({ job, changed: changed.includes(job) });
        expect(names[job].length).toBeLessThanOrEqual(63);
      }
    });
  }

  test('change with completions (coarse), which Kubernetes cannot change either', () => {
    const coarse = (completions: number) =>
      synth((chart) => {
        const broker = new RabbitMQStatefulSet(chart, 'rabbitmq', { password: 'p' });
        new WorkQueueJob(chart, 'job', {
          broker,
          queue: 'q',
          image: IMAGE,
          pattern: 'coarse',
          name: 'batch',
          completions,
          externalProducer: true,
        });
      });
    expect(onlyJob(coarse(3), 'batch').metadata.name).not.toBe(onlyJob(coarse(4), 'batch').metadata.name);
  });

  test('stay with what Kubernetes lets an update change: parallelism, backoffLimit, activeDeadline, ttlAfterFinished', () => {
    const changed = jobNames({
      seeder: { backoffLimit: 9, ttlAfterFinished: Duration.minutes(1) },
      worker: {
        parallelism: 7,
        backoffLimit: 1,
        activeDeadline: Duration.hours(1),
        ttlAfterFinished: Duration.seconds(0),
      },
    });
    expect([changed.seeder, changed.worker]).toEqual([base.seeder, base.worker]);
    const worker = onlyJob(changed.manifests, 'batch');
    expect([
      worker.spec.parallelism,
      worker.spec.backoffLimit,
      worker.spec.activeDeadlineSeconds,
      worker.spec.ttlSecondsAfterFinished,
    ]).toEqual([7, 1, 3600, 0]);
  });

  test('an unnamed Job takes its construct path, cut to leave room for the hash', () => {
    const manifests = synth((chart) => {
      const broker = new RedisPod(chart, 'redis');
      new WorkQueueJob(chart, 'a-worker-with-a-rather-long-construct-id-that-goes-on-and-on', {
        broker,
        queue: 'q',
        image: IMAGE,
        pattern: 'fine',
        externalProducer: true,
      });
    });
    const [job] = manifests.filter((m) => m.kind === 'Job');
    expect(job.metadata.name).toMatch(/^[a-z0-9-]{1,54}-[0-9a-f]{8}$/);
    expect(job.metadata.name!.length).toBeLessThanOrEqual(63);
  });

  test('fails at synth when the Job was changed after the construct named it, which would be an immutable-field error on apply', () => {
    expect(() =>
      synth((chart) => {
        const broker = new RedisPod(chart, 'redis');
        const worker = new WorkQueueJob(chart, 'worker', {
          broker,
          queue: 'q',
          image: IMAGE,
          pattern: 'fine',
          name: 'batch',
          externalProducer: true,
        });
        worker.job.containers[0].env.addVariable('EXTRA', kplus.EnvValue.fromValue('1'));
      }),
    ).toThrow(
      /test\/worker: name: got "batch-[0-9a-f]{8}", expected "batch-[0-9a-f]{8}", the hash of what Kubernetes cannot change on an existing Job/,
    );
  });

  test('fails on a name longer than 54 characters, which leaves no room for the hash', () => {
    expect(() => jobNames({ worker: { name: 'w'.repeat(55) } })).toThrow(
      /test\/worker: name: got "w{55}", expected at most 54 characters/,
    );
  });
});
