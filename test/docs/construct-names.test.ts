/**
 * The object names docs/constructs.md promises are the ones a synth writes: the `dist/` listing of
 * `npm run synth`, the names in the constructs table (`<name>-items-<hash>`, `<serviceName>-clients`,
 * ...) for a named and an unnamed construct, and the Names rule's worked example of a seeder.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Chart, Testing } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { IndexedWorkJob, QueueSeeder, RabbitMQStatefulSet, RedisPod, WorkQueueJob } from '../../constructs';
import { configMapItems, type Manifest } from '../manifests';

const ROOT = path.resolve(__dirname, '..', '..');
const DOC = 'docs/constructs.md';
const markdown = readFileSync(path.join(ROOT, DOC), 'utf8');
const IMAGE = 'registry.local/job-wq:1';
const KINDS = [
  'Namespace',
  'NetworkPolicy',
  'ServiceAccount',
  'RoleBinding',
  'Role',
  'StatefulSet',
  'Service',
  'ConfigMap',
  'Secret',
  'Job',
];

/** A documented name as a pattern: `<hash>` any hex digest, `<N hex digits>` N of them, other `<placeholders>` from `values`. */
function namePattern(documented: string, values: Record<string, string> = {}): RegExp {
  const source = documented.split(/(<[^>]+>)/).map((part) => {
    if (part === '<hash>') return '[0-9a-f]+';
    const digits = /^<(\d+) hex digits>$/.exec(part);
    if (digits) return `[0-9a-f]{${digits[1]}}`;
    const placeholder = /^<(\w+)>$/.exec(part);
    if (placeholder) {
      if (!(placeholder[1] in values)) throw new Error(`${DOC}: no value for ${part} in "${documented}"`);
      return escape(values[placeholder[1]]);
    }
    return escape(part);
  });
  return new RegExp(`^${source.join('')}$`);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The names of `objects` that match `pattern` (and are of `kind`, when given). */
function matching(objects: Manifest[], pattern: RegExp, kind?: string): string[] {
  return objects
    .filter((m) => (kind === undefined || m.kind === kind) && pattern.test(m.metadata.name ?? ''))
    .map((m) => `${m.kind} ${String(m.metadata.name)}`);
}

/** A chart's objects, built in a chart of the given id. */
function synthChart(chartId: string, build: (chart: Chart) => void): Manifest[] {
  const chart = new Chart(Testing.app(), chartId);
  build(chart);
  return Testing.synth(chart) as Manifest[];
}

describe('the dist/ listing of npm run synth', () => {
  const section = markdown.slice(markdown.indexOf('## The tutorials: `npm run synth`'));
  const block = /^```\n([\s\S]*?)^```$/m.exec(section)![1];
  /** Each listed file and what the listing says is in it (continuation lines joined). */
  const listed = new Map<string, string>();
  let current = '';
  for (const line of block.split('\n').filter((l) => l.trim())) {
    const file = /^dist\/(\S+)\s+(.*)$/.exec(line);
    if (file) listed.set((current = file[1]), file[2]);
    else listed.set(current, `${String(listed.get(current))} ${line.trim()}`);
  }

  let out: string;
  const files: Record<string, Manifest[]> = {};
  beforeAll(async () => {
    out = mkdtempSync(path.join(tmpdir(), 'docs-synth-'));
    await promisify(execFile)(process.execPath, ['stacks/synth.js', '-o', out], { cwd: ROOT });
    for (const file of readdirSync(out))
      files[file] = parseAllDocuments(readFileSync(path.join(out, file), 'utf8')).map((d) => d.toJSON() as Manifest);
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test('lists exactly the files the synth writes', () => {
    expect([...listed.keys()].sort()).toEqual(Object.keys(files).sort());
  });

  test.each([...listed.entries()])('%s holds the objects the listing names', (file, claim) => {
    const objects = files[file] ?? [];
    const kindWords = new RegExp(
      `(\\[?)\\b(?:Indexed )?(${KINDS.join('|')})\\b(\\]?)(?: ([a-z0-9][a-z0-9<>-]*))?`,
      'g',
    );
    const mentioned = new Set<string>();
    for (const [, open, kind, close, name] of claim.matchAll(kindWords)) {
      if (!(open && close)) mentioned.add(kind);
      if (name && !['and', 'with'].includes(name))
        expect([claim, matching(objects, namePattern(name), kind)]).toEqual([claim, [expect.any(String)]]);
    }
    expect([...new Set(objects.map((m) => m.kind))].sort()).toEqual([...mentioned].sort());
    for (const [, name, count] of claim.matchAll(/ConfigMap (\S+) with the (\d+) items/g)) {
      const configMap = objects.find((m) => m.kind === 'ConfigMap' && namePattern(name).test(m.metadata.name ?? ''))!;
      expect(configMapItems(configMap)).toHaveLength(Number(count));
    }
  });
});

describe('the names in the constructs table', () => {
  /** The "synthesizes" cell of a construct's row. */
  function synthesizes(construct: string): string {
    const row = markdown.split('\n').find((line) => line.startsWith(`| \`${construct}\` |`));
    if (!row) throw new Error(`${DOC} has no table row for ${construct}`);
    return row.split(' | ')[1];
  }
  /** The code spans of a cell that are names built from a placeholder, such as `<name>-items-<hash>`. */
  const namesIn = (cell: string) => [...cell.matchAll(/`([^`]*<(?:name|serviceName)>[^`]*)`/g)].map((m) => m[1]);

  const broker = (chart: Chart) => new RedisPod(chart, 'redis');
  /** Each construct built with `name` (when given) in the chart `batch`, and what its placeholders then stand for. */
  const cases: Array<[string, string | undefined, (chart: Chart, name?: string) => void, Record<string, string>]> = [
    [
      'QueueSeeder',
      'fill',
      (chart, name) =>
        new QueueSeeder(chart, 'seeder', { broker: broker(chart), queue: 'q', items: ['a', 'b'], image: IMAGE, name }),
      { name: 'fill' },
    ],
    [
      'QueueSeeder',
      undefined,
      (chart, name) =>
        new QueueSeeder(chart, 'seeder', { broker: broker(chart), queue: 'q', items: ['a', 'b'], image: IMAGE, name }),
      { name: 'batch-seeder' },
    ],
    [
      'WorkQueueJob',
      'work',
      (chart, name) => {
        const seeder = new QueueSeeder(chart, 'seeder', {
          broker: broker(chart),
          queue: 'q',
          items: ['a'],
          image: IMAGE,
          name: 'fill',
        });
        new WorkQueueJob(chart, 'job', { seeder, image: IMAGE, pattern: 'fine', name });
      },
      { name: 'work' },
    ],
    [
      'WorkQueueJob',
      undefined,
      (chart) => {
        const seeder = new QueueSeeder(chart, 'seeder', {
          broker: broker(chart),
          queue: 'q',
          items: ['a'],
          image: IMAGE,
          name: 'fill',
        });
        new WorkQueueJob(chart, 'job', { seeder, image: IMAGE, pattern: 'fine' });
      },
      { name: 'batch-job' },
    ],
    [
      'IndexedWorkJob',
      'thumbs',
      (chart, name) => new IndexedWorkJob(chart, 'job', { items: ['a', 'b'], image: IMAGE, name }),
      { name: 'thumbs' },
    ],
    [
      'IndexedWorkJob',
      undefined,
      (chart) => new IndexedWorkJob(chart, 'job', { items: ['a', 'b'], image: IMAGE }),
      { name: 'batch-job' },
    ],
    [
      'RabbitMQStatefulSet',
      'mq',
      (chart, name) =>
        new RabbitMQStatefulSet(chart, 'rabbitmq', {
          name,
          serviceName: 'mq-service',
          replicas: 3,
          password: 'p',
          erlangCookie: 'c',
          workerImage: IMAGE,
          monitoring: {},
        }),
      { name: 'mq', serviceName: 'mq-service' },
    ],
  ];

  const titled = cases.map(([construct, name, build, values]) => ({
    construct,
    name,
    build,
    values,
    given: name ? `name '${name}'` : 'no name',
  }));
  test.each(titled)(
    '$construct with $given: every name its row gives is one synthesized object',
    ({ construct, name, build, values }) => {
      const objects = synthChart('batch', (chart) => build(chart, name));
      const names = namesIn(synthesizes(construct));
      expect(names.length).toBeGreaterThan(0);
      for (const documented of names)
        expect([documented, matching(objects, namePattern(documented, values))]).toEqual([
          documented,
          [expect.any(String)],
        ]);
    },
  );
});

test("the Names rule's worked example: an unnamed and a named QueueSeeder", () => {
  const text = markdown.replace(/\s+/g, ' ');
  const example =
    /without a `name`, id `([^`]+)` in the chart `([^`]+)`, is the Job `([^`]+)` with the ConfigMap `([^`]+)`; given `name: '([^']+)'`, the Job `([^`]+)` with the ConfigMap `([^`]+)`/.exec(
      text,
    );
  expect(example).not.toBeNull();
  const [, id, chartId, unnamedJob, unnamedConfigMap, name, namedJob, namedConfigMap] = example!;
  const seeders: Array<{ given?: string; job: string; configMap: string }> = [
    { given: undefined, job: unnamedJob, configMap: unnamedConfigMap },
    { given: name, job: namedJob, configMap: namedConfigMap },
  ];
  for (const { given, job, configMap } of seeders) {
    const objects = synthChart(
      chartId,
      (chart) =>
        new QueueSeeder(chart, id, {
          broker: new RedisPod(chart, 'redis'),
          queue: 'q',
          items: ['a'],
          image: IMAGE,
          name: given,
        }),
    );
    expect({
      job: matching(objects, namePattern(job), 'Job'),
      configMap: matching(objects, namePattern(configMap), 'ConfigMap'),
    }).toEqual({
      job: [expect.any(String)],
      configMap: [expect.any(String)],
    });
  }
});
