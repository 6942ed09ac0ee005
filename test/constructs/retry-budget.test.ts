import { type Chart, Duration } from 'cdk8s';
import {
  ExternalBroker,
  QueueSeeder,
  RabbitMQStatefulSet,
  type RabbitMQStatefulSetProps,
  RedisPod,
  WorkQueueJob,
  type WorkQueueJobProps,
} from '../../constructs';
import { containerEnv, onlyJob, synth, synthError } from '../manifests';

const IMAGE = 'job-wq:latest';
const ITEMS = ['apple', 'banana', 'cherry'];

function coarse(
  chart: Chart,
  props: Partial<WorkQueueJobProps> = {},
  brokerProps: RabbitMQStatefulSetProps = {},
): WorkQueueJob {
  const broker = new RabbitMQStatefulSet(chart, 'rabbitmq', { password: 'p', ...brokerProps });
  const seeder = new QueueSeeder(chart, 'seeder', { broker, queue: 'job1', items: ITEMS, image: IMAGE });
  return new WorkQueueJob(chart, 'job', { seeder, image: IMAGE, pattern: 'coarse', name: 'job-wq-1', ...props });
}

function fine(chart: Chart, props: Partial<WorkQueueJobProps> = {}): WorkQueueJob {
  const broker = new RedisPod(chart, 'redis');
  const seeder = new QueueSeeder(chart, 'seeder', { broker, queue: 'job2', items: ITEMS, image: IMAGE });
  return new WorkQueueJob(chart, 'job', { seeder, image: IMAGE, pattern: 'fine', name: 'job-wq-2', ...props });
}

