import { App, Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { ExternalBroker, QueueSeeder, RabbitMQStatefulSet, RedisPod, WorkQueueJob } from '../../constructs';
import { schemaError } from '../k8s-schema';
import { type Manifest, synth } from '../manifests';

const IMAGE = 'job-wq:latest';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Every object has a name that is a DNS-1123 label and passes the Kubernetes schema. */
function expectValidNames(manifests: Manifest[]): void {
  expect(manifests.length).toBeGreaterThan(0);
  for (const manifest of manifests) {
    expect({ kind: manifest.kind, name: manifest.metadata.name }).toEqual({
      kind: manifest.kind,
      name: expect.stringMatching(DNS_LABEL),
    });
    expect(manifest.metadata.name!.length).toBeLessThanOrEqual(63);
    expect(schemaError(manifest)).toBeUndefined();
  }
}

function names(manifests: Manifest[], kind: string): string[] {
  return manifests.filter((m) => m.kind === kind).map((m) => m.metadata.name!);
}

describe('object names', () => {
  test('each construct with minimal props names every object it synthesizes', () => {
    expectValidNames(synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { workerImage: IMAGE })));
    expectValidNames(synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { workerImage: IMAGE, replicas: 3 })));
    expectValidNames(synth((chart) => new RedisPod(chart, 'redis')));
    expectValidNames(
      synth((chart) => {
        const broker = new RedisPod(chart, 'redis');
        new QueueSeeder(chart, 'seeder', { broker, queue: 'q', items: ['a'], image: IMAGE });
      }),
    );
    expectValidNames(
      synth((chart) => {
        const broker = new RabbitMQStatefulSet(chart, 'rabbitmq');
        const seeder = new QueueSeeder(chart, 'seeder', { broker, queue: 'q', items: ['a', 'b'], image: IMAGE });
        new WorkQueueJob(chart, 'job', { seeder, image: IMAGE, pattern: 'coarse' });
      }),
    );
    expectValidNames(
      synth((chart) => {
        const broker = new ExternalBroker(chart, 'external', { scheme: 'redis', host: 'redis.example.com' });
        new WorkQueueJob(chart, 'job', { broker, queue: 'q', image: IMAGE, pattern: 'fine', externalProducer: true });
      }),
    );
  });

  test("an unnamed Job is named from its construct path and the hash of its spec, whatever the chart's hash setting", () => {
    const build = (chart: Chart) => {
      const broker = new RedisPod(chart, 'redis');
      const seeder = new QueueSeeder(chart, 'fill', { broker, queue: 'q', items: ['a'], image: IMAGE });
      new WorkQueueJob(chart, 'drain', { seeder, image: IMAGE, pattern: 'fine' });
    };
    for (const disableResourceNameHashes of [false, true]) {
      const chart = new Chart(Testing.app(), 'fine', { disableResourceNameHashes });
      build(chart);
      const manifests = Testing.synth(chart);
      expect(names(manifests, 'Job')).toEqual([
        expect.stringMatching(/^fine-fill-[0-9a-f]{8}$/),
        expect.stringMatching(/^fine-drain-[0-9a-f]{8}$/),
      ]);
      // The instance label is the name before the hash: the same for every version of the batch.
      const worker = manifests.find((m) => m.kind === 'Job' && m.metadata.name.startsWith('fine-drain-'));
      expect(worker.metadata.labels['app.kubernetes.io/instance']).toBe('fine-drain');
      expect(worker.spec.template.metadata.labels['app.kubernetes.io/instance']).toBe('fine-drain');
    }
  });

  test('names are stable from one synth to the next', () => {
    const once = () =>
      names(
        synth((chart) => {
          const broker = new RabbitMQStatefulSet(chart, 'rabbitmq', { password: 'p' });
          const seeder = new QueueSeeder(chart, 'seeder', { broker, queue: 'q', items: ['a'], image: IMAGE });
          new WorkQueueJob(chart, 'job', { seeder, image: IMAGE, pattern: 'coarse' });
        }),
        'Job',
      );
    expect(once()).toEqual(once());
  });

  test('a long construct path is cut to 63 characters with a hash that keeps it unique', () => {
    const manifests = synth((chart) => {
      const broker = new RedisPod(chart, 'redis');
      const deep = new Construct(chart, 'x'.repeat(40));
      for (const id of ['a', 'b'])
        new WorkQueueJob(deep, `worker-of-the-nightly-thumbnail-batch-${id}`, {
          broker,
          queue: 'q',
          image: IMAGE,
          pattern: 'fine',
          externalProducer: true,
        });
    });
    const jobs = names(manifests, 'Job');
    expect(jobs).toHaveLength(2);
    expect(new Set(jobs).size).toBe(2);
    for (const name of jobs) expect(name.length).toBeLessThanOrEqual(63);
    expectValidNames(manifests);
  });

  test('two unnamed Jobs in one chart get different names', () => {
    const manifests = synth((chart) => {
      const broker = new RedisPod(chart, 'redis');
      new WorkQueueJob(chart, 'job-a', { broker, queue: 'a', image: IMAGE, pattern: 'fine', externalProducer: true });
      new WorkQueueJob(chart, 'job-b', { broker, queue: 'b', image: IMAGE, pattern: 'fine', externalProducer: true });
    });
    const jobs = names(manifests, 'Job');
    expect(jobs).toHaveLength(2);
    expect(jobs[0]).not.toBe(jobs[1]);
  });

  test('fails on two Jobs with the same name in one chart, naming both construct paths', () => {
    expect(() =>
      synth((chart) => {
        const broker = new RedisPod(chart, 'redis');
        new WorkQueueJob(chart, 'first', {
          broker,
          queue: 'a',
          image: IMAGE,
          pattern: 'fine',
          externalProducer: true,
          name: 'nightly',
        });
        new WorkQueueJob(chart, 'second', {
          broker,
          queue: 'b',
          image: IMAGE,
          pattern: 'fine',
          externalProducer: true,
          name: 'nightly',
        });
      }),
    ).toThrow(
      'test/second: name: got "nightly", expected a Job name not already taken in chart "test", but test/first has it too; give one of them another name',
    );
  });

  test('fails on a seeder named like the worker Job, and on two brokers with the default names', () => {
    expect(() =>
      synth((chart) => {
        const broker = new RedisPod(chart, 'redis');
        const seeder = new QueueSeeder(chart, 'seeder', {
          broker,
          queue: 'q',
          items: ['a'],
          image: IMAGE,
          name: 'batch',
        });
        new WorkQueueJob(chart, 'job', { seeder, image: IMAGE, pattern: 'fine', name: 'batch' });
      }),
    ).toThrow(/test\/job: name: got "batch", expected a Job name not already taken .* but test\/seeder has it too/);
    expect(() =>
      synth((chart) => {
        new RedisPod(chart, 'one');
        new RedisPod(chart, 'two');
      }),
    ).toThrow(/test\/two: name: got "redis-master", expected a StatefulSet name not already taken/);
  });

  test("fails at app.synth(), which runs the chart's validations", () => {
    const app = new App({ outdir: Testing.app().outdir });
    const chart = new Chart(app, 'team');
    const broker = new RedisPod(chart, 'redis');
    new WorkQueueJob(chart, 'first', {
      broker,
      queue: 'a',
      image: IMAGE,
      pattern: 'fine',
      externalProducer: true,
      name: 'same',
    });
    new WorkQueueJob(chart, 'second', {
      broker,
      queue: 'b',
      image: IMAGE,
      pattern: 'fine',
      externalProducer: true,
      name: 'same',
    });
    expect(() => app.synth()).toThrow(/team\/second: name: got "same"/);
  });

  test('the same name in two charts is no conflict (each chart is its own file, applied on its own)', () => {
    const app = Testing.app();
    for (const id of ['one', 'two']) {
      const chart = new Chart(app, id, { namespace: id });
      new RedisPod(chart, 'redis');
    }
    expect(() => app.synth()).not.toThrow();
  });
});
