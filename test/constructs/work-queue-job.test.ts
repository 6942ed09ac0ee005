import { type Chart, Duration } from 'cdk8s';
import { Construct } from 'constructs';
import {
  contract,
  type IQueueSeeder,
  QueueSeeder,
  RabbitMQStatefulSet,
  RedisPod,
  WorkQueueJob,
  type WorkQueueJobProps,
} from '../../constructs';
import { containerEnv, onlyJob, podSpec, synth } from '../manifests';

const IMAGE = 'job-wq:latest';
const ITEMS = ['apple', 'banana', 'cherry'];

function coarse(chart: Chart, props: Partial<WorkQueueJobProps> = {}, withSeeder = true): WorkQueueJob {
  const broker = new RabbitMQStatefulSet(chart, 'rabbitmq', { password: 'p' });
  const seeder = withSeeder
    ? new QueueSeeder(chart, 'seeder', { broker, queue: 'job1', items: ITEMS, image: IMAGE })
    : undefined;
  const externalProducer = withSeeder ? undefined : true;
  return new WorkQueueJob(chart, 'job', {
    broker,
    seeder,
    externalProducer,
    queue: 'job1',
    image: IMAGE,
    pattern: 'coarse',
    name: 'job-wq-1',
    ...props,
  });
}

/** The QueueSeeder that coarse() or fine() added to the chart. */
function seederOf(chart: Chart): QueueSeeder {
  const seeder = chart.node.findChild('seeder');
  if (!(seeder instanceof QueueSeeder))
    throw new Error(`the chart's child "seeder" is a ${seeder.constructor.name}, expected a QueueSeeder`);
  return seeder;
}

function fine(chart: Chart, props: Partial<WorkQueueJobProps> = {}): WorkQueueJob {
  const broker = new RedisPod(chart, 'redis');
  const seeder = new QueueSeeder(chart, 'seeder', { broker, queue: 'job2', items: ITEMS, image: IMAGE });
  return new WorkQueueJob(chart, 'job', {
    broker,
    seeder,
    queue: 'job2',
    image: IMAGE,
    pattern: 'fine',
    name: 'job-wq-2',
    ...props,
  });
}

