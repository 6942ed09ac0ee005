import { Chart, Duration, Testing } from 'cdk8s';
import { contract, IndexedWorkJob, type IndexedWorkJobProps } from '../../constructs';
import { annotationBytes, CHUNK_ANNOTATION_BYTES, splitItems } from '../../constructs/items-config-maps';
import { schemaError } from '../k8s-schema';
import { containerEnv, type Manifest, mountedItems, onlyJob, podSpec, synth, synthError } from '../manifests';
import { restrictedViolations } from '../pod-security';

const IMAGE = 'job-wq:latest';
const ITEMS = ['apple', 'banana', 'cherry', 'date', 'fig'];

function indexed(props: Partial<IndexedWorkJobProps> = {}): Manifest[] {
  return synth((chart) => new IndexedWorkJob(chart, 'job', { image: IMAGE, items: ITEMS, name: 'job-wq-3', ...props }));
}

function configMaps(manifests: Manifest[]): Manifest[] {
  return manifests.filter((m) => m.kind === 'ConfigMap');
}

/** The items the Job's pods read: every ConfigMap's file, in index order. */
function itemsByIndex(manifests: Manifest[]): string[] {
  const items = mountedItems(onlyJob(manifests, 'job-wq-3'), configMaps(manifests));
  if (typeof items === 'string') throw new Error(`the Job ${items}`);
  return items;
}

function failure(props: Partial<IndexedWorkJobProps>): string {
  return synthError(
    (chart) => new IndexedWorkJob(chart, 'job', { image: IMAGE, items: ITEMS, name: 'job-wq-3', ...props }),
  );
}

