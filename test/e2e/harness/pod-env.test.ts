import type { IContainer } from 'kubernetes-models/v1/Container';
import { objectSource } from './manifests';
import { PodConfigError } from './pod-config-error';
import { expandedCommand, resolveEnv } from './pod-env';

const objects = objectSource([
  {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'creds' },
    stringData: { username: 'work-queue' },
    data: { password: Buffer.from('s3cret').toString('base64') },
  },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { queue: 'job1' } },
]);

function container(env: IContainer['env'], extra: Partial<IContainer> = {}): IContainer {
  return { name: 'work-queue', image: 'worker', env, ...extra };
}

describe('resolveEnv', () => {
  test('resolves Secret keys from stringData and base64 data, and expands them into later values', () => {
    const env = resolveEnv(
      container([
        { name: 'BROKER_USERNAME', valueFrom: { secretKeyRef: { name: 'creds', key: 'username' } } },
        { name: 'BROKER_PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        { name: 'BROKER_URL', value: 'amqp://$(BROKER_USERNAME):$(BROKER_PASSWORD)@rabbitmq-service:5672' },
        { name: 'QUEUE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'queue' } } },
      ]),
      objects,
    );
    expect([...env]).toEqual([
      ['BROKER_USERNAME', 'work-queue'],
      ['BROKER_PASSWORD', 's3cret'],
      ['BROKER_URL', 'amqp://work-queue:s3cret@rabbitmq-service:5672'],
      ['QUEUE', 'job1'],
    ]);
  });

  test('expands only variables defined earlier, as the kubelet does', () => {
    const env = resolveEnv(
      container([
        { name: 'URL', value: 'redis://:$(PASSWORD)@redis:6379' },
        { name: 'PASSWORD', value: 'late' },
      ]),
      objects,
    );
    expect(env.get('URL')).toBe('redis://:$(PASSWORD)@redis:6379');
  });

  test('does not expand values taken from a Secret', () => {
    const env = resolveEnv(
      container([
        { name: 'A', value: 'x' },
        { name: 'B', valueFrom: { secretKeyRef: { name: 'creds', key: 'username' } } },
      ]),
      objects,
    );
    expect(env.get('B')).toBe('work-queue');
  });

  test('a later definition of a name replaces the earlier one', () => {
    const env = resolveEnv(
      container([
        { name: 'A', value: 'one' },
        { name: 'B', value: '$(A)' },
        { name: 'A', value: 'two' },
      ]),
      objects,
    );
    expect([...env]).toEqual([
      ['A', 'two'],
      ['B', 'one'],
    ]);
  });

  test('leaves out an optional reference that does not resolve', () => {
    const env = resolveEnv(
      container([{ name: 'A', valueFrom: { secretKeyRef: { name: 'absent', key: 'k', optional: true } } }]),
      objects,
    );
    expect(env.has('A')).toBe(false);
  });

  test('a missing Secret is a CreateContainerConfigError naming it, which the kubelet retries', () => {
    const resolve = () =>
      resolveEnv(container([{ name: 'A', valueFrom: { secretKeyRef: { name: 'absent', key: 'k' } } }]), objects);
    expect(resolve).toThrow(
      new PodConfigError('container work-queue, variable A: secret "absent" not found', 'CreateContainerConfigError'),
    );
    expect(resolve).toThrow(PodConfigError);
  });

  test('a missing key is a CreateContainerConfigError naming it', () => {
    expect(() =>
      resolveEnv(
        container([{ name: 'A', valueFrom: { configMapKeyRef: { name: 'settings', key: 'nope' } } }]),
        objects,
      ),
    ).toThrow("couldn't find key nope in ConfigMap settings");
  });

  test('the Service variables come first, and later values may expand them', () => {
    const env = resolveEnv(
      container([{ name: 'API', value: 'https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)' }]),
      objects,
      new Map([
        ['KUBERNETES_SERVICE_HOST', '127.0.0.1'],
        ['KUBERNETES_SERVICE_PORT', '6443'],
      ]),
    );
    expect([...env]).toEqual([
      ['KUBERNETES_SERVICE_HOST', '127.0.0.1'],
      ['KUBERNETES_SERVICE_PORT', '6443'],
      ['API', 'https://127.0.0.1:6443'],
    ]);
  });

  test("resolves the downward API's fieldRef to the pod's name, namespace, labels and annotations (an Indexed Job's JOB_COMPLETION_INDEX)", () => {
    const pod = {
      name: 'job-wq-3-2-abcde',
      namespace: 'batch',
      labels: { 'batch.kubernetes.io/job-completion-index': '2' },
      annotations: { a: 'b' },
    };
    const env = resolveEnv(
      container([
        { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'A', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['a']" } } },
        { name: 'MISSING', valueFrom: { fieldRef: { fieldPath: "metadata.labels['nope']" } } },
        {
          name: 'JOB_COMPLETION_INDEX',
          valueFrom: { fieldRef: { fieldPath: "metadata.labels['batch.kubernetes.io/job-completion-index']" } },
        },
      ]),
      objects,
      new Map(),
      pod,
    );
    expect(Object.fromEntries(env)).toEqual({
      POD: 'job-wq-3-2-abcde',
      NS: 'batch',
      A: 'b',
      MISSING: '',
      JOB_COMPLETION_INDEX: '2',
    });
    expect(() =>
      resolveEnv(
        container([{ name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }]),
        objects,
        new Map(),
        pod,
      ),
    ).toThrow('fieldRef status.podIP is not supported');
  });

  test('fails on a source it cannot resolve instead of leaving the variable out', () => {
    expect(() =>
      resolveEnv(container([{ name: 'A', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }]), objects),
    ).toThrow('only secretKeyRef, configMapKeyRef and fieldRef');
  });
});

describe('expandedCommand', () => {
  test('expands command and args against the environment, keeping $$ escapes and unknown names', () => {
    const env = new Map([['QUEUE', 'job2']]);
    const result = expandedCommand(
      container([], { command: ['sh', '-c', 'echo $$HOME $(QUEUE)'], args: ['$(QUEUE)', '$(NOPE)'] }),
      env,
    );
    expect(result).toEqual({ command: ['sh', '-c', 'echo $HOME job2'], args: ['job2', '$(NOPE)'] });
  });
});