describe('WorkQueueJob', () => {
  test('coarse: one item per pod, completions derived from the seeder', () => {
    const job = onlyJob(
      synth((chart) => coarse(chart)),
      'job-wq-1',
    );
    expect(job.spec.completions).toBe(3);
    expect(job.spec.parallelism).toBe(2);
    const env = containerEnv(job);
    expect(env.byName.WORKER_MODE.value).toBe('single');
    expect(env.byName.QUEUE.value).toBe('job1');
    expect(env.names).not.toContain('LEASE_SECONDS');
    expect(podSpec(job).containers[0].args).toEqual(['work']);
    expect(podSpec(job).containers[0].imagePullPolicy).toBe('Always');
  });

  test('coarse: explicit completions equal to the item count are accepted', () => {
    expect(
      onlyJob(
        synth((chart) => coarse(chart, { completions: 3 })),
        'job-wq-1',
      ).spec.completions,
    ).toBe(3);
  });

  test('coarse: explicit completions without a seeder', () => {
    expect(
      onlyJob(
        synth((chart) => coarse(chart, { completions: 5 }, false)),
        'job-wq-1',
      ).spec.completions,
    ).toBe(5);
  });

  test('fine: pods drain the list, completions unset, lease on', () => {
    const job = onlyJob(
      synth((chart) => fine(chart, { leaseDuration: Duration.seconds(45) })),
      'job-wq-2',
    );
    expect(job.spec.completions).toBeUndefined();
    expect(job.spec.parallelism).toBe(2);
    const env = containerEnv(job);
    expect(env.byName.WORKER_MODE.value).toBe('drain');
    expect(env.byName.LEASE_SECONDS.value).toBe('45');
  });

  test('maps the handler settings to the container contract, with documented defaults', () => {
    const defaults = containerEnv(
      onlyJob(
        synth((chart) => fine(chart)),
        'job-wq-2',
      ),
    ).byName;
    expect([defaults.WORK_SECONDS.value, defaults.MAX_ATTEMPTS.value, defaults.LEASE_SECONDS.value]).toEqual([
      '10',
      '5',
      '30',
    ]);
    expect(defaults.WORK_COMMAND).toBeUndefined();

    const set = containerEnv(
      onlyJob(
        synth((chart) => fine(chart, { workCommand: 'wc -c', workDuration: Duration.millis(500), maxAttempts: 3 })),
        'job-wq-2',
      ),
    ).byName;
    expect([set.WORK_COMMAND.value, set.WORK_SECONDS.value, set.MAX_ATTEMPTS.value]).toEqual(['wc -c', '0.5', '3']);
  });

  test('Job lifecycle settings have defaults and can be set', () => {
    const defaults = onlyJob(
      synth((chart) => coarse(chart)),
      'job-wq-1',
    ).spec;
    expect([defaults.backoffLimit, defaults.activeDeadlineSeconds, defaults.ttlSecondsAfterFinished]).toEqual([
      6,
      undefined,
      86400,
    ]);
    const set = onlyJob(
      synth((chart) =>
        coarse(chart, { backoffLimit: 4, activeDeadline: Duration.hours(1), ttlAfterFinished: Duration.seconds(0) }),
      ),
      'job-wq-1',
    ).spec;
    expect([set.backoffLimit, set.activeDeadlineSeconds, set.ttlSecondsAfterFinished]).toEqual([4, 3600, 0]);
  });

  test('comes after its seeder, which comes after the broker', () => {
    const manifests = synth((chart) => coarse(chart));
    const worker = manifests.indexOf(onlyJob(manifests, 'job-wq-1'));
    const seeder = manifests.indexOf(onlyJob(manifests, 'test-seeder'));
    expect(manifests.findIndex((m) => m.kind === 'StatefulSet')).toBeLessThan(seeder);
    expect(seeder).toBeLessThan(worker);
  });

  test('carries the items digest of its seeder, so a changed item list changes the Job', () => {
    let built!: WorkQueueJob;
    let seeder!: QueueSeeder;
    const job = onlyJob(
      synth((chart) => {
        built = coarse(chart);
        seeder = seederOf(chart);
      }),
      'job-wq-1',
    );
    expect(built.completions).toBe(3);
    expect(job.spec.template.metadata.annotations['work-queue-stack.io/items-sha256']).toBe(seeder.itemsDigest);
  });

  test("with a seeder, the pods wait for its seed: SEED_ID is the seeder's seedId, SEED_WAIT_SECONDS 600 unless set", () => {
    let seeder!: QueueSeeder;
    const env = (props: Partial<WorkQueueJobProps>) =>
      containerEnv(
        onlyJob(
          synth((chart) => {
            coarse(chart, props);
            seeder = seederOf(chart);
          }),
          'job-wq-1',
        ),
      ).byName;
    const defaults = env({});
    expect(seeder.seedId).toBe(contract.seedId(ITEMS));
    expect([defaults.SEED_ID.value, defaults.SEED_WAIT_SECONDS.value]).toEqual([seeder.seedId, '600']);
    expect(env({ seedWait: Duration.millis(45500) }).SEED_WAIT_SECONDS.value).toBe('45.5');
  });

  test('with externalProducer, no seed to wait for: no SEED_ID, an empty queue is done', () => {
    const names = containerEnv(
      onlyJob(
        synth((chart) => coarse(chart, { completions: 5 }, false)),
        'job-wq-1',
      ),
    ).names;
    expect(names).not.toContain('SEED_ID');
    expect(names).not.toContain('SEED_WAIT_SECONDS');
  });

  test('fails without a seeder unless externalProducer says another producer fills the queue', () => {
    expect(() => synth((chart) => coarse(chart, { completions: 5, externalProducer: undefined }, false))).toThrow(
      'test/job: externalProducer: got nothing, expected true without a seeder, to say that another producer fills the queue and an empty queue counts as done (or a seeder, whose seed the pods wait for)',
    );
    expect(() => synth((chart) => coarse(chart, { completions: 5, externalProducer: false }, false))).toThrow(
      'test/job: externalProducer: got false',
    );
  });

  test('fails on externalProducer with a seeder, and on seedWait without one or not a Duration', () => {
    expect(() => synth((chart) => coarse(chart, { externalProducer: true }))).toThrow(
      "test/job: externalProducer: got true, expected no externalProducer with a seeder: the seeder is the queue's producer, and the pods wait for its seed",
    );
    expect(() => synth((chart) => coarse(chart, { completions: 5, seedWait: Duration.minutes(1) }, false))).toThrow(
      'test/job: seedWait in seconds: got 60, expected no seedWait without a seeder: there is no seed to wait for',
    );
    expect(() => synth((chart) => coarse(chart, { seedWait: 60 as unknown as Duration }))).toThrow(
      'test/job: seedWait: got 60, expected a Duration, such as Duration.minutes(5)',
    );
  });

  test('fails on parallelism below 1 or not a whole number', () => {
    expect(() => synth((chart) => coarse(chart, { parallelism: 0 }))).toThrow(
      'test/job: parallelism: got 0, expected a whole number of at least 1',
    );
    expect(() => synth((chart) => coarse(chart, { parallelism: 1.5 }))).toThrow(
      'test/job: parallelism: got 1.5, expected a whole number of at least 1',
    );
  });

  test('fails on coarse without a seeder and without completions', () => {
    expect(() => synth((chart) => coarse(chart, {}, false))).toThrow(
      'test/job: completions: got nothing, expected a completions count, or a seeder to derive it from: a coarse Job needs one successful pod per item',
    );
  });

  test('fails on coarse completions different from the seeder item count', () => {
    expect(() => synth((chart) => coarse(chart, { completions: 8 }))).toThrow(
      /test\/job: completions: got 8, expected 3, the seeder's item count \(or leave completions unset to derive it\)/,
    );
  });

  test('fails on fine with an AMQP broker, explaining why', () => {
    expect(() => synth((chart) => coarse(chart, { pattern: 'fine' }))).toThrow(
      /test\/job: pattern: got "fine", expected "coarse" on an amqp broker: .*AMQP cannot tell a finite queue is empty/,
    );
  });

  test('fails on fine with completions', () => {
    expect(() => synth((chart) => fine(chart, { completions: 3 }))).toThrow(
      /test\/job: completions: got 3, expected no completions for the fine pattern/,
    );
  });

  test('fails on an unknown pattern', () => {
    expect(() =>
      synth((chart) => coarse(chart, { pattern: 'medium' as unknown as WorkQueueJobProps['pattern'] })),
    ).toThrow('test/job: pattern: got "medium", expected "coarse" or "fine"');
  });

  test('seeder and worker retry a lost broker connection for brokerRetry (BROKER_RETRY_SECONDS)', () => {
    const retry = (manifests: ReturnType<typeof synth>) =>
      manifests.filter((m) => m.kind === 'Job').map((job) => containerEnv(job).byName.BROKER_RETRY_SECONDS.value);
    expect(retry(synth((chart) => coarse(chart)))).toEqual(['60', '60']);
    expect(
      retry(
        synth((chart) => {
          const broker = new RedisPod(chart, 'redis');
          const seeder = new QueueSeeder(chart, 'seeder', {
            broker,
            queue: 'q',
            items: ITEMS,
            image: IMAGE,
            brokerRetry: Duration.minutes(5),
          });
          new WorkQueueJob(chart, 'job', { seeder, image: IMAGE, pattern: 'fine', brokerRetry: Duration.seconds(0) });
        }),
      ),
    ).toEqual(['300', '0']);
    expect(() => synth((chart) => coarse(chart, { brokerRetry: 60 as unknown as Duration }))).toThrow(
      'test/job: brokerRetry: got 60, expected a Duration, such as Duration.minutes(5)',
    );
  });

  test('takes broker and queue from the seeder when they are omitted', () => {
    let job!: WorkQueueJob;
    let broker!: RedisPod;
    const manifests = synth((chart) => {
      broker = new RedisPod(chart, 'redis');
      const seeder = new QueueSeeder(chart, 'seeder', { broker, queue: 'job2', items: ITEMS, image: IMAGE });
      job = new WorkQueueJob(chart, 'job', { seeder, image: IMAGE, pattern: 'fine', name: 'job-wq-2' });
    });
    expect(job.broker).toBe(broker);
    expect(job.queue).toBe('job2');
    const env = containerEnv(onlyJob(manifests, 'job-wq-2'));
    expect(env.byName.QUEUE.value).toBe('job2');
    expect(env.byName.BROKER_URL.value).toBe('redis://redis:6379');
  });

  test('accepts any IQueueSeeder, not only QueueSeeder: completions, digest and order come from it', () => {
    const manifests = synth((chart) => {
      const broker = new RabbitMQStatefulSet(chart, 'rabbitmq', { password: 'p' });
      // A team's own seeder, e.g. a CronJob or a Helm release that fills the queue.
      const seeder: IQueueSeeder = Object.assign(new Construct(chart, 'upstream'), {
        broker,
        queue: 'uploads',
        itemCount: 12,
        itemsDigest: 'f'.repeat(64),
        seedId: 'e'.repeat(32),
      });
      new WorkQueueJob(chart, 'job', { seeder, image: IMAGE, pattern: 'coarse', name: 'uploads' });
    });
    const job = onlyJob(manifests, 'uploads');
    expect(job.spec.completions).toBe(12);
    expect(job.spec.template.metadata.annotations['work-queue-stack.io/items-sha256']).toBe('f'.repeat(64));
    expect(containerEnv(job).byName.QUEUE.value).toBe('uploads');
  });

  test('fails without a broker or a queue when there is no seeder to take them from', () => {
    expect(() =>
      synth(
        (chart) =>
          new WorkQueueJob(chart, 'job', {
            queue: 'q',
            image: IMAGE,
            pattern: 'coarse',
            completions: 1,
            externalProducer: true,
          }),
      ),
    ).toThrow('test/job: broker: got nothing, expected a broker, or a seeder to take it from');
    expect(() =>
      synth(
        (chart) =>
          new WorkQueueJob(chart, 'job', {
            broker: new RedisPod(chart, 'redis'),
            image: IMAGE,
            pattern: 'fine',
            externalProducer: true,
          }),
      ),
    ).toThrow('test/job: queue: got nothing, expected a queue name, or a seeder to take it from');
  });

  test("fails on a queue or broker other than the seeder's", () => {
    expect(() =>
      synth((chart) => {
        const broker = new RabbitMQStatefulSet(chart, 'rabbitmq', { password: 'p' });
        const seeder = new QueueSeeder(chart, 'seeder', { broker, queue: 'other', items: ITEMS, image: IMAGE });
        new WorkQueueJob(chart, 'job', { broker, seeder, queue: 'job1', image: IMAGE, pattern: 'coarse' });
      }),
    ).toThrow(
      'test/job: queue: got "job1", expected "other", the seeder\'s queue (or leave queue unset to take it from the seeder)',
    );
    expect(() =>
      synth((chart) => {
        const seeder = new QueueSeeder(chart, 'seeder', {
          broker: new RedisPod(chart, 'a'),
          queue: 'q',
          items: ITEMS,
          image: IMAGE,
        });
        new WorkQueueJob(chart, 'job', {
          broker: new RedisPod(chart, 'b', { serviceName: 'b', name: 'b' }),
          seeder,
          queue: 'q',
          image: IMAGE,
          pattern: 'fine',
        });
      }),
    ).toThrow(
      'test/job: broker: got "test/b", expected the seeder\'s broker test/a (or leave broker unset to take it from the seeder)',
    );
  });

  test('fails on durations out of range or in fractions of a second where Kubernetes takes whole seconds, and on negative counts', () => {
    const cases: Array<[Partial<WorkQueueJobProps>, string]> = [
      [
        { activeDeadline: Duration.seconds(0) },
        'activeDeadline in seconds: got 0, expected a whole number of at least 1',
      ],
      [
        { activeDeadline: Duration.millis(90500) },
        'activeDeadline in seconds: got 90.5, expected a whole number of at least 1',
      ],
      [
        { ttlAfterFinished: Duration.millis(500) },
        'ttlAfterFinished in seconds: got 0.5, expected a whole number of at least 0',
      ],
      [{ backoffLimit: -1 }, 'backoffLimit: got -1, expected a whole number of at least 0'],
      [
        { leaseDuration: Duration.seconds(0) },
        'leaseDuration in seconds: got 0, expected a whole number of at least 1',
      ],
      [{ maxAttempts: 0 }, 'maxAttempts: got 0, expected a whole number of at least 1'],
    ];
    for (const [props, message] of cases)
      expect(() => synth((chart) => fine(chart, props))).toThrow(`test/job: ${message}`);
  });

  test('fails on an empty work command', () => {
    expect(() => synth((chart) => fine(chart, { workCommand: ' ' }))).toThrow(
      /test\/job: workCommand: got " ", expected a non-empty shell command/,
    );
  });

  test('fails on a bad queue name or Job name', () => {
    expect(() => synth((chart) => coarse(chart, { queue: 'amq.gen' }, false))).toThrow(
      /test\/job: queue: got "amq.gen", expected a queue name/,
    );
    expect(() => synth((chart) => coarse(chart, { name: 'Job_1' }))).toThrow(
      /test\/job: name: got "Job_1", expected a DNS-1123 label/,
    );
  });
});
