import type { Chart } from 'cdk8s';
import { contract, QueueSeeder, RabbitMQStatefulSet, RedisPod } from '../../constructs';
import { containerEnv, type Manifest, only, onlyJob, podSpec, synth } from '../manifests';

const IMAGE = 'registry.local/job-wq@sha256:' + 'a'.repeat(64);

function seeder(chart: Chart, props: Partial<ConstructorParameters<typeof QueueSeeder>[2]> = {}): QueueSeeder {
  const broker = new RabbitMQStatefulSet(chart, 'rabbitmq', { password: 'p' });
  return new QueueSeeder(chart, 'seeder', {
    broker,
    queue: 'job1',
    items: ['apple', 'banana', 'apple'],
    image: IMAGE,
    ...props,
  });
}

describe('QueueSeeder', () => {
  test('mounts the items as JSON arrays at ITEMS_DIRECTORY and runs `seed`', () => {
    let construct!: QueueSeeder;
    const manifests = synth((chart) => (construct = seeder(chart, { name: 'fill' })));
    expect(construct.itemCount).toBe(3);

    const configMap = only(itemsConfigMaps(manifests), 'ConfigMap');
    expect(JSON.parse(configMap.data['items-0.json'])).toEqual(['apple', 'banana', 'apple']);
    expect(configMap.metadata.name).toMatch(/^fill-items-[0-9a-f]{10}$/);
    expect(configMap.immutable).toBe(true);

    const job = onlyJob(manifests, 'fill');
    const pod = podSpec(job);
    const container = pod.containers[0];
    expect(container.image).toBe(IMAGE);
    expect(container.imagePullPolicy).toBe('IfNotPresent');
    expect(container.args).toEqual(['seed']);
    expect(container.volumeMounts).toContainEqual({ name: 'items', mountPath: '/etc/work-queue', readOnly: true });
    expect(pod.volumes).toContainEqual({
      name: 'items',
      projected: { sources: [{ configMap: { name: configMap.metadata.name } }] },
    });
    const env = containerEnv(job);
    expect(env.byName.ITEMS_DIRECTORY.value).toBe('/etc/work-queue');
    expect(env.names).not.toContain('ITEMS_FILE');
    expect(env.byName.QUEUE.value).toBe('job1');
  });

  test('builds BROKER_URL from the Secret, with the credentials defined before their use', () => {
    const env = containerEnv(
      only(
        synth((chart) => seeder(chart)),
        'Job',
      ),
    );
    expect(env.names.slice(0, 3)).toEqual(['BROKER_USERNAME', 'BROKER_PASSWORD', 'BROKER_URL']);
    expect(env.byName.BROKER_URL.value).toBe('amqp://$(BROKER_USERNAME):$(BROKER_PASSWORD)@rabbitmq-service:5672');
    expect(env.byName.BROKER_PASSWORD.valueFrom.secretKeyRef).toEqual({
      name: 'rabbitmq-service-credentials',
      key: 'password',
    });
  });

  test('retries a crashed seeder with new pods, but fails at once on bad input', () => {
    const job = only(
      synth((chart) => seeder(chart)),
      'Job',
    );
    expect(job.spec.backoffLimit).toBe(4);
    expect(podSpec(job).restartPolicy).toBe('Never');
    expect(job.spec.podFailurePolicy.rules[0]).toEqual({
      action: 'FailJob',
      onExitCodes: { containerName: 'work-queue', operator: 'In', values: [2] },
    });
  });

  test('labels its pods as clients of the broker and comes after it', () => {
    const manifests = synth((chart) => seeder(chart));
    const job = only(manifests, 'Job');
    expect(job.spec.template.metadata.labels['work-queue-stack.io/client-of']).toBe('rabbitmq-service');
    const order = manifests.map((m) => m.kind);
    expect(order.indexOf('Job')).toBeGreaterThan(order.indexOf('StatefulSet'));
  });

  test('records the digest of the items on the pod template', () => {
    const digests = [['a'], ['a'], ['b']].map((items) => {
      let construct!: QueueSeeder;
      const job = only(
        synth((chart) => (construct = seeder(chart, { items }))),
        'Job',
      );
      expect(job.spec.template.metadata.annotations['work-queue-stack.io/items-sha256']).toBe(construct.itemsDigest);
      return construct.itemsDigest;
    });
    expect(digests[0]).toBe(digests[1]);
    expect(digests[0]).not.toBe(digests[2]);
  });

  test('works with a Redis broker without a password', () => {
    const job = only(
      synth(
        (chart) =>
          new QueueSeeder(chart, 'seeder', {
            broker: new RedisPod(chart, 'redis'),
            queue: 'job2',
            items: ['x'],
            image: IMAGE,
          }),
      ),
      'Job',
    );
    const env = containerEnv(job);
    expect(env.names).not.toContain('BROKER_PASSWORD');
    expect(env.byName.BROKER_URL.value).toBe('redis://redis:6379');
  });

  test('names the items ConfigMap by its content: a changed list is a new ConfigMap, the same list the same one', () => {
    const configMapName = (items: string[], name?: string): string =>
      only(itemsConfigMaps(synth((chart) => seeder(chart, { items, name }))), 'ConfigMap').metadata.name!;
    expect(configMapName(['a', 'b'])).toBe(configMapName(['a', 'b']));
    expect(configMapName(['a', 'b'])).not.toBe(configMapName(['a', 'c']));
    expect(configMapName(['a'])).toMatch(/^test-seeder-items-[0-9a-f]{10}$/);
    expect(configMapName(['a'], 'x'.repeat(54)).length).toBeLessThanOrEqual(253);
  });

  test('a run label goes to SEED_RUN and into the seed id: the same items with another run are a new seed', () => {
    let construct!: QueueSeeder;
    const job = onlyJob(
      synth((chart) => (construct = seeder(chart, { name: 'fill', run: '2024-05-01' }))),
      'fill',
    );
    expect(containerEnv(job).byName.SEED_RUN.value).toBe('2024-05-01');
    expect(construct.seedId).toBe(contract.seedId(['apple', 'banana', 'apple'], '2024-05-01'));
    let plain!: QueueSeeder;
    const withoutRun = onlyJob(
      synth((chart) => (plain = seeder(chart, { name: 'fill' }))),
      'fill',
    );
    expect(containerEnv(withoutRun).names).not.toContain('SEED_RUN');
    expect(plain.seedId).toBe(contract.seedId(['apple', 'banana', 'apple']));
    expect(plain.seedId).not.toBe(construct.seedId);
  });

  test('fails on a run label the seeder would refuse as SEED_RUN: empty, too long, spaces at an end, not printable ASCII', () => {
    for (const run of ['', 'r'.repeat(64), ' nightly', 'nächtlich']) {
      expect(() => synth((chart) => seeder(chart, { run }))).toThrow(
        `test/seeder: run: got ${JSON.stringify(run)}, expected a run label of 1 to 63 printable ASCII characters`,
      );
    }
  });

  test('fails on empty items', () => {
    expect(() => synth((chart) => seeder(chart, { items: [] }))).toThrow(
      'test/seeder: items: got [], expected at least one item',
    );
  });

  test('fails on an item that is not a string', () => {
    expect(() => synth((chart) => seeder(chart, { items: ['a', 42 as unknown as string] }))).toThrow(
      'test/seeder: items[1]: got 42, expected a string',
    );
  });

  test('fails on an item over 512 KiB', () => {
    const big = 'x'.repeat(512 * 1024 + 1);
    expect(() => synth((chart) => seeder(chart, { items: ['a', big] }))).toThrow(
      /test\/seeder: items\[1\]: got "x{80}"\.\.\. \(524289 characters\), expected a string of at most 524288 bytes/,
    );
  });

  test('splits items over ConfigMaps that each fit kubectl apply, the seeded list unchanged', () => {
    // 1.6 MiB: more than one ConfigMap holds, and far more than client-side apply's 256 KiB annotation.
    const items = Array.from({ length: 8 }, (_, i) => `${i}`.repeat(200 * 1024));
    const manifests = synth((chart) => seeder(chart, { items }));
    const maps = itemsConfigMaps(manifests);
    expect(maps.length).toBe(8);
    const files = maps.map((map) => Object.entries(map.data as Record<string, string>)[0]);
    expect(files.map(([file]) => file)).toEqual(items.map((_, k) => `items-${k}.json`));
    expect(files.flatMap(([, json]) => JSON.parse(json) as string[])).toEqual(items);
    const sources = podSpec(only(manifests, 'Job')).volumes.find((v: { name: string }) => v.name === 'items').projected
      .sources;
    expect(sources).toEqual(maps.map((map) => ({ configMap: { name: map.metadata.name } })));
  });

  test('fails when the items exceed what seed reads', () => {
    const items = Array.from({ length: 17 }, () => 'y'.repeat(500 * 1024));
    expect(() => synth((chart) => seeder(chart, { items }))).toThrow(
      /test\/seeder: items: got an array of 17, expected at most 8 MiB of items in all as JSON \(what work-queue seed reads.*\), not 8704052 bytes: split the list over several seeders/,
    );
  });

  test('fails on a queue name the broker rejects', () => {
    for (const queue of ['', 'amq.job', 'job 1', 'x'.repeat(201)]) {
      expect(() => synth((chart) => seeder(chart, { queue }))).toThrow(
        /test\/seeder: queue: got .*, expected a queue name of 1 to 200 characters/,
      );
    }
  });

  test('fails on a Job name that is not a DNS-1123 label, or too long for the hash after it', () => {
    expect(() => synth((chart) => seeder(chart, { name: 'Seed.Job' }))).toThrow(
      /test\/seeder: name: got "Seed.Job", expected a DNS-1123 label/,
    );
    expect(() => synth((chart) => seeder(chart, { name: 'x'.repeat(55) }))).toThrow(
      /test\/seeder: name: got "x{55}", expected at most 54 characters: the Job's name is "<name>-<8 hex digits>", which must fit a 63-character label/,
    );
  });

  test('fails on a negative backoffLimit', () => {
    expect(() => synth((chart) => seeder(chart, { backoffLimit: -1 }))).toThrow(
      'test/seeder: backoffLimit: got -1, expected a whole number of at least 0',
    );
  });
});

/** The items ConfigMaps (`<name>-items-<hash>`), in the order the seeder mounts them. */
function itemsConfigMaps(manifests: Manifest[]): Manifest[] {
  return manifests.filter((m) => m.kind === 'ConfigMap' && /-items-[0-9a-f]{10}$/.test(m.metadata.name ?? ''));
}
