import { execFile } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { promisify } from 'util';
import { parseAllDocuments } from 'yaml';
import { schemaError } from '../k8s-schema';
import { containerEnv, Manifest, only, podSpec } from '../manifests';
import { restrictedViolations } from '../pod-security';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

/** Runs `cdk8s synth` as `npm run synth` does, into a fresh directory; returns the files and their objects. */
async function cdk8sSynth(env: Record<string, string> = {}): Promise<{ dir: string; files: Record<string, Manifest[]> }> {
  const dir = mkdtempSync(join(tmpdir(), 'synth-'));
  const out = join(dir, 'dist');
  await run('npx', ['cdk8s', 'synth', '--check-upgrade', 'false', '--output', out], { cwd: ROOT, env: { ...process.env, ...env } });
  const files: Record<string, Manifest[]> = {};
  for (const file of readdirSync(out).sort()) {
    files[file] = parseAllDocuments(readFileSync(join(out, file), 'utf8')).map((d) => d.toJSON());
  }
  return { dir, files };
}

describe('cdk8s synth of the two tutorials', () => {
  let files: Record<string, Manifest[]>;
  let all: Manifest[];
  let dir: string;

  beforeAll(async () => {
    ({ dir, files } = await cdk8sSynth());
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
    expect(JSON.parse(itemsConfigMap('job-wq-1-seed').data['items.json'])).toEqual(
      ['apple', 'banana', 'cherry', 'date', 'fig', 'grape', 'lemon', 'melon'],
    );
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
    const custom = await cdk8sSynth({ WORKER_IMAGE: image, WORK_SECONDS: '0.2' });
    try {
      const jobs = Object.values(custom.files).flat().filter((m) => m.kind === 'Job');
      expect(jobs).toHaveLength(4);
      for (const job of jobs) expect(podSpec(job).containers[0].image).toBe(image);
      expect(containerEnv(only(jobs, 'Job', 'job-wq-2')).byName.WORK_SECONDS.value).toBe('0.2');
    } finally {
      rmSync(custom.dir, { recursive: true, force: true });
    }
  });

  test('fails with a one-line message and writes nothing on bad input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'synth-'));
    const out = join(dir, 'dist');
    const failed = run('npx', ['cdk8s', 'synth', '--check-upgrade', 'false', '--output', out], {
      cwd: ROOT,
      env: { ...process.env, WORK_SECONDS: '-3' },
    });
    await expect(failed).rejects.toMatchObject({
      stderr: expect.stringContaining('synth failed: coarse-job/job: workSeconds: got -3, expected a finite number of at least 0'),
    });
    expect(() => readdirSync(out)).toThrow();
    rmSync(dir, { recursive: true, force: true });
  });
});
