import { Chart, Testing } from 'cdk8s';
import { IndexedWorkJob, QueueSeeder, RedisPod } from '../../../constructs';
import { ObjectStore } from './object-store';
import type { KubeObject } from './manifests';

function job(name: string, items: string, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      completions: 2,
      parallelism: 2,
      backoffLimit: 6,
      template: {
        metadata: { annotations: { items } },
        spec: { restartPolicy: 'Never', containers: [{ name: 'w', image: 'i' }] },
      },
      ...extra,
    },
  };
}

const items = (data: Record<string, string>, immutable = true): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'items' },
  data,
  immutable,
});

describe('ObjectStore.apply', () => {
  test('creates, then leaves an identical manifest unchanged, then configures a changed one', () => {
    const store = new ObjectStore();
    expect(store.apply(job('job-wq-1', 'a')).action).toBe('created');
    expect(store.apply(job('job-wq-1', 'a')).action).toBe('unchanged');
    expect(
      store.apply(job('job-wq-1', 'a', { parallelism: 4, backoffLimit: 1, ttlSecondsAfterFinished: 60 })).action,
    ).toBe('configured');
    expect(store.get('Job', 'default', 'job-wq-1')?.spec).toMatchObject({ parallelism: 4, backoffLimit: 1 });
  });

  test("refuses a change to a Job's template, completions or selector as the API server does, and keeps the Job as it was", () => {
    const store = new ObjectStore();
    store.apply(job('job-wq-1', 'a'));
    const uid = store.get('Job', 'default', 'job-wq-1')?.metadata?.uid;
    expect(() => store.apply(job('job-wq-1', 'b'))).toThrow(
      /^Job\.batch "job-wq-1" is invalid: spec\.template: Invalid value: .*: field is immutable$/,
    );
    expect(() => store.apply(job('job-wq-1', 'a', { completions: 3 }))).toThrow(
      'spec.completions: Invalid value: 3: field is immutable',
    );
    expect(() => store.apply(job('job-wq-1', 'a', { selector: { matchLabels: { a: 'b' } } }))).toThrow('spec.selector');
    expect(store.get('Job', 'default', 'job-wq-1')).toMatchObject({
      metadata: { uid },
      spec: { completions: 2, template: { metadata: { annotations: { items: 'a' } } } },
    });
  });

  test('a Job of another name is another Job', () => {
    const store = new ObjectStore();
    store.apply(job('job-wq-1-0a1b2c3d', 'a'));
    expect(store.apply(job('job-wq-1-4e5f6a7b', 'b')).action).toBe('created');
    expect(store.list('Job').map((object) => object.metadata?.name)).toEqual([
      'job-wq-1-0a1b2c3d',
      'job-wq-1-4e5f6a7b',
    ]);
  });

  test("refuses a change to an immutable ConfigMap's data, or making it mutable; a mutable one changes", () => {
    const store = new ObjectStore();
    store.apply(items({ 'items.json': '["a"]' }));
    expect(() => store.apply(items({ 'items.json': '["b"]' }))).toThrow(
      'ConfigMap "items" is invalid: data: Forbidden: field is immutable when `immutable` is set',
    );
    expect(() => store.apply(items({ 'items.json': '["a"]' }, false))).toThrow('immutable: Forbidden');
    const mutable = new ObjectStore();
    mutable.apply(items({ a: '1' }, false));
    expect(mutable.apply(items({ a: '2' }, false)).action).toBe('configured');
  });

  test("refuses a StatefulSet change outside replicas, template, updateStrategy, ...; and a RoleBinding's roleRef", () => {
    const store = new ObjectStore();
    const set = (storage: string, replicas = 1): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'rabbitmq' },
      spec: {
        replicas,
        serviceName: 's',
        template: {},
        volumeClaimTemplates: [{ spec: { resources: { requests: { storage } } } }],
      },
    });
    store.apply(set('1Gi'));
    expect(store.apply(set('1Gi', 3)).action).toBe('configured');
    expect(() => store.apply(set('2Gi', 3))).toThrow("updates to statefulset spec for fields other than 'replicas'");
    const binding = (role: string): KubeObject => ({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'b' },
      roleRef: { kind: 'Role', name: role },
      subjects: [],
    });
    store.apply(binding('r1'));
    expect(() => store.apply(binding('r2'))).toThrow('cannot change roleRef');
  });

  test("stores a Secret's stringData as base64 data, as the API server does; an identical re-apply is unchanged", () => {
    const store = new ObjectStore();
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds' },
      stringData: { username: 'work-queue' },
    };
    store.apply(secret);
    expect(store.get('Secret', 'default', 'creds')).toMatchObject({
      data: { username: Buffer.from('work-queue').toString('base64') },
    });
    expect(store.get('Secret', 'default', 'creds')?.stringData).toBeUndefined();
    expect(store.apply(secret).action).toBe('unchanged');
  });

  test('an object of a namespace that does not exist is refused until the Namespace is applied; every namespace gets its default ServiceAccount and root CA', () => {
    const store = new ObjectStore({ rootCa: 'PEM' });
    const secret: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'work-queue' } };
    expect(() => store.apply(secret)).toThrow('namespaces "work-queue" not found');
    store.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'work-queue' } });
    expect(store.apply(secret).action).toBe('created');
    expect(store.get('ServiceAccount', 'work-queue', 'default')).toBeDefined();
    expect(store.source('work-queue').configMap('kube-root-ca.crt')?.data).toEqual({ 'ca.crt': 'PEM' });
  });

  test('create (POST) refuses an existing object with AlreadyExists; a later apply of it configures it', () => {
    const store = new ObjectStore();
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds' },
      data: { password: 'cA==' },
    };
    store.create(secret);
    expect(() => store.create(secret)).toThrow('secrets "creds" already exists');
    expect(store.apply(secret).action).toBe('configured');
  });

  test('tells its watchers of each created and changed object', () => {
    const store = new ObjectStore();
    const seen: string[] = [];
    store.watch((object, action) => seen.push(`${object.kind}/${String(object.metadata?.name)} ${action}`));
    store.apply(items({ a: '1' }, false));
    store.apply(items({ a: '1' }, false));
    store.apply(items({ a: '2' }, false));
    expect(seen).toEqual(['ConfigMap/items created', 'ConfigMap/items configured']);
  });
});

