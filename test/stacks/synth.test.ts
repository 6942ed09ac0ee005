import { execFile, spawn } from 'child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { promisify } from 'util';
import { parseAllDocuments } from 'yaml';
import { schemaError } from '../k8s-schema';
import { configMapItems, containerEnv, type Manifest, only, podSpec } from '../manifests';
import { restrictedViolations } from '../pod-security';
import { seedId } from '../../contract';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

/** The ways the app is run: `npm run synth` (node stacks/synth.js) and `cdk8s synth`, which starts it through cdk8s.yaml. */
const SYNTH_COMMANDS: Record<'npm run synth' | 'cdk8s synth', (out: string) => [string, string[]]> = {
  'npm run synth': (out) => ['npm', ['run', '--silent', 'synth', '--', '--output', out]],
  'cdk8s synth': (out) => ['npx', ['cdk8s', 'synth', '--check-upgrade', 'false', '--output', out]],
};
type SynthCommand = keyof typeof SYNTH_COMMANDS;

/** Runs `command` into `out` with `env` added to the environment. */
function synthInto(out: string, env: Record<string, string> = {}, command: SynthCommand = 'npm run synth') {
  const [file, args] = SYNTH_COMMANDS[command](out);
  return run(file, args, { cwd: ROOT, env: { ...process.env, ...env } });
}

/** The files in `out` and their bytes. */
function readBytes(out: string): Record<string, Buffer> {
  return Object.fromEntries(
    readdirSync(out)
      .sort()
      .map((file) => [file, readFileSync(join(out, file))]),
  );
}

/** The files in `out` and their contents. */
function readOutput(out: string): Record<string, string> {
  return Object.fromEntries(Object.entries(readBytes(out)).map(([file, bytes]) => [file, bytes.toString('utf8')]));
}

/** Runs `npm run synth` into a fresh directory; returns the files and their objects. */
async function synth(
  env: Record<string, string> = {},
): Promise<{ dir: string; texts: Record<string, string>; files: Record<string, Manifest[]> }> {
  const dir = mkdtempSync(join(tmpdir(), 'synth-'));
  const out = join(dir, 'dist');
  await synthInto(out, env);
  const texts = readOutput(out);
  const files: Record<string, Manifest[]> = {};
  for (const [file, text] of Object.entries(texts)) files[file] = parseAllDocuments(text).map((d) => d.toJSON());
  return { dir, texts, files };
}

/** The one object of `kind` named `<prefix>-<hash>`, `digits` hex digits of hash long. */
function hashNamed(objects: Manifest[], kind: string, prefix: string, digits: number): Manifest {
  const name = new RegExp(`^${prefix}-[0-9a-f]{${digits}}$`);
  const found = objects.filter((m) => m.kind === kind && name.test(m.metadata.name ?? ''));
  expect(found.map((m) => m.metadata.name)).toHaveLength(1);
  return found[0];
}

/** The Job named `<name>-<hash of what cannot change on it>`. */
const jobNamed = (objects: Manifest[], name: string) => hashNamed(objects, 'Job', name, 8);

/** The items ConfigMap of a seeding Job, named `<job>-items-<hash of the items>`, immutable. */
function itemsConfigMap(objects: Manifest[], seedJob: string): Manifest {
  const found = hashNamed(objects, 'ConfigMap', `${seedJob}-items`, 10);
  expect(found.immutable).toBe(true);
  return found;
}

/**
 * A credential written out as a value: a `password` or `cookie` key (YAML or JSON) with a value that
 * is not a `$(VAR)` reference, RabbitMQ's `default_pass`, or a URL with a literal password.
 */
