import { Chart, Duration, Testing } from 'cdk8s';
import {
  contract,
  ExternalBroker,
  type IWorkQueueBroker,
  QueueSeeder,
  RabbitMQStatefulSet,
  RedisPod,
  ScaledWorkQueueJob,
  type ScaledWorkQueueJobProps,
  WorkQueueJob,
} from '../../constructs';
import { crdSchemaErrors } from '../crd-schema';
import { schemaError } from '../k8s-schema';
import { type Manifest, type ManifestValue, only, synth } from '../manifests';
import { restrictedViolations } from '../pod-security';

const IMAGE = 'registry.local/job-wq@sha256:' + 'b'.repeat(64);

type BrokerKind =
  'rabbitmq' | 'redis' | 'redis-sentinel' | 'external-amqp' | 'external-redis' | 'external-redis-sentinel';

function broker(chart: Chart, kind: BrokerKind): IWorkQueueBroker {
  switch (kind) {
    case 'rabbitmq':
      return new RabbitMQStatefulSet(chart, 'broker', { password: 'p' });
    case 'redis':
      return new RedisPod(chart, 'broker');
    case 'redis-sentinel':
      return new RedisPod(chart, 'broker', { replicas: 3, password: 'p' });
    case 'external-amqp':
      return new ExternalBroker(chart, 'broker', {
        scheme: 'amqp',
        host: 'rabbit.messaging.svc',
        existingSecretName: 'rabbit',
        vhost: 'batch',
      });
    case 'external-redis':
      return new ExternalBroker(chart, 'broker', {
        scheme: 'redis',
        host: 'cache.example.com',
        tls: true,
        existingSecretName: 'cache',
        db: 2,
        caSecretName: 'cache-ca',
      });
    case 'external-redis-sentinel':
      return new ExternalBroker(chart, 'broker', {
        scheme: 'redis',
        host: 'redis-sentinel.data.svc',
        sentinelMaster: 'mymaster',
        existingSecretName: 'redis',
      });
  }
}

function scaled(kind: BrokerKind, props: Partial<ScaledWorkQueueJobProps> = {}): Manifest[] {
  return synth((chart) => {
    const b = broker(chart, kind);
    const pattern = kind.includes('redis') ? 'fine' : 'coarse';
    const brokerNamespace = kind.startsWith('external') ? undefined : 'batch';
    new ScaledWorkQueueJob(chart, 'uploads', {
      broker: b,
      queue: 'uploads',
      image: IMAGE,
      pattern,
      maxJobs: 5,
      name: 'uploads',
      brokerNamespace,
      externalProducer: true,
      ...props,
    });
  });
}

/** KEDA's objects are valid against its schema; everything else against Kubernetes'. */
function expectValid(manifests: Manifest[]): void {
  const keda = manifests.filter((m) => m.apiVersion === 'keda.sh/v1alpha1');
  expect(keda.length).toBeGreaterThan(0);
  expect(crdSchemaErrors(keda)).toEqual(keda.map(() => undefined));
  for (const manifest of manifests.filter((m) => m.apiVersion !== 'keda.sh/v1alpha1'))
    expect(schemaError(manifest)).toBeUndefined();
}