describe('IndexedWorkJob', () => {
  test('an Indexed Job with one completion per item, per-item retries, no broker', () => {
    const manifests = indexed();
    const job = onlyJob(manifests, 'job-wq-3');
    expect(job.spec).toMatchObject({
      completionMode: 'Indexed',
      completions: 5,
      parallelism: 2,
      backoffLimitPerIndex: 4,
    });
    expect(job.spec.backoffLimit).toBeUndefined();
    expect(job.spec.maxFailedIndexes).toBeUndefined();
    expect(job.spec.successPolicy).toBeUndefined();
    expect(job.spec.podFailurePolicy.rules).toEqual([
      {
        action: 'FailIndex',
        onExitCodes: { containerName: 'work-queue', operator: 'In', values: [contract.ExitCode.badInput] },
      },
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
    ]);
    const env = containerEnv(job);
    expect(env.names).toEqual(['WORKER_MODE', 'ITEMS_DIRECTORY', 'WORK_SECONDS', 'WORK_TIMEOUT_SECONDS']);
    expect(env.byName.WORKER_MODE.value).toBe('indexed');
    expect(env.byName.ITEMS_DIRECTORY.value).toBe(contract.ItemsMount.directory);
    expect(podSpec(job).containers[0].args).toEqual(['work']);
    expect(podSpec(job).restartPolicy).toBe('Never');
    expect(manifests.map((m) => m.kind).sort()).toEqual(['ConfigMap', 'Job']);
  });

  test('the items in a content-named immutable ConfigMap, projected read-only at ITEMS_DIRECTORY', () => {
    const manifests = indexed();
    const [configMap] = configMaps(manifests);
    expect(configMap.metadata.name).toMatch(/^job-wq-3-items-[0-9a-f]{10}$/);
    expect(configMap.immutable).toBe(true);
    expect(configMap.data).toEqual({ 'items-0.json': JSON.stringify(ITEMS) });
    const pod = podSpec(onlyJob(manifests, 'job-wq-3'));
    expect(pod.volumes).toContainEqual({
      name: 'items',
      projected: { sources: [{ configMap: { name: configMap.metadata.name } }] },
    });
    expect(pod.containers[0].volumeMounts).toContainEqual({
      name: 'items',
      mountPath: contract.ItemsMount.directory,
      readOnly: true,
    });
    expect(itemsByIndex(manifests)).toEqual(ITEMS);
  });

  test.each([1, 2, 7, 1000])('%i items: completions follow the items', (count) => {
    const items = Array.from({ length: count }, (_, i) => `item-${i}`);
    const job = onlyJob(indexed({ items, parallelism: 3 }), 'job-wq-3');
    expect(job.spec.completions).toBe(count);
    expect(job.spec.parallelism).toBe(3);
  });

  test('maxAttempts, maxFailedItems and succeededCount map to backoffLimitPerIndex, maxFailedIndexes and a success policy', () => {
    const job = onlyJob(indexed({ maxAttempts: 2, maxFailedItems: 1, succeededCount: 4 }), 'job-wq-3');
    expect(job.spec.backoffLimitPerIndex).toBe(1);
    expect(job.spec.maxFailedIndexes).toBe(1);
    expect(job.spec.successPolicy).toEqual({ rules: [{ succeededCount: 4 }] });
  });

  test('workCommand, run and the items digest reach the pod template; another run is another Job', () => {
    const first = onlyJob(indexed({ workCommand: 'convert', run: '2026-12-07' }), 'job-wq-3');
    expect(containerEnv(first).byName.WORK_COMMAND.value).toBe('convert');
    expect(first.spec.template.metadata.annotations['work-queue-stack.io/run']).toBe('2026-12-07');
    expect(first.spec.template.metadata.annotations['work-queue-stack.io/items-sha256']).toMatch(/^[0-9a-f]{64}$/);
    const second = onlyJob(indexed({ workCommand: 'convert', run: 'rerun-2' }), 'job-wq-3');
    expect(second.metadata.name).not.toBe(first.metadata.name);
    expect(onlyJob(indexed({ workCommand: 'convert', run: '2026-12-07' }), 'job-wq-3').metadata.name).toBe(
      first.metadata.name,
    );
  });

  test('restricted pod security, and every object valid against the Kubernetes schema', () => {
    const manifests = indexed({ maxFailedItems: 2, succeededCount: 3, activeDeadline: Duration.hours(1) });
    expect(restrictedViolations(podSpec(onlyJob(manifests, 'job-wq-3')))).toEqual([]);
    for (const manifest of manifests) expect(schemaError(manifest)).toBeUndefined();
  });

  test('an unnamed Job takes its name from the construct path, and its ConfigMaps follow it', () => {
    const manifests = synth((chart) => new IndexedWorkJob(chart, 'convert', { image: IMAGE, items: ITEMS }));
    const job = manifests.find((m) => m.kind === 'Job')!;
    expect(job.metadata.name).toMatch(/^test-convert-[0-9a-f]{8}$/);
    expect(configMaps(manifests)[0].metadata.name).toMatch(/^test-convert-items-[0-9a-f]{10}$/);
  });

  describe('items that do not fit one ConfigMap', () => {
    // 3,000 items of 300 bytes: about 900 KiB, under a ConfigMap's 1 MiB but not kubectl apply's 256 KiB annotation.
    const large = Array.from({ length: 3000 }, (_, i) => `${String(i).padStart(6, '0')}-${'x'.repeat(293)}`);

    test("are split over several ConfigMaps, each within kubectl apply's annotation limit, in index order", () => {
      const manifests = indexed({ items: large });
      const maps = configMaps(manifests);
      expect(maps.length).toBe(4);
      for (const configMap of maps) {
        const [json] = Object.values(configMap.data as Record<string, string>);
        // What kubectl apply stores in kubectl.kubernetes.io/last-applied-configuration.
        expect(annotationBytes(JSON.stringify(configMap))).toBeLessThanOrEqual(256 * 1024);
        expect(annotationBytes(json)).toBeLessThanOrEqual(CHUNK_ANNOTATION_BYTES);
      }
      expect(new Set(maps.map((m) => m.metadata.name)).size).toBe(maps.length);
      expect(itemsByIndex(manifests)).toEqual(large);
      const sources = podSpec(onlyJob(manifests, 'job-wq-3')).volumes.find((v: { name: string }) => v.name === 'items')
        .projected.sources;
      expect(sources.map((s: { configMap: { name: string } }) => s.configMap.name)).toEqual(
        maps.map((m) => m.metadata.name),
      );
    });

    test('a chunk is cut at the annotation limit: escaped characters count as kubectl writes them', () => {
      // Each item is 100 '<', which Go's JSON writes as \u003c: 600 bytes in the annotation.
      const chunks = splitItems(
        Array.from({ length: 1000 }, () => '<'.repeat(100)),
        { maxTotalBytes: 8 * 1024 * 1024, why: '', instead: '' },
      );
      if (!Array.isArray(chunks)) throw new Error(chunks.expected);
      expect(chunks.length).toBeGreaterThan(2);
      for (const chunk of chunks) expect(annotationBytes(chunk.json)).toBeLessThanOrEqual(CHUNK_ANNOTATION_BYTES);
      expect(annotationBytes('"<a>&\n\u2028"')).toBe(2 * 2 + 3 * 6 + 1 + 2 + 6);
    });

    test('equal chunks at different indexes get different ConfigMaps', () => {
      const half = Array.from({ length: 1000 }, () => 'y'.repeat(300));
      const maps = configMaps(indexed({ items: [...half, ...half] }));
      expect(new Set(maps.map((m) => m.metadata.name)).size).toBe(maps.length);
    });

    test('fails with one line beyond 8 MiB in all, naming the size and the queue patterns', () => {
      const items = Array.from({ length: 17 }, () => 'z'.repeat(500 * 1024));
      expect(failure({ items })).toMatch(
        /^test\/job: items: got an array of 17, expected at most 8 MiB of items in all as JSON .* not 8704052 bytes: use the coarse or fine pattern/,
      );
      expect(failure({ items }).split('\n')).toHaveLength(1);
    });

    test('fails for an item too large for one ConfigMap as kubectl apply stores it', () => {
      expect(failure({ items: ['a', 'b'.repeat(300 * 1024)] })).toMatch(
        /^test\/job: items\[1\]: got .* expected an item that fits one ConfigMap as kubectl apply stores it/,
      );
    });

    test('fails beyond 100000 items', () => {
      expect(failure({ items: Array.from({ length: 100_001 }, () => 'i') })).toContain(
        'items: got an array of 100001, expected at most 100000 items in an Indexed Job',
      );
    });
  });

  describe('the Kubernetes version', () => {
    test('1.29 to 1.32 take the Job (per-index retries are beta and on by default there)', () => {
      for (const version of ['1.29', 'v1.30.4', '1.32.0-eks-1'])
        expect(() => indexed({ kubernetesVersion: version })).not.toThrow();
    });

    test('fails for a cluster older than 1.29, naming the fields it lacks', () => {
      expect(failure({ kubernetesVersion: '1.28' })).toBe(
        'test/job: kubernetesVersion: got "1.28", expected 1.29 or later: an IndexedWorkJob retries each item on its own (backoffLimitPerIndex, FailIndex), ' +
          'beta from Kubernetes 1.29 and GA in 1.33; an older API server drops backoffLimitPerIndex and then rejects the FailIndex rule of the Job ' +
          '(the coarse and fine patterns run there)',
      );
    });

    test('fails for succeededCount below 1.31, whose API server would drop the success policy', () => {
      expect(failure({ kubernetesVersion: '1.30', succeededCount: 2 })).toMatch(
        /^test\/job: succeededCount: got 2, expected nothing with kubernetesVersion 1.30, or a cluster of 1.31 or later: successPolicy is beta .* drops it, and the Job waits for every item$/,
      );
      expect(() => indexed({ kubernetesVersion: '1.31', succeededCount: 2 })).not.toThrow();
    });

    test('fails for a malformed version', () => {
      expect(failure({ kubernetesVersion: '2.0' })).toBe(
        'test/job: kubernetesVersion: got "2.0", expected a Kubernetes version such as "1.31" or "v1.30.4"',
      );
    });
  });

  describe('fails', () => {
    test.each<[Partial<IndexedWorkJobProps>, string]>([
      [{ items: [] }, 'items: got [], expected at least one item'],
      [{ items: undefined }, 'items: got nothing, expected a JSON array of strings'],
      [{ items: ['ok', '\ud800'] }, 'items[1]: got'],
      [{ parallelism: 0 }, 'parallelism: got 0, expected a whole number of at least 1'],
      [{ maxAttempts: 0 }, 'maxAttempts: got 0, expected a whole number of at least 1'],
      [{ maxFailedItems: 6 }, 'maxFailedItems: got 6, expected at most 5, the number of items'],
      [{ maxFailedItems: -1 }, 'maxFailedItems: got -1, expected a whole number of at least 0'],
      [{ succeededCount: 6 }, 'succeededCount: got 6, expected at most 5, the number of items'],
      [{ succeededCount: 0 }, 'succeededCount: got 0, expected a whole number of at least 1'],
      [{ workCommand: ' ' }, 'workCommand: got " ", expected a non-empty shell command'],
      [
        { workDuration: Duration.seconds(2000) },
        'workDuration in seconds: got 2000, expected less than workTimeout (1500 s)',
      ],
      [
        { activeDeadline: Duration.seconds(100) },
        'activeDeadline in seconds: got 100, expected at least 1560 (workTimeout (1500 s) + 60 s)',
      ],
      [
        { activeDeadline: Duration.seconds(Number.NaN) },
        'activeDeadline in seconds: got NaN, expected a whole number of at least 1',
      ],
      [
        { activeDeadline: Duration.millis(3_600_250) },
        'activeDeadline in seconds: got 3600.25, expected a whole number of at least 1',
      ],
      [{ run: ' x' }, 'run: got " x", expected a run label'],
      [{ name: 'Bad_Name' }, 'name: got "Bad_Name", expected a DNS-1123 label'],
      [{ image: '' }, 'image: got ""'],
    ])('for %j', (props, message) => {
      expect(failure(props)).toContain(`test/job: ${message}`);
    });
  });

  test('the same props give the same bytes', () => {
    const build = () => {
      const chart = new Chart(Testing.app(), 'test');
      new IndexedWorkJob(chart, 'job', { image: IMAGE, items: ITEMS });
      return JSON.stringify(Testing.synth(chart));
    };
    expect(build()).toBe(build());
  });
});
