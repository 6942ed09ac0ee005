import { type App, Testing } from 'cdk8s';
import {
  COARSE_TUTORIAL,
  FINE_TUTORIAL,
  INDEXED_EXAMPLE,
  type IndexedStackConfig,
  type QueueStackConfig,
  type WorkQueueStackConfig,
} from '../../stacks/config';
import { addWorkQueueStack, buildWorkQueueStack, type QueueStackCharts } from '../../stacks/work-queue-stack';
import { seedId } from '../../contract';
import { crdSchemaErrors } from '../crd-schema';
import { containerEnv, type Manifest, manifestsOf, only, podSpec } from '../manifests';

const coarse: QueueStackConfig = { ...COARSE_TUTORIAL, image: 'job-wq:1' };
const fine: QueueStackConfig = { ...FINE_TUTORIAL, image: 'job-wq:1' };
const indexed: IndexedStackConfig = { ...INDEXED_EXAMPLE, image: 'job-wq:1' };

/** Every object of a stack, in its charts' order. */
const objectsOf = (charts: QueueStackCharts) =>
  [charts.broker, charts.seeder, charts.job].flatMap((chart) => manifestsOf(chart));
/** The one Job whose name is `<prefix>-<8 hex digits>`. */
const jobNamed = (objects: Manifest[], prefix: string) => {
  const found = objects.filter(
    (m) => m.kind === 'Job' && new RegExp(`^${prefix}-[0-9a-f]{8}$`).test(m.metadata.name ?? ''),
  );
  expect(found).toHaveLength(1);
  return found[0];
};

