import { App, Testing } from 'cdk8s';
import { COARSE_TUTORIAL, FINE_TUTORIAL, WorkQueueStackConfig } from '../../stacks/config';
import { addWorkQueueStack } from '../../stacks/work-queue-stack';
import { kedaSchemaErrors } from '../keda-schema';
import { manifestsOf } from '../manifests';

const coarse: WorkQueueStackConfig = { ...COARSE_TUTORIAL, image: 'job-wq:1', brokerPassword: 'fixed-for-snapshot' };
const fine: WorkQueueStackConfig = { ...FINE_TUTORIAL, image: 'job-wq:1' };

describe('addWorkQueueStack', () => {
  test('returns the broker, seeder and job charts in apply order', () => {
    const charts = addWorkQueueStack(Testing.app(), coarse);
    expect([charts.broker, charts.seeder, charts.job].map((c) => c.node.id)).toEqual(['coarse-broker', 'coarse-seeder', 'coarse-job']);
    expect(manifestsOf(charts.seeder).map((m) => m.kind)).toEqual(['ConfigMap', 'Job']);
    expect(manifestsOf(charts.job).map((m) => m.kind)).toEqual(['Job']);
  });

  test('puts every object in the configured namespace', () => {
    const charts = addWorkQueueStack(Testing.app(), { ...fine, namespace: 'batch' });
    for (const chart of Object.values(charts)) for (const m of manifestsOf(chart)) expect(m.metadata.namespace).toBe('batch');
  });

  test('uses an existing broker Secret when named', () => {
    const charts = addWorkQueueStack(Testing.app(), { ...COARSE_TUTORIAL, image: 'i', brokerSecretName: 'mq' });
    expect(manifestsOf(charts.broker).filter((m) => m.kind === 'Secret')).toEqual([]);
  });

  test('autoscale: the job chart holds a KEDA ScaledJob instead of the worker Job, for both tutorials', () => {
    const coarseJob = manifestsOf(addWorkQueueStack(Testing.app(), { ...coarse, namespace: 'batch', autoscale: { maxJobs: 4 } }).job);
    expect(coarseJob.map((m) => m.kind)).toEqual(['TriggerAuthentication', 'ScaledJob']);
    const scaledJob = coarseJob[1];
    expect(scaledJob.metadata.name).toBe('job-wq-1');
    expect(scaledJob.spec.maxReplicaCount).toBe(4);
    expect(scaledJob.spec.jobTargetRef).toMatchObject({ completions: 1, parallelism: 1 });

    const fineJob = manifestsOf(addWorkQueueStack(Testing.app(), { ...fine, namespace: 'batch', autoscale: { maxJobs: 2, itemsPerJob: 5 } }).job);
    expect(fineJob.map((m) => m.kind)).toEqual(['ScaledJob']);
    expect(fineJob[0].spec.jobTargetRef.parallelism).toBe(2);
    expect(fineJob[0].spec.triggers[0].metadata.listLength).toBe('5');
    expect(kedaSchemaErrors([...coarseJob, ...fineJob])).toEqual([undefined, undefined, undefined]);
  });

  test('matches the snapshot of both tutorials', () => {
    const app: App = Testing.app();
    const charts = [addWorkQueueStack(app, coarse), addWorkQueueStack(app, fine)];
    expect(charts.map((c) => Object.values(c).map((chart) => chart.toJson()))).toMatchSnapshot();
  });

  test('brokerReplicas: a RabbitMQ cluster of that many nodes with the given Erlang cookie', () => {
    const broker = manifestsOf(addWorkQueueStack(Testing.app(), { ...coarse, brokerReplicas: 3, erlangCookie: 'fixed-cookie' }).broker);
    expect(broker.find((m) => m.kind === 'StatefulSet')?.spec.replicas).toBe(3);
    expect(broker.find((m) => m.metadata.name === 'rabbitmq-service-erlang-cookie')?.stringData.cookie).toBe('fixed-cookie');
    expect(broker.map((m) => m.kind)).toContain('PodDisruptionBudget');
  });

  test('fails on brokerReplicas the broker cannot run, and on a cookie without a cluster', () => {
    expect(() => addWorkQueueStack(Testing.app(), { ...coarse, brokerReplicas: 2 })).toThrow(
      /^coarse-broker\/rabbitmq: replicas: got 2, expected 1, or an odd number of at least 3/,
    );
    expect(() => addWorkQueueStack(Testing.app(), { ...fine, brokerReplicas: 3 })).toThrow(
      'fine-broker: brokerReplicas: got 3, expected 1 or nothing with broker "redis", which runs one pod (replicas are for "rabbitmq")',
    );
    expect(() => addWorkQueueStack(Testing.app(), { ...fine, brokerReplicas: 1 })).not.toThrow();
    expect(() => addWorkQueueStack(Testing.app(), { ...fine, erlangCookie: 'secret-cookie' })).toThrow(
      'fine-broker: erlangCookie: got "[secret]", expected nothing with broker "redis" (the cookie is for a RabbitMQ cluster)',
    );
    expect(() => addWorkQueueStack(Testing.app(), { ...coarse, erlangCookie: 'secret-cookie' })).toThrow(
      /^coarse-broker\/rabbitmq: erlangCookie: got "\[secret\]", expected no erlangCookie for a single node/,
    );
  });

  test('fails on an unknown broker', () => {
    expect(() => addWorkQueueStack(Testing.app(), { ...coarse, broker: 'kafka' as unknown as WorkQueueStackConfig['broker'] })).toThrow(
      'coarse-broker: broker: got "kafka", expected one of "rabbitmq", "redis"',
    );
  });

  test('fails on an empty image', () => {
    expect(() => addWorkQueueStack(Testing.app(), { ...coarse, image: '' })).toThrow(/coarse-broker: image: got "", expected a container image reference/);
  });

  test('fails with the construct messages on bad fields', () => {
    expect(() => addWorkQueueStack(Testing.app(), { ...coarse, completions: 9 })).toThrow(
      /coarse-job\/job: completions: got 9, expected 8, the seeder's item count/,
    );
    expect(() => addWorkQueueStack(Testing.app(), { ...coarse, queue: 'job 1' })).toThrow(/coarse-seeder\/seeder: queue: got "job 1"/);
    expect(() => addWorkQueueStack(Testing.app(), { ...fine, broker: 'rabbitmq' })).toThrow(
      /fine-job\/job: pattern: got "fine", expected "coarse" on an amqp broker/,
    );
    expect(() => addWorkQueueStack(Testing.app(), { ...coarse, jobName: 'Job1' })).toThrow(
      /coarse-seeder\/seeder: name: got "Job1-seed", expected a DNS-1123 label/,
    );
  });
});
