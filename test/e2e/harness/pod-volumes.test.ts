import { mkdtempSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { objectSource } from './manifests';
import { prepareVolumes } from './pod-volumes';

const objects = objectSource([
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'job-wq-1-seed-items' }, data: { 'items.json': '["äpple","banana"]' } },
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
        { name: 'items', configMap: { name: 'job-wq-1-seed-items', items: [{ key: 'items.json', path: 'conf/list.json', mode: 0o400 }] } },
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

test('fails naming a ConfigMap that is not in the manifests', () => {
  expect(() => prepareVolumes({ containers: [], volumes: [{ name: 'items', configMap: { name: 'absent' } }] }, objects, directory)).toThrow(
    'volume items: ConfigMap absent is not in the synthesized manifests',
  );
});