describe("client-side apply's last-applied annotation", () => {
  test('refuses an object whose manifest, kept in its annotations, passes 256 KiB, as the API server does', () => {
    const store = new ObjectStore();
    const large = { ...items({ 'items.json': JSON.stringify(['x'.repeat(300 * 1024)]) }), metadata: { name: 'large' } };
    expect(() => store.apply(large)).toThrow(
      'ConfigMap "large" is invalid: metadata.annotations: Too long: must have at most 262144 bytes',
    );
    expect(store.get('ConfigMap', 'default', 'large')).toBeUndefined();
    // Characters Go's JSON escapes count as kubectl writes them: 50,000 '<' are 300,000 bytes there.
    expect(() => store.apply({ ...items({ 'a.txt': '<'.repeat(50_000) }), metadata: { name: 'escaped' } })).toThrow(
      'Too long',
    );
    expect(store.apply({ ...items({ 'a.txt': 'a'.repeat(200 * 1024) }), metadata: { name: 'fits' } }).action).toBe(
      'created',
    );
  });

  test("the seeder's and the Indexed Job's items ConfigMaps of a 2 MiB list all apply", () => {
    const list = Array.from({ length: 2048 }, (_, i) => `${i}:${'y'.repeat(1020)}`);
    const chart = new Chart(Testing.app(), 'large');
    const broker = new RedisPod(chart, 'redis');
    new QueueSeeder(chart, 'seeder', { broker, queue: 'q', items: list, image: 'job-wq:1' });
    new IndexedWorkJob(chart, 'indexed', { items: list, image: 'job-wq:1' });
    const configMaps = (Testing.synth(chart) as KubeObject[]).filter(
      (object) => object.kind === 'ConfigMap' && object.metadata?.name?.includes('-items-'),
    );
    expect(configMaps.length).toBeGreaterThanOrEqual(2 * 8);
    const store = new ObjectStore();
    for (const configMap of configMaps) expect(store.apply(configMap).action).toBe('created');
  });
});
