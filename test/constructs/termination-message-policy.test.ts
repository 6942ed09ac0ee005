import { IndexedWorkJob } from '../../constructs';
import { fullApp, IMAGE } from './full-app';
import { type Manifest, manifestsOf, synth } from '../manifests';

/** The pod templates of the Jobs a manifest runs: a Job's own, a ScaledJob's jobTargetRef. */
function jobPodTemplates(
  manifest: Manifest,
): { name?: string; spec: { containers: { name: string; terminationMessagePolicy?: string }[] } }[] {
  if (manifest.kind === 'Job') return [{ name: manifest.metadata.name, spec: manifest.spec.template.spec }];
  if (manifest.kind === 'ScaledJob')
    return [{ name: manifest.metadata.name, spec: manifest.spec.jobTargetRef.template.spec }];
  return [];
}

describe('terminationMessagePolicy', () => {
  test('every Job of the worker image (seeders, workers, credentials, ScaledJob, Indexed Job) falls back to its log when the worker wrote no message', () => {
    const manifests = [
      ...fullApp({ replicas: 3 }).charts.flatMap(manifestsOf),
      ...synth((chart) => new IndexedWorkJob(chart, 'job', { image: IMAGE, items: ['a', 'b'], name: 'job-wq-3' })),
    ];
    const templates = manifests.flatMap(jobPodTemplates);
    expect(new Set(manifests.filter((m) => jobPodTemplates(m).length > 0).map((m) => m.kind))).toEqual(
      new Set(['Job', 'ScaledJob']),
    );
    expect(templates.length).toBeGreaterThanOrEqual(8);
    const policies = templates.flatMap(({ name, spec }) =>
      spec.containers.map(
        (container) => `${String(name)}/${container.name}: ${String(container.terminationMessagePolicy)}`,
      ),
    );
    expect(policies.filter((line) => !line.endsWith(': FallbackToLogsOnError'))).toEqual([]);
  });

  test("the brokers keep Kubernetes' default (File)", () => {
    const brokers = fullApp().charts[0];
    const workloads = manifestsOf(brokers).filter((m) => m.kind === 'StatefulSet' || m.kind === 'Pod');
    expect(workloads.length).toBeGreaterThan(0);
    for (const workload of workloads) {
      const spec = workload.kind === 'Pod' ? workload.spec : workload.spec.template.spec;
      for (const container of spec.containers) expect(container.terminationMessagePolicy).toBeUndefined();
    }
  });
});