describe('retry budget', () => {
  test('the defaults fit: WORK_TIMEOUT_SECONDS 1500 on every worker, consumer_timeout 1800000 in the broker conf.d file', () => {
    const manifests = synth((chart) => coarse(chart));
    expect(containerEnv(onlyJob(manifests, 'job-wq-1')).byName.WORK_TIMEOUT_SECONDS.value).toBe('1500');
    const config = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'rabbitmq-work-queue');
    expect(config?.data['30-work-queue.conf']).toBe('consumer_timeout = 1800000\n');
    const statefulSet = manifests.find((m) => m.kind === 'StatefulSet')!;
    expect(statefulSet.spec.template.spec.containers[0].volumeMounts).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          mountPath: '/etc/rabbitmq/conf.d/30-work-queue.conf',
          subPath: '30-work-queue.conf',
          readOnly: true,
        }),
        expect.objectContaining({ mountPath: '/var/lib/rabbitmq', name: 'data' }),
      ]),
    );
    expect(
      containerEnv(
        onlyJob(
          synth((chart) => fine(chart)),
          'job-wq-2',
        ),
      ).byName.WORK_TIMEOUT_SECONDS.value,
    ).toBe('1500');
  });

  test('a longer work timeout fits a broker whose consumer timeout is raised with it; a cluster mounts the same file', () => {
    const manifests = synth((chart) =>
      coarse(
        chart,
        { workTimeout: Duration.hours(2) },
        { consumerTimeout: Duration.minutes(121), replicas: 3, erlangCookie: 'c' },
      ),
    );
    expect(containerEnv(onlyJob(manifests, 'job-wq-1')).byName.WORK_TIMEOUT_SECONDS.value).toBe('7200');
    const config = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'rabbitmq-work-queue');
    expect(config?.data['30-work-queue.conf']).toBe('consumer_timeout = 7260000\n');
    const mounts = manifests
      .find((m) => m.kind === 'StatefulSet')!
      .spec.template.spec.containers[0].volumeMounts.map((m: { mountPath: string }) => m.mountPath);
    expect(mounts).toEqual(
      expect.arrayContaining([
        '/etc/rabbitmq/conf.d/30-work-queue.conf',
        '/etc/rabbitmq/conf.d/20-cluster.conf',
        '/var/lib/rabbitmq',
      ]),
    );
  });

  test("fails with one line naming workTimeout against the broker's consumer timeout", () => {
    const message = synthError((chart) => coarse(chart, { workTimeout: Duration.seconds(1790) }));
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(
      /^test\/job: workTimeout in seconds: got 1790, expected at most 1740: the broker's consumer timeout \(1800 s\) minus 60 s/,
    );
    expect(
      synthError((chart) =>
        coarse(chart, { workTimeout: Duration.minutes(10) }, { consumerTimeout: Duration.minutes(10) }),
      ),
    ).toMatch(
      /workTimeout in seconds: got 600, expected at most 540.*raise consumerTimeout of the RabbitMQStatefulSet/,
    );
  });

  test("fails for an external RabbitMQ whose consumer timeout (RabbitMQ's default unless given) is below the work timeout", () => {
    const external = (chart: Chart, consumerTimeout?: Duration) => {
      const broker = new ExternalBroker(chart, 'mq', {
        scheme: 'amqp',
        host: 'mq.example',
        existingSecretName: 'mq',
        consumerTimeout,
      });
      new WorkQueueJob(chart, 'job', {
        broker,
        queue: 'q',
        externalProducer: true,
        completions: 1,
        image: IMAGE,
        pattern: 'coarse',
        workTimeout: Duration.hours(1),
      });
    };
    expect(synthError((chart) => external(chart))).toMatch(/workTimeout in seconds: got 3600, expected at most 1740/);
    expect(() => synth((chart) => external(chart, Duration.minutes(61)))).not.toThrow();
    expect(
      synthError(
        (chart) =>
          new ExternalBroker(chart, 'r', { scheme: 'redis', host: 'r.example', consumerTimeout: Duration.minutes(1) }),
      ),
    ).toMatch(/consumerTimeout in seconds: got 60, expected no consumerTimeout for a Redis broker/);
  });

  test('fails when maxAttempts exceeds the queue delivery limit on RabbitMQ (not on Redis)', () => {
    expect(synthError((chart) => coarse(chart, { maxAttempts: 1001, backoffLimit: 1000 }))).toMatch(
      /^test\/job: maxAttempts: got 1001, expected at most 1000, the work queue's delivery limit \(x-delivery-limit\) on RabbitMQ$/,
    );
    expect(() => synth((chart) => fine(chart, { maxAttempts: 1001 }))).not.toThrow();
  });

  test('fails when activeDeadline leaves no room for the seed wait and one work timeout', () => {
    expect(synthError((chart) => coarse(chart, { activeDeadline: Duration.seconds(2000) }))).toMatch(
      /^test\/job: activeDeadline in seconds: got 2000, expected at least 2160 \(seedWait \(600 s\) \+ workTimeout \(1500 s\) \+ 60 s\)/,
    );
    expect(() => synth((chart) => coarse(chart, { activeDeadline: Duration.minutes(36) }))).not.toThrow();
  });

  test('fails when a coarse backoffLimit would fail the Job before a poison item is dead-lettered (not for fine)', () => {
    expect(synthError((chart) => coarse(chart, { maxAttempts: 10, backoffLimit: 6 }))).toMatch(
      /^test\/job: backoffLimit: got 6, expected at least 9 \(maxAttempts 10 - 1\)/,
    );
    expect(
      onlyJob(
        synth((chart) => coarse(chart, { maxAttempts: 10 })),
        'job-wq-1',
      ).spec.backoffLimit,
    ).toBe(9);
    expect(
      onlyJob(
        synth((chart) => coarse(chart, { maxAttempts: 3 })),
        'job-wq-1',
      ).spec.backoffLimit,
    ).toBe(6);
    expect(() => synth((chart) => fine(chart, { maxAttempts: 10 }))).not.toThrow();
  });

  test("fails when the built-in handler's workDuration reaches the work timeout, and for a work timeout out of range", () => {
    const minute = Duration.minutes(1);
    expect(synthError((chart) => fine(chart, { workDuration: minute, workTimeout: minute }))).toMatch(
      /^test\/job: workDuration in seconds: got 60, expected less than workTimeout \(60 s\)/,
    );
    expect(() =>
      synth((chart) => fine(chart, { workDuration: minute, workTimeout: minute, workCommand: 'true' })),
    ).not.toThrow();
    expect(synthError((chart) => fine(chart, { workTimeout: Duration.seconds(0) }))).toMatch(
      /workTimeout in seconds: got 0, expected a number of seconds greater than 0/,
    );
    expect(synthError((chart) => fine(chart, { workTimeout: Duration.days(25) }))).toMatch(
      /workTimeout in seconds: got 2160000, expected a number of seconds greater than 0 and at most 2147483 \(24.8 days\)/,
    );
    expect(synthError((chart) => coarse(chart, {}, { consumerTimeout: Duration.seconds(0) }))).toMatch(
      /consumerTimeout in seconds: got 0, expected a whole number of at least 1/,
    );
    expect(synthError((chart) => coarse(chart, {}, { consumerTimeout: Duration.millis(1_800_500) }))).toMatch(
      /consumerTimeout in seconds: got 1800.5, expected a whole number of at least 1/,
    );
  });
});