describe('ScaledWorkQueueJob', () => {
  test("RabbitMQ, coarse: a rabbitmq trigger on the queue, one item per Job, credentials from the broker's Secret", () => {
    const manifests = scaled('rabbitmq');
    expectValid(manifests);
    const scaledJob = only(manifests, 'ScaledJob', 'uploads');
    expect(scaledJob.spec.maxReplicaCount).toBe(5);
    expect(scaledJob.spec.pollingInterval).toBe(30);
    expect(scaledJob.spec.scalingStrategy).toEqual({ strategy: 'accurate' });
    expect(scaledJob.spec.rollout).toEqual({ strategy: 'gradual' });
    expect(scaledJob.spec.triggers).toEqual([
      {
        type: 'rabbitmq',
        metadata: {
          protocol: 'amqp',
          host: 'amqp://rabbitmq-service.batch.svc:5672/',
          queueName: 'uploads',
          mode: 'QueueLength',
          value: '1',
          activationValue: '0',
        },
        authenticationRef: { name: 'uploads-broker' },
      },
    ]);
    expect(scaledJob.spec.jobTargetRef).toMatchObject({ completions: 1, parallelism: 1 });

    const auth = only(manifests, 'TriggerAuthentication', 'uploads-broker');
    expect(auth.spec.secretTargetRef).toEqual([
      { parameter: 'username', name: 'rabbitmq-service-credentials', key: 'username' },
      { parameter: 'password', name: 'rabbitmq-service-credentials', key: 'password' },
    ]);
    expect(JSON.stringify(manifests.filter((m) => m.kind !== 'Secret'))).not.toContain('"p"');
  });

  test('an external Redis with Sentinel: the redis-sentinel trigger at the host and port given, both passwords from its Secret', () => {
    const manifests = scaled('external-redis-sentinel');
    expectValid(manifests);
    const [trigger] = only(manifests, 'ScaledJob', 'uploads').spec.triggers;
    expect(trigger.type).toBe('redis-sentinel');
    expect(trigger.metadata).toMatchObject({
      addresses: 'redis-sentinel.data.svc:26379',
      sentinelMaster: 'mymaster',
      databaseIndex: '0',
    });
    expect(only(manifests, 'TriggerAuthentication', 'uploads-broker').spec.secretTargetRef).toEqual([
      { parameter: 'password', name: 'redis', key: 'password' },
      { parameter: 'sentinelPassword', name: 'redis', key: 'password' },
    ]);
  });

  test('Redis, fine: a redis trigger on the pending list, Jobs that drain, no TriggerAuthentication without a password', () => {
    const manifests = scaled('redis', { itemsPerJob: 50, activationQueueLength: 3, parallelism: 2 });
    expectValid(manifests);
    const scaledJob = only(manifests, 'ScaledJob', 'uploads');
    expect(scaledJob.spec.scalingStrategy).toEqual({ strategy: 'default' });
    expect(scaledJob.spec.triggers).toEqual([
      {
        type: 'redis',
        metadata: {
          address: 'redis.batch.svc:6379',
          listName: 'uploads',
          listLength: '50',
          activationListLength: '3',
          databaseIndex: '0',
          enableTLS: 'false',
        },
      },
    ]);
    expect(scaledJob.spec.jobTargetRef.completions).toBeUndefined();
    expect(scaledJob.spec.jobTargetRef.parallelism).toBe(2);
    expect(manifests.filter((m) => m.kind === 'TriggerAuthentication')).toHaveLength(0);
  });

  test("Redis with replicas: a redis-sentinel trigger that asks the Sentinels for the primary, both passwords from the broker's Secret", () => {
    const manifests = scaled('redis-sentinel', { itemsPerJob: 20 });
    expectValid(manifests);
    const scaledJob = only(manifests, 'ScaledJob', 'uploads');
    expect(scaledJob.spec.triggers).toEqual([
      {
        type: 'redis-sentinel',
        metadata: {
          addresses: 'redis.batch.svc:26379',
          sentinelMaster: 'redis-master',
          listName: 'uploads',
          listLength: '20',
          activationListLength: '0',
          databaseIndex: '0',
          enableTLS: 'false',
        },
        authenticationRef: { name: 'uploads-broker' },
      },
    ]);
    expect(only(manifests, 'TriggerAuthentication', 'uploads-broker').spec.secretTargetRef).toEqual([
      { parameter: 'password', name: 'redis-credentials', key: 'password' },
      { parameter: 'sentinelPassword', name: 'redis-credentials', key: 'password' },
    ]);
    // KEDA's operator reaches the Sentinels and the primary they name.
    expect(only(manifests, 'NetworkPolicy').spec.ingress[2].ports).toEqual([
      { port: 6379, protocol: 'TCP' },
      { port: 26379, protocol: 'TCP' },
    ]);
    expect(JSON.stringify(manifests.filter((m) => m.kind !== 'Secret'))).not.toContain('"p"');
  });

  test("the Jobs are WorkQueueJob's: the same hardened pod template, worker settings and failure policy", () => {
    const settings = {
      workDuration: Duration.seconds(2),
      maxAttempts: 3,
      leaseDuration: Duration.seconds(45),
      workCommand: 'convert',
      backoffLimit: 2,
      ttlAfterFinished: Duration.minutes(10),
    };
    const scaledSpec = only(scaled('redis', settings), 'ScaledJob').spec.jobTargetRef;
    const jobSpec = only(
      synth((chart) => {
        new WorkQueueJob(chart, 'uploads', {
          broker: broker(chart, 'redis'),
          queue: 'uploads',
          image: IMAGE,
          pattern: 'fine',
          name: 'uploads',
          parallelism: 1,
          externalProducer: true,
          ...settings,
        });
      }),
      'Job',
    ).spec;
    const withoutAddress = (spec: ManifestValue): ManifestValue => {
      const copy: ManifestValue = JSON.parse(JSON.stringify(spec));
      delete copy.template.metadata.labels['cdk8s.io/metadata.addr'];
      return copy;
    };
    expect(withoutAddress(scaledSpec)).toEqual(withoutAddress(jobSpec));
    expect(restrictedViolations(scaledSpec.template.spec)).toEqual([]);
    expect(scaledSpec.template.metadata.labels['work-queue-stack.io/client-of']).toBe('redis');
  });

  test('ExternalBroker: vhost and database in the triggers, Redis over TLS with a private CA, credentials by Secret reference', () => {
    const amqp = scaled('external-amqp');
    expectValid(amqp);
    expect(only(amqp, 'ScaledJob').spec.triggers[0].metadata.host).toBe('amqp://rabbit.messaging.svc:5672/batch');
    expect(
      only(amqp, 'TriggerAuthentication').spec.secretTargetRef.map((r: ManifestValue) => [r.parameter, r.name, r.key]),
    ).toEqual([
      ['username', 'rabbit', 'username'],
      ['password', 'rabbit', 'password'],
    ]);

    const redis = scaled('external-redis');
    expectValid(redis);
    expect(only(redis, 'ScaledJob').spec.triggers[0].metadata).toMatchObject({
      address: 'cache.example.com:6379',
      databaseIndex: '2',
      enableTLS: 'true',
    });
    expect(only(redis, 'TriggerAuthentication').spec.secretTargetRef).toEqual([
      { parameter: 'password', name: 'cache', key: 'password' },
      { parameter: 'ca', name: 'cache-ca', key: 'ca.crt' },
    ]);
    const pod = only(redis, 'ScaledJob').spec.jobTargetRef.template.spec;
    expect(pod.volumes).toContainEqual(expect.objectContaining({ name: 'broker-ca' }));
  });

  test('takes broker and queue from a seeder, orders itself after broker and seeder, and is named from its path when unnamed', () => {
    const manifests = synth((chart) => {
      const b = broker(chart, 'rabbitmq');
      const seeder = new QueueSeeder(chart, 'seeder', { broker: b, queue: 'backlog', items: ['a', 'b'], image: IMAGE });
      new ScaledWorkQueueJob(chart, 'workers', {
        seeder,
        image: IMAGE,
        pattern: 'coarse',
        maxJobs: 3,
        brokerNamespace: 'batch',
      });
    });
    const kinds = manifests.map((m) => m.kind);
    expect(kinds.indexOf('ScaledJob')).toBeGreaterThan(kinds.indexOf('StatefulSet'));
    expect(kinds.indexOf('ScaledJob')).toBeGreaterThan(kinds.lastIndexOf('Job'));
    const scaledJob = only(manifests, 'ScaledJob');
    expect(scaledJob.metadata.name).toMatch(/^test-workers-[0-9a-f]{8}$/);
    expect(scaledJob.spec.triggers[0].metadata.queueName).toBe('backlog');
    expect(manifests.filter((m) => m.kind === 'Job')).toHaveLength(1); // the seeder's; the template is not synthesized
    // Its Jobs wait for the seed as WorkQueueJob's pods do.
    const env = Object.fromEntries(
      scaledJob.spec.jobTargetRef.template.spec.containers[0].env.map((e: ManifestValue) => [e.name, e.value]),
    );
    expect([env.SEED_ID, env.SEED_WAIT_SECONDS]).toEqual([contract.seedId(['a', 'b']), '600']);
  });

  test("names an in-chart broker by <service>.<namespace>.svc, which resolves from KEDA's own namespace too", () => {
    const namespaced = new Chart(Testing.app(), 'ns', { namespace: 'jobs' });
    new ScaledWorkQueueJob(namespaced, 'w', {
      broker: new RedisPod(namespaced, 'redis'),
      queue: 'q',
      image: IMAGE,
      pattern: 'fine',
      maxJobs: 1,
      externalProducer: true,
    });
    expect(only(Testing.synth(namespaced), 'ScaledJob').spec.triggers[0].metadata.address).toBe('redis.jobs.svc:6379');
    expect(() =>
      synth((chart) => {
        new ScaledWorkQueueJob(chart, 'w', {
          broker: new RedisPod(chart, 'redis'),
          queue: 'q',
          image: IMAGE,
          pattern: 'fine',
          maxJobs: 1,
          externalProducer: true,
        });
      }),
    ).toThrow(
      'test/w: brokerNamespace: got nothing, expected the namespace of the broker\'s Service "redis" (or a chart namespace)',
    );
    expect(() => scaled('external-redis', { brokerNamespace: 'x' })).toThrow(
      'test/uploads: brokerNamespace: got "x", expected no brokerNamespace for an ExternalBroker',
    );
  });

  test("the broker's NetworkPolicy admits KEDA's operator, which reads the queue from its own namespace", () => {
    const ingress = (manifests: Manifest[]) => only(manifests, 'NetworkPolicy').spec.ingress;
    expect(ingress(scaled('rabbitmq'))[1]).toEqual({
      from: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } },
          podSelector: { matchLabels: { 'app.kubernetes.io/name': 'keda-operator' } },
        },
      ],
      ports: [{ port: 5672, protocol: 'TCP' }],
    });
    const aks = ingress(
      scaled('redis', { kedaNamespace: 'kube-system', kedaOperatorLabels: { app: 'keda-operator' } }),
    )[1];
    expect(aks.from).toEqual([
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
        podSelector: { matchLabels: { app: 'keda-operator' } },
      },
    ]);
    expect(aks.ports).toEqual([{ port: 6379, protocol: 'TCP' }]);
  });

  test('a custom scaling strategy with its parameters', () => {
    const manifests = scaled('rabbitmq', {
      scalingStrategy: 'custom',
      customScalingQueueLengthDeduction: 1,
      customScalingRunningJobPercentage: 0.5,
      pollingInterval: Duration.seconds(5),
    });
    expectValid(manifests);
    const spec = only(manifests, 'ScaledJob').spec;
    expect(spec.scalingStrategy).toEqual({
      strategy: 'custom',
      customScalingQueueLengthDeduction: 1,
      customScalingRunningJobPercentage: '0.5',
    });
    expect(spec.pollingInterval).toBe(5);
  });

  const fails: Array<[string, BrokerKind, Partial<ScaledWorkQueueJobProps> & Record<string, unknown>, string]> = [
    ['maxJobs 0', 'rabbitmq', { maxJobs: 0 }, 'maxJobs: got 0, expected a whole number of at least 1'],
    ['no maxJobs', 'rabbitmq', { maxJobs: undefined }, 'maxJobs: got nothing, expected a whole number of at least 1'],
    [
      'the fine pattern on AMQP',
      'rabbitmq',
      { pattern: 'fine' },
      'pattern: got "fine", expected "coarse" on an amqp broker',
    ],
    ['completions given', 'redis', { completions: 4 }, 'completions: got 4, expected no completions'],
    [
      'parallelism for coarse',
      'rabbitmq',
      { parallelism: 2 },
      'parallelism: got 2, expected no parallelism for the coarse pattern',
    ],
    [
      'an unknown scaling strategy',
      'redis',
      { scalingStrategy: 'eager' as unknown as ScaledWorkQueueJobProps['scalingStrategy'] },
      'scalingStrategy: got "eager", expected "default", "custom" or "accurate"',
    ],
    [
      'custom parameters without the custom strategy',
      'redis',
      { customScalingRunningJobPercentage: 0.5 },
      'customScalingRunningJobPercentage: got 0.5, expected no customScalingRunningJobPercentage without scalingStrategy: "custom"',
    ],
    [
      'a polling interval in fractions of a second',
      'redis',
      { pollingInterval: Duration.millis(2500) },
      'pollingInterval in seconds: got 2.5, expected a whole number of at least 1',
    ],
    [
      "a name too long for KEDA's Job names",
      'redis',
      { name: 'x'.repeat(58) },
      `name: got "${'x'.repeat(58)}", expected at most 57 characters`,
    ],
  ];
  for (const [what, kind, props, message] of fails) {
    test(`fails on ${what}`, () => {
      expect(() => scaled(kind, props)).toThrow(`test/uploads: ${message}`);
    });
  }

  test('fails on a seeder of another queue or broker, and on AMQP over TLS', () => {
    expect(() =>
      synth((chart) => {
        const b = broker(chart, 'redis');
        const seeder = new QueueSeeder(chart, 'seeder', { broker: b, queue: 'a', items: ['x'], image: IMAGE });
        new ScaledWorkQueueJob(chart, 'uploads', {
          seeder,
          queue: 'b',
          image: IMAGE,
          pattern: 'fine',
          maxJobs: 2,
          brokerNamespace: 'batch',
        });
      }),
    ).toThrow('test/uploads: queue: got "b", expected "a", the seeder\'s queue');
    expect(() =>
      synth((chart) => {
        const b = new ExternalBroker(chart, 'mq', { scheme: 'amqp', host: 'mq.example.com', tls: true });
        new ScaledWorkQueueJob(chart, 'uploads', {
          broker: b,
          queue: 'q',
          image: IMAGE,
          pattern: 'coarse',
          maxJobs: 2,
          externalProducer: true,
        });
      }),
    ).toThrow(/test\/uploads: broker: got "test\/mq", expected an AMQP broker without TLS/);
  });
});