const CREDENTIAL_LITERAL = [
  /["']?\b(password|[a-z_.-]*cookie)["']?[ \t]*[:=][ \t]*["']?(?!\$\()[^\s"',}\]]+/i,
  /\bdefault_pass\b/,
  /:\/\/[^\s/:@]*:(?!\$\()[^\s/@]+@/,
];

describe('cdk8s synth of the two tutorials and the indexed example', () => {
  let files: Record<string, Manifest[]>;
  let texts: Record<string, string>;
  let all: Manifest[];
  let dir: string;

  beforeAll(async () => {
    ({ dir, texts, files } = await synth());
    all = Object.values(files).flat();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('writes each tutorial as ordered broker, seeder and job files, and the indexed example as one job file', () => {
    expect(Object.keys(files)).toEqual([
      '0000-coarse-broker.k8s.yaml',
      '0001-coarse-seeder.k8s.yaml',
      '0002-coarse-job.k8s.yaml',
      '0003-fine-broker.k8s.yaml',
      '0004-fine-seeder.k8s.yaml',
      '0005-fine-job.k8s.yaml',
      '0006-indexed-job.k8s.yaml',
    ]);
    // RabbitMQ's credentials are created in the cluster by a Job of the worker image, with a ServiceAccount and Role of its own.
    expect(files['0000-coarse-broker.k8s.yaml'].map((m) => m.kind).sort()).toEqual([
      'ConfigMap',
      'Job',
      'NetworkPolicy',
      'Role',
      'RoleBinding',
      'Service',
      'ServiceAccount',
      'StatefulSet',
    ]);
    expect(files['0003-fine-broker.k8s.yaml'].map((m) => m.kind).sort()).toEqual([
      'NetworkPolicy',
      'Service',
      'StatefulSet',
    ]);
    expect(files['0001-coarse-seeder.k8s.yaml'].map((m) => m.kind)).toEqual(['ConfigMap', 'Job']);
    expect(files['0005-fine-job.k8s.yaml'].map((m) => m.kind)).toEqual(['Job']);
    expect(files['0006-indexed-job.k8s.yaml'].map((m) => m.kind)).toEqual(['ConfigMap', 'Job']);
  });

  test('every object is valid against the Kubernetes OpenAPI schema', () => {
    expect(all.length).toBe(19);
    const errors = all
      .map((m) => [`${m.kind}/${String(m.metadata.name)}`, schemaError(m)])
      .filter(([, error]) => error);
    expect(errors).toEqual([]);
  });

  test('coarse: RabbitMQ, queue job1 with 8 items, Job job-wq-1 with completions 8 and parallelism 2', () => {
    expect(only(all, 'Service', 'rabbitmq-service').spec.ports[0].port).toBe(5672);
    expect(configMapItems(itemsConfigMap(all, 'job-wq-1-seed'))).toEqual([
      'apple',
      'banana',
      'cherry',
      'date',
      'fig',
      'grape',
      'lemon',
      'melon',
    ]);
    const job = jobNamed(all, 'job-wq-1');
    expect(job.spec.completions).toBe(8);
    expect(job.spec.parallelism).toBe(2);
    const env = containerEnv(job).byName;
    expect(env.QUEUE.value).toBe('job1');
    expect(env.WORKER_MODE.value).toBe('single');
    expect(env.WORK_SECONDS.value).toBe('10');
    expect(env.BROKER_URL.value).toBe('amqp://$(BROKER_USERNAME):$(BROKER_PASSWORD)@rabbitmq-service:5672');
  });

  test('fine: Redis, list job2 with 9 items, Job job-wq-2 with parallelism 2 and no completions', () => {
    expect(only(all, 'Service', 'redis').spec.ports[0].port).toBe(6379);
    const items = configMapItems(itemsConfigMap(all, 'job-wq-2-seed'));
    expect(items).toHaveLength(9);
    expect(items).toContain('orange');
    const job = jobNamed(all, 'job-wq-2');
    expect(job.spec.completions).toBeUndefined();
    expect(job.spec.parallelism).toBe(2);
    expect(containerEnv(job).byName.QUEUE.value).toBe('job2');
    expect(containerEnv(job).byName.WORKER_MODE.value).toBe('drain');
  });

  test('indexed: no broker, the 8 items in an immutable ConfigMap, Indexed Job job-wq-3 with completions 8 and parallelism 2', () => {
    const objects = files['0006-indexed-job.k8s.yaml'];
    const items = hashNamed(objects, 'ConfigMap', 'job-wq-3-items', 10);
    expect(items.immutable).toBe(true);
    expect(JSON.parse(items.data['items-0.json'])).toEqual([
      'apple',
      'banana',
      'cherry',
      'date',
      'fig',
      'grape',
      'lemon',
      'melon',
    ]);
    const job = jobNamed(objects, 'job-wq-3');
    expect(job.spec).toMatchObject({
      completionMode: 'Indexed',
      completions: 8,
      parallelism: 2,
      backoffLimitPerIndex: 4,
    });
    const env = containerEnv(job).byName;
    expect(env.WORKER_MODE.value).toBe('indexed');
    expect(env.WORK_SECONDS.value).toBe('10');
    expect(env.BROKER_URL).toBeUndefined();
  });

  test('uses job-wq:latest by default, and no guest:guest anywhere', () => {
    for (const job of all.filter((m) => m.kind === 'Job'))
      expect(podSpec(job).containers[0].image).toBe('job-wq:latest');
    expect(JSON.stringify(all)).not.toMatch(/guest/);
  });

  test('holds no credential: no Secret with data, no password or cookie literal anywhere', () => {
    const secretsWithData = all.filter(
      (m) => m.kind === 'Secret' && (m.data !== undefined || m.stringData !== undefined),
    );
    expect(secretsWithData.map((m) => m.metadata.name)).toEqual([]);
    for (const [file, text] of Object.entries(texts)) {
      const literals = CREDENTIAL_LITERAL.map((pattern) => pattern.exec(text)?.[0]).filter(
        (found) => found !== undefined,
      );
      expect({ file, literals }).toEqual({ file, literals: [] });
    }
  });

  test('seeder and worker pods meet the "restricted" Pod Security Standard', () => {
    for (const job of all.filter((m) => m.kind === 'Job')) expect(restrictedViolations(podSpec(job))).toEqual([]);
  });

  test('takes the image and the simulated work from the environment', async () => {
    const image = '127.0.0.1:5000/job-wq@sha256:' + 'b'.repeat(64);
    const custom = await synth({ WORKER_IMAGE: image, WORK_SECONDS: '0.2' });
    try {
      const jobs = Object.values(custom.files)
        .flat()
        .filter((m) => m.kind === 'Job');
      // Seeding and worker Jobs of both tutorials, RabbitMQ's credentials Job and the Indexed Job.
      expect(jobs).toHaveLength(6);
      for (const job of jobs) expect(podSpec(job).containers[0].image).toBe(image);
      for (const name of ['job-wq-2', 'job-wq-3'])
        expect(containerEnv(jobNamed(jobs, name)).byName.WORK_SECONDS.value).toBe('0.2');
    } finally {
      rmSync(custom.dir, { recursive: true, force: true });
    }
  });

  test('takes the items, the run label and the seed wait from the environment', async () => {
    const items = ['kiwi', 'lime', 'mango'];
    const custom = await synth({ ITEMS: JSON.stringify(items), RUN: 'again-2', SEED_WAIT_SECONDS: '120' });
    try {
      const objects = Object.values(custom.files).flat();
      for (const seedJob of ['job-wq-1-seed', 'job-wq-2-seed']) {
        expect(configMapItems(itemsConfigMap(objects, seedJob))).toEqual(items);
        expect(containerEnv(jobNamed(objects, seedJob)).byName.SEED_RUN.value).toBe('again-2');
      }
      for (const workerJob of ['job-wq-1', 'job-wq-2']) {
        const env = containerEnv(jobNamed(objects, workerJob)).byName;
        expect(env.SEED_ID.value).toBe(seedId(items, 'again-2'));
        expect(env.SEED_WAIT_SECONDS.value).toBe('120');
      }
      // The coarse Job's completions follows the items.
      expect(jobNamed(objects, 'job-wq-1').spec.completions).toBe(3);
      // The Indexed Job takes the items and the run, but has no seed to wait for.
      const indexed = custom.files['0006-indexed-job.k8s.yaml'];
      expect(JSON.parse(hashNamed(indexed, 'ConfigMap', 'job-wq-3-items', 10).data['items-0.json'])).toEqual(items);
      const indexedJob = jobNamed(indexed, 'job-wq-3');
      expect(indexedJob.spec.completions).toBe(3);
      expect(indexedJob.spec.template.metadata.annotations['work-queue-stack.io/run']).toBe('again-2');
      expect(containerEnv(indexedJob).byName.SEED_WAIT_SECONDS).toBeUndefined();
    } finally {
      rmSync(custom.dir, { recursive: true, force: true });
    }
  });

  test("takes the namespace for all three; AUTOSCALE_MAX_JOBS replaces the tutorials' worker Jobs and leaves the Indexed Job", async () => {
    const custom = await synth({ NAMESPACE: 'batch', AUTOSCALE_MAX_JOBS: '3' });
    try {
      expect(custom.files['0002-coarse-job.k8s.yaml'].map((m) => m.kind)).toContain('ScaledJob');
      const indexed = custom.files['0006-indexed-job.k8s.yaml'];
      expect(indexed.map((m) => m.kind)).toEqual(['Namespace', 'ConfigMap', 'Job']);
      for (const m of indexed.slice(1)) expect(m.metadata.namespace).toBe('batch');
    } finally {
      rmSync(custom.dir, { recursive: true, force: true });
    }
  });

  test.each(Object.keys(SYNTH_COMMANDS) as SynthCommand[])(
    '%s: fails with a one-line message and writes nothing on bad input',
    async (command) => {
      const dir = mkdtempSync(join(tmpdir(), 'synth-'));
      const out = join(dir, 'dist');
      try {
        const failed = synthInto(out, { WORK_SECONDS: '-3' }, command);
        const message = 'synth failed: coarse-broker: workSeconds: got -3, expected a finite number of at least 0';
        // `cdk8s synth` adds its own report of the app's exit code after the app's line.
        await expect(failed).rejects.toMatchObject({
          stderr: command === 'npm run synth' ? `${message}\n` : expect.stringContaining(message),
        });
        expect(() => readdirSync(out)).toThrow();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  test.each([
    [{ WORK_SECONDS: 'ten' }, 'synth failed: WORK_SECONDS: got "ten", expected a number of seconds'],
    [{ AUTOSCALE_MAX_JOBS: 'many' }, 'synth failed: AUTOSCALE_MAX_JOBS: got "many", expected a whole number of Jobs'],
    [{ SEED_WAIT_SECONDS: 'soon' }, 'synth failed: SEED_WAIT_SECONDS: got "soon", expected a number of seconds'],
    [
      { ITEMS: 'apple,banana' },
      'synth failed: ITEMS: got "apple,banana", expected a JSON array of strings, such as ["apple","banana"]',
    ],
    [
      { ITEMS: '{"items":["apple"]}' },
      'synth failed: ITEMS: got {"items":["apple"]}, expected a JSON array of strings',
    ],
    [{ ITEMS: '[]' }, 'synth failed: ITEMS: got [], expected at least one item'],
    [{ ITEMS: '["apple",2]' }, 'synth failed: ITEMS[1]: got 2, expected a string'],
  ])('fails with one line for %j', async (env, message) => {
    const dir = mkdtempSync(join(tmpdir(), 'synth-'));
    try {
      await expect(synthInto(join(dir, 'dist'), env)).rejects.toMatchObject({ stderr: `${message}\n` });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('fails with one line for an unknown argument', async () => {
    const failed = run('npm', ['run', '--silent', 'synth', '--', '--outdir', 'x'], { cwd: ROOT });
    await expect(failed).rejects.toMatchObject({
      stderr: 'synth failed: unknown argument --outdir; usage: node stacks/synth.js [--output <dir>]\n',
    });
  });
});

describe('npm run synth', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'synth-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test.each<Record<string, string>>([{}, { NAMESPACE: 'batch' }])(
    'is deterministic: two synths of the same input (%j) are byte-identical, file by file',
    async (env) => {
      await synthInto(join(dir, 'first'), env);
      await synthInto(join(dir, 'second'), env);
      const first = readBytes(join(dir, 'first'));
      const second = readBytes(join(dir, 'second'));
      expect(Object.keys(first)).toHaveLength(7);
      expect(Object.keys(second)).toEqual(Object.keys(first));
      for (const [file, bytes] of Object.entries(first))
        expect({ file, equal: bytes.equals(second[file]) }).toEqual({ file, equal: true });
    },
  );

  test('writes byte for byte what cdk8s synth and the TypeScript app run by ts-node write', async () => {
    await synthInto(join(dir, 'npm'), {}, 'npm run synth');
    await synthInto(join(dir, 'cdk8s'), {}, 'cdk8s synth');
    await run('npx', ['ts-node', '--transpile-only', 'stacks/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, CDK8S_OUTDIR: join(dir, 'ts-node') },
    });

    const written = readOutput(join(dir, 'npm'));
    expect(Object.keys(written)).toHaveLength(7);
    expect(readOutput(join(dir, 'cdk8s'))).toEqual(written);
    expect(readOutput(join(dir, 'ts-node'))).toEqual(written);
  });

  /** The output of a successful synth, to compare what a later synth leaves with. */
  const earlierOutput = async (out: string) => {
    await synthInto(out);
    return readOutput(out);
  };
  /** Whatever a synth put beside its output directory: nothing, once it has ended. */
  const besideOutput = () => readdirSync(dir).filter((name) => name !== 'dist');

  test.each([
    [{ WORK_SECONDS: 'abc' }, 'synth failed: WORK_SECONDS: got "abc", expected a number of seconds'],
    [{ ITEMS: '[1]' }, 'synth failed: ITEMS[0]: got 1, expected a string'],
    [
      { WORK_SECONDS: '-3' },
      'synth failed: coarse-broker: workSeconds: got -3, expected a finite number of at least 0',
    ],
  ])('a failing synth (%j) leaves the earlier output byte for byte, and nothing beside it', async (env, message) => {
    const out = join(dir, 'dist');
    const before = await earlierOutput(out);
    await expect(synthInto(out, env)).rejects.toMatchObject({ stderr: `${message}\n` });
    expect(readOutput(out)).toEqual(before);
    expect(besideOutput()).toEqual([]);
  });

  test('an interrupted synth leaves the earlier output byte for byte: the app, stopped before it finished, is discarded', async () => {
    const out = join(dir, 'dist');
    const before = await earlierOutput(out);
    // Loaded into the app's process only (its CDK8S_OUTDIR is the staging directory): says so, then holds the app.
    const started = join(dir, 'app-started');
    const hold = join(dir, 'hold-app.js');
    writeFileSync(
      hold,
      `if (/\\.synth-/.test(process.env.CDK8S_OUTDIR ?? '')) {\n` +
        `  require('fs').writeFileSync(${JSON.stringify(started)}, process.env.CDK8S_OUTDIR);\n` +
        '  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30000);\n' +
        '}\n',
    );
    const runner = spawn(process.execPath, ['stacks/synth.js', '--output', out], {
      cwd: ROOT,
      env: { ...process.env, WORK_SECONDS: '5', NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${hold}` },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => runner.on('exit', (code) => resolve(code)));
    while (!existsSync(started)) await new Promise((resolve) => setTimeout(resolve, 20));
    // The app writes beside the output directory, on the same filesystem, so that the swap is a rename.
    expect(readFileSync(started, 'utf8').startsWith(join(dir, '.dist.synth-'))).toBe(true);
    runner.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(readOutput(out)).toEqual(before);
    expect(besideOutput().filter((name) => name !== 'app-started' && name !== 'hold-app.js')).toEqual([]);
  });

  test('replaces the output directory whole: no stale file survives', async () => {
    const out = join(dir, 'dist');
    mkdirSync(join(out, 'old-chart'), { recursive: true });
    writeFileSync(join(out, '0007-removed-job.k8s.yaml'), 'kind: Job\n');
    await synthInto(out);
    expect(readdirSync(out)).toHaveLength(7);
    expect(readdirSync(out)).not.toContain('0007-removed-job.k8s.yaml');
    expect(readdirSync(out)).not.toContain('old-chart');
  });

  test('rebuilds its cached bundle when a source changes', async () => {
    // A copy of the sources with its own node_modules/.cache: links to every installed package.
    const copy = join(dir, 'repo');
    for (const path of ['stacks', 'contract', 'constructs', 'worker', 'tsconfig.json', 'cdk8s.yaml'])
      cpSync(join(ROOT, path), join(copy, path), { recursive: true });
    mkdirSync(join(copy, 'node_modules'));
    for (const name of readdirSync(join(ROOT, 'node_modules')).filter((name) => name !== '.cache')) {
      symlinkSync(join(ROOT, 'node_modules', name), join(copy, 'node_modules', name));
    }
    const items = async () => {
      await run(process.execPath, ['stacks/synth.js', '--output', 'dist'], { cwd: copy });
      return readFileSync(join(copy, 'dist', '0001-coarse-seeder.k8s.yaml'), 'utf8');
    };

    expect(await items()).toContain('apple');
    const config = join(copy, 'stacks', 'config.ts');
    writeFileSync(config, readFileSync(config, 'utf8').replace("'apple'", "'apricot'"));
    const after = await items();
    expect(after).toContain('apricot');
    expect(after).not.toContain('apple');
  });
});