describe('addWorkQueueStack', () => {
  test('returns the broker, seeder and job charts in apply order', () => {
    const charts = addWorkQueueStack(Testing.app(), coarse);
    expect([charts.broker, charts.seeder, charts.job].map((c) => c.node.id)).toEqual([
      'coarse-broker',
      'coarse-seeder',
      'coarse-job',
    ]);
    expect(manifestsOf(charts.seeder).map((m) => m.kind)).toEqual(['ConfigMap', 'Job']);
    expect(manifestsOf(charts.job).map((m) => m.kind)).toEqual(['Job']);
  });

  test('puts every object in the configured namespace, whose Namespace object heads the broker chart', () => {
    for (const config of [coarse, fine]) {
      const objects = objectsOf(addWorkQueueStack(Testing.app(), { ...config, namespace: 'batch' }));
      expect(objects[0]).toMatchObject({ kind: 'Namespace', metadata: { name: 'batch' } });
      for (const m of objects.slice(1)) expect(m.metadata.namespace).toBe('batch');
    }
  });

  test('createNamespace: false writes no Namespace object, for a namespace that exists already', () => {
    const objects = objectsOf(
      addWorkQueueStack(Testing.app(), { ...coarse, namespace: 'batch', createNamespace: false }),
    );
    expect(objects.map((m) => m.kind)).not.toContain('Namespace');
    for (const m of objects) expect(m.metadata.namespace).toBe('batch');
  });

  test('labels every object for `kubectl apply --prune -l app.kubernetes.io/part-of=work-queue-stack`', () => {
    for (const config of [coarse, fine, { ...coarse, brokerReplicas: 3, namespace: 'batch' }]) {
      for (const m of objectsOf(addWorkQueueStack(Testing.app(), config))) {
        expect({ object: `${m.kind}/${String(m.metadata.name)}`, labels: m.metadata.labels }).toMatchObject({
          object: `${m.kind}/${String(m.metadata.name)}`,
          labels: {
            'app.kubernetes.io/name': expect.any(String),
            'app.kubernetes.io/instance': expect.any(String),
            'app.kubernetes.io/part-of': 'work-queue-stack',
            'app.kubernetes.io/managed-by': 'work-queue-stack',
          },
        });
      }
    }
  });

  test.each([
    ['one node', {}],
    ['brokerReplicas 3', { brokerReplicas: 3 }],
  ])('is deterministic with RabbitMQ on %s: two synths are the same, and hold no credential', (_, extra) => {
    const render = () => objectsOf(addWorkQueueStack(Testing.app(), { ...coarse, ...extra }));
    const first = render();
    expect(render()).toEqual(first);
    expect(first.filter((m) => m.kind === 'Secret')).toEqual([]);
  });

  test("without a password, RabbitMQ's credentials come from a Job of the stack's image that creates them in the cluster", () => {
    const broker = manifestsOf(addWorkQueueStack(Testing.app(), coarse).broker);
    expect(broker.map((m) => m.kind)).toEqual(expect.arrayContaining(['ServiceAccount', 'Role', 'RoleBinding', 'Job']));
    expect(podSpec(only(broker, 'Job')).containers[0].image).toBe('job-wq:1');
    expect(broker.filter((m) => m.kind === 'Secret')).toEqual([]);
  });

  test('run and seedWaitSeconds reach the seeder and the workers; another run is a new seeding Job and a new worker Job', () => {
    const first = objectsOf(addWorkQueueStack(Testing.app(), coarse));
    const again = objectsOf(addWorkQueueStack(Testing.app(), { ...coarse, run: '2024-06-01', seedWaitSeconds: 90 }));
    expect(containerEnv(jobNamed(again, 'job-wq-1-seed')).byName.SEED_RUN.value).toBe('2024-06-01');
    expect(containerEnv(jobNamed(first, 'job-wq-1-seed')).byName.SEED_RUN).toBeUndefined();
    const worker = containerEnv(jobNamed(again, 'job-wq-1')).byName;
    expect(worker.SEED_ID.value).toBe(seedId(coarse.items, '2024-06-01'));
    expect(worker.SEED_WAIT_SECONDS.value).toBe('90');
    expect(containerEnv(jobNamed(first, 'job-wq-1')).byName.SEED_WAIT_SECONDS.value).toBe('600');
    for (const prefix of ['job-wq-1-seed', 'job-wq-1'])
      expect(jobNamed(again, prefix).metadata.name).not.toBe(jobNamed(first, prefix).metadata.name);
  });

  test('workTimeoutSeconds and consumerTimeoutSeconds reach the workers and the broker; an inconsistent pair fails with one line', () => {
    const objects = objectsOf(
      addWorkQueueStack(Testing.app(), { ...coarse, workTimeoutSeconds: 3600, consumerTimeoutSeconds: 3660 }),
    );
    expect(containerEnv(jobNamed(objects, 'job-wq-1')).byName.WORK_TIMEOUT_SECONDS.value).toBe('3600');
    expect(only(objects, 'ConfigMap', 'rabbitmq-work-queue').data['30-work-queue.conf']).toBe(
      'consumer_timeout = 3660000\n',
    );
    expect(() => addWorkQueueStack(Testing.app(), { ...coarse, workTimeoutSeconds: 3600 })).toThrow(
      /^coarse-job\/job: workTimeout in seconds: got 3600, expected at most 1740: the broker's consumer timeout \(1800 s\)[^\n]*$/,
    );
    expect(() => addWorkQueueStack(Testing.app(), { ...fine, consumerTimeoutSeconds: 60 })).toThrow(
      'fine-broker: consumerTimeoutSeconds: got 60, expected nothing with broker "redis"',
    );
  });

  test('the fields in seconds reach the constructs as Durations: leaseSeconds, workSeconds and autoscale.pollingIntervalSeconds', () => {
    const objects = objectsOf(addWorkQueueStack(Testing.app(), { ...fine, leaseSeconds: 45, workSeconds: 2.5 }));
    expect(containerEnv(jobNamed(objects, 'job-wq-2')).byName.LEASE_SECONDS.value).toBe('45');
    expect(containerEnv(jobNamed(objects, 'job-wq-2')).byName.WORK_SECONDS.value).toBe('2.5');
    const autoscaled = manifestsOf(
      addWorkQueueStack(Testing.app(), {
        ...fine,
        namespace: 'batch',
        autoscale: { maxJobs: 2, pollingIntervalSeconds: 10 },
      }).job,
    );
    expect(only(autoscaled, 'ScaledJob').spec.pollingInterval).toBe(10);
    expect(
      only(
        manifestsOf(addWorkQueueStack(Testing.app(), { ...fine, namespace: 'batch', autoscale: { maxJobs: 2 } }).job),
        'ScaledJob',
      ).spec.pollingInterval,
    ).toBe(30);
  });

  test('fails with one line naming the config field on seconds below 0, and the construct prop on the rest', () => {
    expect(() => addWorkQueueStack(Testing.app(), { ...fine, leaseSeconds: -1 })).toThrow(
      /^fine-broker: leaseSeconds: got -1, expected a finite number of at least 0$/,
    );
    expect(() =>
      addWorkQueueStack(Testing.app(), {
        ...fine,
        namespace: 'batch',
        autoscale: { maxJobs: 2, pollingIntervalSeconds: -5 },
      }),
    ).toThrow(/^fine-broker: autoscale.pollingIntervalSeconds: got -5, expected a finite number of at least 0$/);
    expect(() => addWorkQueueStack(Testing.app(), { ...indexed, workTimeoutSeconds: -1 })).toThrow(
      /^indexed-job: workTimeoutSeconds: got -1, expected a finite number of at least 0$/,
    );
    expect(() => addWorkQueueStack(Testing.app(), { ...fine, leaseSeconds: 1.5 })).toThrow(
      /^fine-job\/job: leaseDuration in seconds: got 1.5, expected a whole number of at least 1$/,
    );
  });

  test('uses an existing broker Secret when named', () => {
    const charts = addWorkQueueStack(Testing.app(), { ...COARSE_TUTORIAL, image: 'i', brokerSecretName: 'mq' });
    expect(manifestsOf(charts.broker).filter((m) => m.kind === 'Secret')).toEqual([]);
  });

  test('autoscale: the job chart holds a KEDA ScaledJob instead of the worker Job, for both tutorials', () => {
    const coarseJob = manifestsOf(
      addWorkQueueStack(Testing.app(), { ...coarse, namespace: 'batch', autoscale: { maxJobs: 4 } }).job,
    );
    expect(coarseJob.map((m) => m.kind)).toEqual(['TriggerAuthentication', 'ScaledJob']);
    const scaledJob = coarseJob[1];
    expect(scaledJob.metadata.name).toBe('job-wq-1');
    expect(scaledJob.spec.maxReplicaCount).toBe(4);
    expect(scaledJob.spec.jobTargetRef).toMatchObject({ completions: 1, parallelism: 1 });

    const fineJob = manifestsOf(
      addWorkQueueStack(Testing.app(), { ...fine, namespace: 'batch', autoscale: { maxJobs: 2, itemsPerJob: 5 } }).job,
    );
    expect(fineJob.map((m) => m.kind)).toEqual(['ScaledJob']);
    expect(fineJob[0].spec.jobTargetRef.parallelism).toBe(2);
    expect(fineJob[0].spec.triggers[0].metadata.listLength).toBe('5');
    expect(crdSchemaErrors([...coarseJob, ...fineJob])).toEqual([undefined, undefined, undefined]);
  });

  test('matches the snapshot of both tutorials', () => {
    const app: App = Testing.app();
    const charts = [addWorkQueueStack(app, coarse), addWorkQueueStack(app, fine)];
    expect(charts.map((c) => Object.values(c).map((chart) => chart.toJson()))).toMatchSnapshot();
  });

  test('brokerReplicas: a RabbitMQ cluster of that many nodes with the given Erlang cookie', () => {
    const broker = manifestsOf(
      addWorkQueueStack(Testing.app(), {
        ...coarse,
        brokerReplicas: 3,
        brokerPassword: 'fixed-password',
        erlangCookie: 'fixed-cookie',
      }).broker,
    );
    expect(broker.find((m) => m.kind === 'StatefulSet')?.spec.replicas).toBe(3);
    expect(broker.find((m) => m.metadata.name === 'rabbitmq-service-erlang-cookie')?.stringData.cookie).toBe(
      'fixed-cookie',
    );
    expect(broker.map((m) => m.kind)).toContain('PodDisruptionBudget');
  });

  test('brokerReplicas with Redis: data nodes and Sentinels, whose primary the seeder and workers ask Sentinel for', () => {
    const stack = addWorkQueueStack(Testing.app(), { ...fine, brokerReplicas: 3, brokerPassword: 'fixed-password' });
    const broker = manifestsOf(stack.broker);
    const statefulSet = broker.find((m) => m.kind === 'StatefulSet');
    expect(statefulSet?.spec.replicas).toBe(3);
    expect(statefulSet?.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual([
      'redis',
      'sentinel',
    ]);
    expect(broker.map((m) => m.kind)).toContain('PodDisruptionBudget');
    for (const chart of [stack.seeder, stack.job]) {
      const urls = manifestsOf(chart)
        .flatMap((m) => m.spec?.template?.spec?.containers ?? [])
        .flatMap((c: { env?: Array<{ name: string; value?: string }> }) => c.env ?? [])
        .filter((variable: { name: string }) => variable.name === 'BROKER_URL')
        .map((variable: { value?: string }) => variable.value);
      expect(urls.length).toBeGreaterThan(0);
      for (const url of urls) expect(url).toBe('redis+sentinel://:$(BROKER_PASSWORD)@redis:26379/redis-master/0');
    }
  });

  test('fails on brokerReplicas the broker cannot run, and on a cookie without a cluster', () => {
    expect(() => addWorkQueueStack(Testing.app(), { ...coarse, brokerReplicas: 2 })).toThrow(
      /^coarse-broker\/rabbitmq: replicas: got 2, expected 1, or an odd number of at least 3/,
    );
    expect(() => addWorkQueueStack(Testing.app(), { ...fine, brokerReplicas: 2 })).toThrow(
      'fine-broker/redis: replicas: got 2, expected 1, or an odd number of at least 3: a cluster goes on while a majority of its members is up',
    );
    expect(() => addWorkQueueStack(Testing.app(), { ...fine, brokerReplicas: 1 })).not.toThrow();
    expect(() => addWorkQueueStack(Testing.app(), { ...fine, erlangCookie: 'secret-cookie' })).toThrow(
      'fine-broker: erlangCookie: got "[secret]", expected nothing with broker "redis" (the cookie is for a RabbitMQ cluster)',
    );
    expect(() => addWorkQueueStack(Testing.app(), { ...coarse, erlangCookie: 'secret-cookie' })).toThrow(
      /^coarse-broker\/rabbitmq: erlangCookie: got "\[secret\]", expected no erlangCookie for a single node/,
    );
  });

  test('fails on an unknown pattern, and on a queue pattern without its broker or queue', () => {
    expect(() =>
      addWorkQueueStack(Testing.app(), { ...coarse, pattern: 'medium' as unknown as WorkQueueStackConfig['pattern'] }),
    ).toThrow('coarse-broker: pattern: got "medium", expected one of "coarse", "fine", "indexed"');
    expect(() => addWorkQueueStack(Testing.app(), { ...coarse, broker: undefined })).toThrow(
      'coarse-broker: broker: got nothing, expected one of "rabbitmq", "redis"',
    );
    expect(() => addWorkQueueStack(Testing.app(), { ...fine, queue: undefined })).toThrow(
      'fine-broker: queue: got nothing, expected a queue name: pattern "fine" hands out its items through a queue',
    );
  });

  test('fails on an unknown broker', () => {
    expect(() =>
      addWorkQueueStack(Testing.app(), { ...coarse, broker: 'kafka' as unknown as WorkQueueStackConfig['broker'] }),
    ).toThrow('coarse-broker: broker: got "kafka", expected one of "rabbitmq", "redis"');
  });

  test('fails on an empty image', () => {
    expect(() => addWorkQueueStack(Testing.app(), { ...coarse, image: '' })).toThrow(
      /coarse-broker: image: got "", expected a container image reference/,
    );
  });

  test('fails with the construct messages on bad fields', () => {
    expect(() => addWorkQueueStack(Testing.app(), { ...coarse, completions: 9 })).toThrow(
      /coarse-job\/job: completions: got 9, expected 8, the seeder's item count/,
    );
    expect(() => addWorkQueueStack(Testing.app(), { ...coarse, queue: 'job 1' })).toThrow(
      /coarse-seeder\/seeder: queue: got "job 1"/,
    );
    expect(() => addWorkQueueStack(Testing.app(), { ...fine, broker: 'rabbitmq' })).toThrow(
      /fine-job\/job: pattern: got "fine", expected "coarse" on an amqp broker/,
    );
    expect(() => addWorkQueueStack(Testing.app(), { ...coarse, jobName: 'Job1' })).toThrow(
      /coarse-seeder\/seeder: name: got "Job1-seed", expected a DNS-1123 label/,
    );
  });
});

describe('addWorkQueueStack with pattern indexed', () => {
  const indexedObjects = (config: WorkQueueStackConfig) => manifestsOf(addWorkQueueStack(Testing.app(), config).job);

  test('builds the job chart alone: the items ConfigMap and the Indexed Job, no broker, no seeder', () => {
    const tree = buildWorkQueueStack(Testing.app(), indexed);
    expect(tree.pattern).toBe('indexed');
    expect(Object.keys(tree.charts)).toEqual(['job']);
    expect(tree.charts.job.node.id).toBe('indexed-job');
    const objects = manifestsOf(tree.charts.job);
    expect(objects.map((m) => m.kind)).toEqual(['ConfigMap', 'Job']);
    const job = jobNamed(objects, 'job-wq-3');
    expect(job.spec).toMatchObject({
      completionMode: 'Indexed',
      completions: 8,
      parallelism: 2,
      backoffLimitPerIndex: 4,
    });
    expect(job.spec.backoffLimit).toBeUndefined();
    const env = containerEnv(job).byName;
    expect(env.WORKER_MODE.value).toBe('indexed');
    expect(env.WORK_SECONDS.value).toBe('10');
    for (const variable of ['BROKER_URL', 'QUEUE', 'SEED_ID']) expect(env[variable]).toBeUndefined();
    expect(JSON.parse(only(objects, 'ConfigMap').data['items-0.json'])).toEqual(INDEXED_EXAMPLE.items);
  });

  test('the work settings and the failure budget reach the Indexed Job', () => {
    const job = jobNamed(
      indexedObjects({
        ...indexed,
        maxAttempts: 3,
        maxFailedItems: 2,
        succeededCount: 6,
        workCommand: 'convert',
        workTimeoutSeconds: 600,
        parallelism: 4,
      }),
      'job-wq-3',
    );
    expect(job.spec).toMatchObject({
      backoffLimitPerIndex: 2,
      maxFailedIndexes: 2,
      successPolicy: { rules: [{ succeededCount: 6 }] },
      parallelism: 4,
    });
    expect(containerEnv(job).byName.WORK_COMMAND.value).toBe('convert');
    expect(containerEnv(job).byName.WORK_TIMEOUT_SECONDS.value).toBe('600');
  });

  test('another run or other items are a new Job; the same config is the same objects', () => {
    const first = indexedObjects(indexed);
    expect(indexedObjects(indexed)).toEqual(first);
    for (const changed of [
      { ...indexed, run: '2' },
      { ...indexed, items: ['kiwi', 'lime'] },
    ]) {
      expect(jobNamed(indexedObjects(changed), 'job-wq-3').metadata.name).not.toBe(
        jobNamed(first, 'job-wq-3').metadata.name,
      );
    }
  });

  test('puts every object in the namespace, whose Namespace object heads the job chart unless createNamespace is false', () => {
    const objects = indexedObjects({ ...indexed, namespace: 'batch' });
    expect(objects.map((m) => m.kind)).toEqual(['Namespace', 'ConfigMap', 'Job']);
    expect(objects[0].metadata.name).toBe('batch');
    for (const m of objects.slice(1)) expect(m.metadata.namespace).toBe('batch');
    expect(indexedObjects({ ...indexed, namespace: 'batch', createNamespace: false }).map((m) => m.kind)).toEqual([
      'ConfigMap',
      'Job',
    ]);
  });

  test('labels every object for `kubectl apply --prune -l app.kubernetes.io/part-of=work-queue-stack`', () => {
    for (const m of indexedObjects({ ...indexed, namespace: 'batch' }))
      expect(m.metadata.labels['app.kubernetes.io/part-of']).toBe('work-queue-stack');
  });

  test.each<[keyof WorkQueueStackConfig, unknown, string]>([
    ['broker', 'rabbitmq', 'got "rabbitmq", expected nothing with pattern "indexed" (an Indexed Job needs no broker'],
    ['queue', 'job3', 'got "job3", expected nothing with pattern "indexed" (an Indexed Job has no queue'],
    ['leaseSeconds', 30, 'got 30, expected nothing with pattern "indexed" (leases are the fine pattern\'s'],
    ['seedWaitSeconds', 60, 'got 60, expected nothing with pattern "indexed" (nothing is seeded'],
    [
      'consumerTimeoutSeconds',
      1800,
      'got 1800, expected nothing with pattern "indexed" (the consumer timeout is RabbitMQ\'s',
    ],
    [
      'brokerPassword',
      'hunter2',
      'got "[secret]", expected nothing with pattern "indexed" (an Indexed Job has no broker)',
    ],
    [
      'erlangCookie',
      'cookie',
      'got "[secret]", expected nothing with pattern "indexed" (an Indexed Job has no broker)',
    ],
    ['brokerSecretName', 'mq', 'got "mq", expected nothing with pattern "indexed" (an Indexed Job has no broker)'],
    ['brokerReplicas', 3, 'got 3, expected nothing with pattern "indexed" (an Indexed Job has no broker)'],
    [
      'autoscale',
      { maxJobs: 4 },
      'got {"maxJobs":4}, expected nothing with pattern "indexed" (KEDA scales on a queue\'s length',
    ],
    [
      'completions',
      8,
      'got 8, expected nothing with pattern "indexed" (an Indexed Job\'s completions is the number of items)',
    ],
  ])('fails on %s with pattern indexed, with one line naming it', (field, value, message) => {
    const attempt = () => addWorkQueueStack(Testing.app(), { ...indexed, [field]: value });
    expect(attempt).toThrow(`indexed-job: ${field}: ${message}`);
    expect(attempt).toThrow(/^[^\n]*$/);
  });

  test.each<[keyof WorkQueueStackConfig, unknown, string]>([
    [
      'maxFailedItems',
      1,
      'got 1, expected nothing with pattern "coarse" (the Indexed Job\'s failure budget: a queue sends an item',
    ],
    ['succeededCount', 4, 'got 4, expected nothing with pattern "coarse" (the Indexed Job\'s success policy'],
    [
      'kubernetesVersion',
      '1.31',
      'got "1.31", expected nothing with pattern "coarse" (the Indexed Job\'s check of its fields',
    ],
  ])("fails on %s with a queue pattern, an Indexed Job's field", (field, value, message) => {
    expect(() => addWorkQueueStack(Testing.app(), { ...coarse, [field]: value })).toThrow(
      `coarse-broker: ${field}: ${message}`,
    );
  });

  test("fails with the construct's messages on bad fields", () => {
    expect(() => addWorkQueueStack(Testing.app(), { ...indexed, items: [] })).toThrow(
      'indexed-job/job: items: got [], expected at least one item',
    );
    expect(() => addWorkQueueStack(Testing.app(), { ...indexed, maxFailedItems: 9 })).toThrow(
      /^indexed-job\/job: maxFailedItems: got 9, expected at most 8/,
    );
    expect(() => addWorkQueueStack(Testing.app(), { ...indexed, kubernetesVersion: '1.28' })).toThrow(
      /^indexed-job\/job: kubernetesVersion: got "1.28"/,
    );
    expect(() => addWorkQueueStack(Testing.app(), { ...indexed, image: '' })).toThrow(
      /^indexed-job: image: got "", expected a container image reference/,
    );
  });

  test('matches the snapshot of the indexed example', () => {
    expect(indexedObjects(indexed)).toMatchSnapshot();
  });
});
