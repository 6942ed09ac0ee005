import { mkdtempSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { objectSource } from './manifests';
import { PodConfigError } from './pod-config-error';
import { prepareVolumes } from './pod-volumes';

const objects = objectSource([
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'job-wq-1-seed-items' },
    data: { 'items.json': '["äpple","banana"]' },
  },
]);
let directory: string;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'pod-volumes-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

test('a ConfigMap volume is a directory with one readable file per key; an emptyDir is empty and world-writable', () => {
  const volumes = prepareVolumes(
    {
      containers: [],
      volumes: [
        { name: 'tmp', emptyDir: {} },
        { name: 'items', configMap: { name: 'job-wq-1-seed-items' } },
      ],
    },
    objects,
    directory,
  );
  const items = volumes.get('items');
  const tmp = volumes.get('tmp');
  if (items?.kind !== 'bind' || tmp?.kind !== 'bind') throw new Error('expected host directories');
  expect(readFileSync(join(items.hostPath, 'items.json'), 'utf8')).toBe('["äpple","banana"]');
  expect(statSync(join(items.hostPath, 'items.json')).mode & 0o777).toBe(0o644);
  expect(statSync(tmp.hostPath).mode & 0o777).toBe(0o777);
});

test('items pick keys and paths, with their own mode; medium Memory gives a tmpfs', () => {
  const volumes = prepareVolumes(
    {
      containers: [],
      volumes: [
        { name: 'scratch', emptyDir: { medium: 'Memory' } },
        {
          name: 'items',
          configMap: {
            name: 'job-wq-1-seed-items',
            items: [{ key: 'items.json', path: 'conf/list.json', mode: 0o400 }],
          },
        },
      ],
    },
    objects,
    directory,
  );
  expect(volumes.get('scratch')).toEqual({ kind: 'tmpfs' });
  const items = volumes.get('items');
  if (items?.kind !== 'bind') throw new Error('expected a host directory');
  expect(statSync(join(items.hostPath, 'conf/list.json')).mode & 0o777).toBe(0o400);
});

test('a ConfigMap that does not exist yet is a FailedMount naming it, which the kubelet retries', () => {
  expect(() =>
    prepareVolumes({ containers: [], volumes: [{ name: 'items', configMap: { name: 'absent' } }] }, objects, directory),
  ).toThrow(
    new PodConfigError('MountVolume.SetUp failed for volume "items" : configmap "absent" not found', 'FailedMount'),
  );
});

test("the ServiceAccount admission's projected volume: the token, the cluster CA from kube-root-ca.crt, the namespace", () => {
  const cluster = objectSource([
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': 'PEM' } },
  ]);
  const volumes = prepareVolumes(
    {
      containers: [],
      volumes: [
        {
          name: 'kube-api-access-abcde',
          projected: {
            defaultMode: 0o644,
            sources: [
              { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
              { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              {
                downwardAPI: {
                  items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
                },
              },
            ],
          },
        },
      ],
    },
    cluster,
    directory,
    { namespace: 'work-queue', serviceAccountToken: () => 'token-1' },
  );
  const access = volumes.get('kube-api-access-abcde');
  if (access?.kind !== 'bind') throw new Error('expected a host directory');
  expect(['token', 'ca.crt', 'namespace'].map((file) => readFileSync(join(access.hostPath, file), 'utf8'))).toEqual([
    'token-1',
    'PEM',
    'work-queue',
  ]);
  expect(statSync(join(access.hostPath, 'token')).mode & 0o777).toBe(0o644);
});

test('a Secret volume holds the decoded keys', () => {
  const secrets = objectSource([
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'cookie' },
      data: { cookie: Buffer.from('c00kie').toString('base64') },
    },
  ]);
  const volumes = prepareVolumes(
    { containers: [], volumes: [{ name: 'cookie', secret: { secretName: 'cookie', defaultMode: 0o400 } }] },
    secrets,
    directory,
  );
  const cookie = volumes.get('cookie');
  if (cookie?.kind !== 'bind') throw new Error('expected a host directory');
  expect(readFileSync(join(cookie.hostPath, 'cookie'), 'utf8')).toBe('c00kie');
  expect(statSync(join(cookie.hostPath, 'cookie')).mode & 0o777).toBe(0o400);
});
