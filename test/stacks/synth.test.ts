import { execFile } from 'child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { promisify } from 'util';
import { parseAllDocuments } from 'yaml';
import { schemaError } from '../k8s-schema';
import { containerEnv, Manifest, only, podSpec } from '../manifests';
import { restrictedViolations } from '../pod-security';

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

/** The files in `out` and their contents. */
function readOutput(out: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(out)
      .sort()
      .map((file) => [file, readFileSync(join(out, file), 'utf8')]),
  );
}

/** Runs `npm run synth` into a fresh directory; returns the files and their objects. */
async function synth(env: Record<string, string> = {}): Promise<{ dir: string; files: Record<string, Manifest[]> }> {
  const dir = mkdtempSync(join(tmpdir(), 'synth-'));
  const out = join(dir, 'dist');
  await synthInto(out, env);
  const files: Record<string, Manifest[]> = {};
  for (const [file, text] of Object.entries(readOutput(out))) files[file] = parseAllDocuments(text).map((d) => d.toJSON());
  return { dir, files };
}

describe('cdk8s synth of the two tutorials', () => {
  let files: Record<string, Manifest[]>;
  let all: Manifest[];
  let dir: string;

  beforeAll(async () => {
    ({ dir, files } = await synth());
    all = Object.values(files).flat();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The items ConfigMap of a seeding Job, named `<job>-items-<hash of the items>`. */
  const itemsConfigMap = (seedJob: string): Manifest => {
    const found = all.filter((m) => m.kind === 'ConfigMap' && new RegExp(`^${seedJob}-items-[0-9a-f]{10}$`).test(m.metadata.name ?? ''));
    expect(found).toHaveLength(1);
    expect(found[0].immutable).toBe(true);
    return found[0];
  };

  test('writes each stack as ordered broker, seeder and job files', () => {
    expect(Object.keys(files)).toEqual([
      '0000-coarse-broker.k8s.yaml',
      '0001-coarse-seeder.k8s.yaml',
      '0002-coarse-job.k8s.yaml',
      '0003-fine-broker.k8s.yaml',
      '0004-fine-seeder.k8s.yaml',
      '0005-fine-job.k8s.yaml',
    ]);
    expect(files['0000-coarse-broker.k8s.yaml'].map((m) => m.kind).sort()).toEqual(['NetworkPolicy', 'Secret', 'Service', 'StatefulSet']);
    expect(files['0003-fine-broker.k8s.yaml'].map((m) => m.kind).sort()).toEqual(['NetworkPolicy', 'Pod', 'Service']);
    expect(files['0001-coarse-seeder.k8s.yaml'].map((m) => m.kind)).toEqual(['ConfigMap', 'Job']);
    expect(files['0005-fine-job.k8s.yaml'].map((m) => m.kind)).toEqual(['Job']);
  });

  test('every object is valid against the Kubernetes OpenAPI schema', () => {
    expect(all.length).toBe(13);
    const errors = all.map((m) => [`${m.kind}/${m.metadata.name}`, schemaError(m)]).filter(([, error]) => error);
    expect(errors).toEqual([]);
  });

  test('coarse: RabbitMQ, queue job1 with 8 items, Job job-wq-1 with completions 8 and parallelism 2', () => {
    expect(only(all, 'Service', 'rabbitmq-service').spec.ports[0].port).toBe(5672);
    expect(JSON.parse(itemsConfigMap('job-wq-1-seed').data['items.json'])).toEqual(['apple', 'banana', 'cherry', 'date', 'fig', 'grape', 'lemon', 'melon']);
    const job = only(all, 'Job', 'job-wq-1');
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
    const items = JSON.parse(itemsConfigMap('job-wq-2-seed').data['items.json']);
    expect(items).toHaveLength(9);
    expect(items).toContain('orange');
    const job = only(all, 'Job', 'job-wq-2');
    expect(job.spec.completions).toBeUndefined();
    expect(job.spec.parallelism).toBe(2);
    expect(containerEnv(job).byName.QUEUE.value).toBe('job2');
    expect(containerEnv(job).byName.WORKER_MODE.value).toBe('drain');
  });

  test('uses job-wq:latest by default, and no guest:guest anywhere', () => {
    for (const job of all.filter((m) => m.kind === 'Job')) expect(podSpec(job).containers[0].image).toBe('job-wq:latest');
    expect(JSON.stringify(all)).not.toMatch(/guest/);
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
      expect(jobs).toHaveLength(4);
      for (const job of jobs) expect(podSpec(job).containers[0].image).toBe(image);
      expect(containerEnv(only(jobs, 'Job', 'job-wq-2')).byName.WORK_SECONDS.value).toBe('0.2');
    } finally {
      rmSync(custom.dir, { recursive: true, force: true });
    }
  });

  test.each(Object.keys(SYNTH_COMMANDS) as SynthCommand[])('%s: fails with a one-line message and writes nothing on bad input', async (command) => {
    const dir = mkdtempSync(join(tmpdir(), 'synth-'));
    const out = join(dir, 'dist');
    try {
      const failed = synthInto(out, { WORK_SECONDS: '-3' }, command);
      const message = 'synth failed: coarse-job/job: workSeconds: got -3, expected a finite number of at least 0';
      // `cdk8s synth` adds its own report of the app's exit code after the app's line.
      await expect(failed).rejects.toMatchObject({ stderr: command === 'npm run synth' ? `${message}\n` : expect.stringContaining(message) });
      expect(() => readdirSync(out)).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    [{ WORK_SECONDS: 'ten' }, 'synth failed: WORK_SECONDS: got "ten", expected a number of seconds'],
    [{ AUTOSCALE_MAX_JOBS: 'many' }, 'synth failed: AUTOSCALE_MAX_JOBS: got "many", expected a whole number of Jobs'],
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
    await expect(failed).rejects.toMatchObject({ stderr: 'synth failed: unknown argument --outdir; usage: node stacks/synth.js [--output <dir>]\n' });
  });
});

describe('npm run synth', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'synth-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('writes byte for byte what cdk8s synth and the TypeScript app run by ts-node write', async () => {
    // The generated broker password is the only random part: made fixed in every process.
    const fixedRandom = join(dir, 'fixed-random.js');
    writeFileSync(
      fixedRandom,
      "const crypto = require('crypto');\n" +
        'crypto.randomBytes = (size, callback) => (callback ? process.nextTick(callback, null, Buffer.alloc(size, 7)) : Buffer.alloc(size, 7));\n',
    );
    const env = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${fixedRandom}` };
    await synthInto(join(dir, 'npm'), env, 'npm run synth');
    await synthInto(join(dir, 'cdk8s'), env, 'cdk8s synth');
    await run('npx', ['ts-node', '--transpile-only', 'stacks/main.ts'], { cwd: ROOT, env: { ...process.env, ...env, CDK8S_OUTDIR: join(dir, 'ts-node') } });

    const written = readOutput(join(dir, 'npm'));
    expect(Object.keys(written)).toHaveLength(6);
    expect(readOutput(join(dir, 'cdk8s'))).toEqual(written);
    expect(readOutput(join(dir, 'ts-node'))).toEqual(written);
  });

  test('empties the output directory first: no stale file survives', async () => {
    const out = join(dir, 'dist');
    mkdirSync(join(out, 'old-chart'), { recursive: true });
    writeFileSync(join(out, '0006-removed-job.k8s.yaml'), 'kind: Job\n');
    await synthInto(out);
    expect(readdirSync(out)).toHaveLength(6);
    expect(readdirSync(out)).not.toContain('0006-removed-job.k8s.yaml');
    expect(readdirSync(out)).not.toContain('old-chart');
  });

  test('rebuilds its cached bundle when a source changes', async () => {
    // A copy of the sources with its own node_modules/.cache: links to every installed package.
    const copy = join(dir, 'repo');
    for (const path of ['stacks', 'constructs', 'worker', 'tsconfig.json', 'cdk8s.yaml']) cpSync(join(ROOT, path), join(copy, path), { recursive: true });
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
