import type { Chart } from 'cdk8s';
import { RedisPod } from '../../constructs';
import { type Manifest, type ManifestValue, manifestsOf, onlyJob, synth } from '../manifests';
import { fullApp } from './full-app';

const NAME = 'app.kubernetes.io/name';
const INSTANCE = 'app.kubernetes.io/instance';
const PART_OF = 'app.kubernetes.io/part-of';
const MANAGED_BY = 'app.kubernetes.io/managed-by';
const COMPONENT = 'app.kubernetes.io/component';

/** Every object of every chart of the full app. */
function everyObject(chartProps?: ConstructorParameters<typeof Chart>[2]): Manifest[] {
  const { app, charts } = fullApp({ chartProps, replicas: 3 });
  app.synth();
  return charts.flatMap(manifestsOf);
}

/** The labels of an object, of its pod template, its claim templates, and of the Secrets its CREDENTIALS create. */
function labelSets(manifest: Manifest): Array<[string, Record<string, string>]> {
  const id = `${manifest.kind}/${String(manifest.metadata.name)}`;
  const sets: Array<[string, Record<string, string>]> = [[id, manifest.metadata.labels ?? {}]];
  const spec: ManifestValue = manifest.spec ?? {};
  const template: ManifestValue = spec.template ?? spec.jobTargetRef?.template;
  if (template) sets.push([`${id} pods`, template.metadata?.labels ?? {}]);
  for (const claim of spec.volumeClaimTemplates ?? [])
    sets.push([`${id} claim ${String(claim.metadata.name)}`, claim.metadata.labels ?? {}]);
  for (const container of template?.spec?.containers ?? []) {
    const credentials = (container.env ?? []).find((e: ManifestValue) => e.name === 'CREDENTIALS');
    if (credentials)
      for (const secret of JSON.parse(credentials.value))
        sets.push([`${id} creates Secret/${String(secret.name)}`, secret.labels ?? {}]);
  }
  return sets;
}

describe('labels', () => {
  test('every object a full synth writes, and every pod, claim and generated Secret, carries name, instance, part-of, managed-by and component', () => {
    const manifests = everyObject();
    expect(new Set(manifests.map((m) => m.kind))).toEqual(
      new Set([
        'Namespace',
        'NetworkPolicy',
        'ServiceAccount',
        'Role',
        'RoleBinding',
        'Job',
        'Service',
        'StatefulSet',
        'ConfigMap',
        'PodDisruptionBudget',
        'ScaledJob',
        'TriggerAuthentication',
      ]),
    );
    for (const manifest of manifests) {
      for (const [where, labels] of labelSets(manifest)) {
        expect({ where, labels }).toEqual({
          where,
          labels: expect.objectContaining({
            [NAME]: expect.stringMatching(/.+/),
            [INSTANCE]: expect.stringMatching(/.+/),
            [COMPONENT]: expect.stringMatching(/.+/),
            [PART_OF]: 'work-queue-stack',
            [MANAGED_BY]: 'work-queue-stack',
          }),
        });
      }
    }
  });

  test('Secrets and the items ConfigMap are labelled too, so kubectl apply --prune -l selects them', () => {
    const manifests = synth((chart) => new RedisPod(chart, 'redis', { password: 'p' }));
    const secret = manifests.find((m) => m.kind === 'Secret')!;
    expect(secret.metadata.labels).toMatchObject({
      [NAME]: 'redis',
      [INSTANCE]: 'redis-master',
      [COMPONENT]: 'broker',
      [PART_OF]: 'work-queue-stack',
    });
    const configMap = everyObject().find((m) => m.kind === 'ConfigMap' && m.metadata.name?.includes('-items-'))!;
    expect(configMap.metadata.labels).toMatchObject({
      [NAME]: 'work-queue',
      [INSTANCE]: 'job-wq-1-seed',
      [COMPONENT]: 'seeder',
    });
  });

  test("the chart's own app.kubernetes.io/part-of wins, on every object, pod and generated Secret", () => {
    const manifests = everyObject({ namespace: 'batch', labels: { [PART_OF]: 'nightly-thumbnails', team: 'media' } });
    for (const manifest of manifests) {
      for (const [where, labels] of labelSets(manifest))
        expect({ where, partOf: labels[PART_OF] }).toEqual({ where, partOf: 'nightly-thumbnails' });
      expect(manifest.metadata.labels.team).toBe('media');
    }
  });

  test('the instance of a Job is its name before the hash, the same for every version of the batch', () => {
    const worker = onlyJob(manifestsOf(fullApp().charts[1]), 'job-wq-1');
    expect(worker.metadata.labels[INSTANCE]).toBe('job-wq-1');
    expect(worker.spec.template.metadata.labels[INSTANCE]).toBe('job-wq-1');
  });
});
