/**
 * `kubectl apply -f dist/` as users, Argo CD and Flux run it: the whole directory at once, in any
 * order, again after a fresh synth, version 1 then version 2, and the worker Jobs before their
 * seeder. The harness's cluster (harness/cluster.ts) stores the objects with the API server's
 * rules, starts every Job as soon as it is applied, lets the credentials Job create the broker's
 * Secret through a fake API server with RBAC, boots RabbitMQ's user from that Secret once, and
 * runs the pods from the pushed image against the local brokers of the suite's generation (harness/broker-generation.ts).
 */
import { readdirSync, readFileSync } from 'fs';
import { dirname, join, resolve } from 'path';
import { COARSE_TUTORIAL, FINE_TUTORIAL, INDEXED_EXAMPLE } from '../../stacks/config';
import { type Manifest, mountedItems } from '../manifests';
import { ExitCode } from '../../contract';
import { suiteGeneration } from './harness/broker-generation';
import { Brokers, requireBrokers } from './harness/brokers';
import { type ApplyOrder, randomSeed } from './harness/apply-order';
import { type AppliedObject, Cluster, describeApply, type JobHandle } from './harness/cluster';
import { docker } from './harness/docker';
import { type JobRun, maxConcurrent } from './harness/job-controller';
import { loadStack, onlyJob, type StackManifests } from './harness/manifests';
import { processedItems, seededItems, sorted } from './harness/scenario';
import { readState } from './harness/state';
import { synthesize, type SynthEnv } from './harness/synth';

const ROOT = resolve(__dirname, '..', '..');
const state = readState();
const generation = suiteGeneration();
const brokers = new Brokers(generation);
const base: SynthEnv = { WORKER_IMAGE: state.image, WORK_SECONDS: String(state.workSeconds) };
const STACKS = [COARSE_TUTORIAL, FINE_TUTORIAL];
let synthCount = 0;
const clusters: Cluster[] = [];

/** `npm run synth` into a directory of this file's own. */
async function synth(env: Partial<SynthEnv> = {}): Promise<string> {
  const outdir = join(dirname(state.outdir), `dist-apply-${++synthCount}`);
  const started = Date.now();
  await synthesize(ROOT, outdir, { ...base, ...env });
  console.log(`apply: npm run synth ${JSON.stringify(env)}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return outdir;
}

async function freshCluster(): Promise<Cluster> {
  await Promise.all([brokers.resetAmqpQueue(COARSE_TUTORIAL.queue), brokers.resetRedisQueue(FINE_TUTORIAL.queue)]);
  const cluster = await Cluster.start({
    workDirectory: join(state.workDirectory, `apply-${clusters.length + 1}`),
    generation,
  });
  clusters.push(cluster);
  return cluster;
}

beforeAll(() => requireBrokers([generation]));
afterEach(async () => {
  for (const cluster of clusters.splice(0)) await cluster.close();
});

function applied(
  cluster: Cluster,
  directory: string,
  order: ApplyOrder,
  files?: (file: string) => boolean,
): AppliedObject[] {
  const results = files
    ? cluster.apply(
        readdirSync(directory)
          .filter(files)
          .sort()
          .flatMap((file) => loadFile(directory, file)),
        { order },
      )
    : cluster.applyDirectory(directory, { order });
  console.log(describeApply(results, order));
  expect(results.filter((result) => result.error)).toEqual([]);
  return results;
}

function loadFile(directory: string, file: string) {
  const stack = /^\d+-(\w+)-/.exec(file)?.[1] ?? '';
  const chart = /-(broker|seeder|job)\.k8s\.yaml$/.exec(file)?.[1] as 'broker' | 'seeder' | 'job';
  return loadStack(directory, stack)[chart];
}

/** The worker, seeder and (for RabbitMQ) credentials Jobs of a stack in the cluster. */
function jobsOf(
  cluster: Cluster,
  manifests: StackManifests,
): { seeder: JobHandle; worker: JobHandle; broker: JobHandle[] } {
  const name = (objects: StackManifests['job']) => onlyJob(objects).metadata!.name!;
  const brokerJobs = manifests.broker
    .filter((object) => object.kind === 'Job')
    .map((object) => cluster.job(object.metadata!.name!));
  return { seeder: cluster.job(name(manifests.seeder)), worker: cluster.job(name(manifests.job)), broker: brokerJobs };
}

/** Every Job of the stack Complete, each item processed exactly once, the queue empty. */
async function expectStackDone(cluster: Cluster, directory: string, stack: (typeof STACKS)[number]): Promise<JobRun> {
  const manifests = loadStack(directory, stack.name);
  const items = seededItems(manifests);
  const { seeder, worker, broker } = jobsOf(cluster, manifests);
  for (const handle of [...broker, seeder])
    expect({ job: handle.name, condition: (await handle.run).condition }).toEqual({
      job: handle.name,
      condition: 'Complete',
    });
  const work = await worker.run;
  for (const pod of work.pods.filter((record) => record.phase === 'Failed'))
    console.log(`${worker.name}: pod ${pod.name} exited ${pod.exitCodes.join(', ')}:\n${pod.logs}`);
  const completions = onlyJob(manifests.job).spec!.completions;
  expect({
    job: worker.name,
    condition: work.condition,
    failed: work.failed,
    exitCodes: work.pods.flatMap((pod) => pod.exitCodes),
  }).toEqual({
    job: worker.name,
    condition: 'Complete',
    failed: 0,
    exitCodes: work.pods.map(() => 0),
  });
  if (stack.broker === 'rabbitmq')
    expect({ completions, succeeded: work.succeeded }).toEqual({ completions: items.length, succeeded: items.length });
  expect(sorted(work.pods.flatMap(processedItems))).toEqual(sorted(items));
  expect(
    await (stack.broker === 'rabbitmq' ? brokers.amqpLeftovers(stack.queue) : brokers.redisLeftovers(stack.queue)),
  ).toEqual({});
  return work;
}

/**
 * The indexed example's Job Complete as the Job controller completes one (SuccessCriteriaMet, then
 * Complete, with completedIndexes covering every index), one pod per index at most `parallelism`
 * at once, each processing the item of its JOB_COMPLETION_INDEX.
 */
async function expectIndexedDone(cluster: Cluster, directory: string): Promise<string[]> {
  const objects = loadStack(directory, INDEXED_EXAMPLE.name).job;
  const job = onlyJob(objects);
  const items = mountedItems(job as Manifest, objects as Manifest[]);
  if (typeof items === 'string') throw new Error(`${String(job.metadata!.name)} ${items}`);
  const run = await cluster.job(job.metadata!.name!).run;
  expect({
    job: job.metadata!.name,
    condition: run.condition,
    reason: run.reason,
    completedIndexes: run.completedIndexes,
    failed: run.failed,
  }).toEqual({
    job: job.metadata!.name,
    condition: 'Complete',
    reason: 'CompletionsReached',
    completedIndexes: `0-${items.length - 1}`,
    failed: 0,
  });
  expect(run.conditions.map((condition) => condition.type)).toEqual(['SuccessCriteriaMet', 'Complete']);
  expect(
    run.pods
      .map((pod) => ({ index: pod.index, phase: pod.phase, items: processedItems(pod) }))
      .sort((a, b) => a.index! - b.index!),
  ).toEqual(items.map((item, index) => ({ index, phase: 'Succeeded', items: [item] })));
  expect(maxConcurrent(run.pods)).toBe(job.spec!.parallelism);
  return items;
}

async function expectAllDone(cluster: Cluster, directory: string): Promise<void> {
  for (const stack of STACKS) await expectStackDone(cluster, directory, stack);
  await expectIndexedDone(cluster, directory);
  expect(cluster.api.unserved).toEqual([]);
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)} s`;
}

let v1: string;
beforeAll(async () => {
  v1 = await synth();
});

/**
 * A first apply in the given order: the credentials Job creates the Secret through the API, as its
 * Role allows, and nothing else; RabbitMQ boots from it; every stack processes every item once.
 */
async function firstApply(order: ApplyOrder): Promise<Cluster> {
  const cluster = await freshCluster();
  applied(cluster, v1, order);
  await expectAllDone(cluster, v1);
  const secretCalls = cluster.api.requests.filter((request) => request.path.includes('/secrets'));
  expect(secretCalls.map((request) => `${request.method} ${request.code}`)).toEqual(['GET 404', 'POST 201']);
  expect(cluster.brokerUsers.map((user) => user.username)).toEqual(['work-queue']);
  expect(cluster.store.get('Secret', 'default', 'rabbitmq-service-credentials')?.data).toHaveProperty('password');
  return cluster;
}

// Each test starts with a whole first apply (about 30 s), in reverse or in random order, then walks
// what comes after it on the same cluster: a re-apply, or version 2.
test('reverse order, then again after a fresh synth: every item processed once; the same bytes, nothing changed, no Job re-run, the broker still takes the clients', async () => {
  const started = Date.now();
  const cluster = await firstApply('reverse');
  console.log(`apply reverse: ${seconds(started)}`);
  const again = await synth();
  for (const file of readdirSync(v1))
    expect({ file, same: readFileSync(join(again, file)).equals(readFileSync(join(v1, file))) }).toEqual({
      file,
      same: true,
    });
  expect(readdirSync(again)).toEqual(readdirSync(v1));
  const secret = structuredClone(cluster.store.get('Secret', 'default', 'rabbitmq-service-credentials'));
  const jobs = cluster.jobs.length;

  const second = applied(cluster, again, { random: randomSeed() });
  expect(second.filter((result) => result.action !== 'unchanged')).toEqual([]);
  expect(cluster.jobs.length).toBe(jobs);
  expect(cluster.store.get('Secret', 'default', 'rabbitmq-service-credentials')).toEqual(secret);

  // A fresh client pod logs in with the Secret's password: the seeder's template as a new Job (it finds its seed complete and adds nothing).
  const seeder = onlyJob(loadStack(again, COARSE_TUTORIAL.name).seeder);
  const check = cluster.apply([{ ...seeder, metadata: { ...seeder.metadata, name: 'login-check' } }]);
  expect(check).toEqual([expect.objectContaining({ action: 'created' })]);
  const login = await cluster.job('login-check').run;
  expect({ condition: login.condition, exitCodes: login.pods.flatMap((pod) => pod.exitCodes) }).toEqual({
    condition: 'Complete',
    exitCodes: [0],
  });
  expect(await brokers.amqpLeftovers(COARSE_TUTORIAL.queue)).toEqual({});
  console.log(`apply reverse, then twice: ${seconds(started)}`);
});

test('random order, then version 2 with other items: every item processed once; no immutable error, the new batch runs and processes the new items', async () => {
  const started = Date.now();
  const items = ['kiwi', 'mango', 'papaya', 'kiwi'];
  const v2 = await synth({ ITEMS: JSON.stringify(items) });
  const cluster = await firstApply({ random: randomSeed() });
  console.log(`apply random: ${seconds(started)}`);
  const secret = structuredClone(cluster.store.get('Secret', 'default', 'rabbitmq-service-credentials'));

  const results = applied(cluster, v2, { random: randomSeed() });
  const created = results
    .filter((result) => result.action === 'created')
    .map((result) => `${result.kind}/${result.name}`);
  // New seeding and worker Jobs and items ConfigMaps in both tutorials, a new Indexed Job and its
  // ConfigMap; the broker charts unchanged.
  expect(created.filter((name) => name.startsWith('Job/'))).toHaveLength(5);
  expect(created.filter((name) => name.startsWith('ConfigMap/'))).toHaveLength(3);
  expect(cluster.store.get('Secret', 'default', 'rabbitmq-service-credentials')).toEqual(secret);
  for (const stack of STACKS) {
    expect(seededItems(loadStack(v2, stack.name))).toEqual(items);
    await expectStackDone(cluster, v2, stack);
  }
  expect(await expectIndexedDone(cluster, v2)).toEqual(items);
  console.log(`apply random, then v2: ${seconds(started)}`);
});

describe('workers before their seed', () => {
  const notSeeder = (file: string) => !file.endsWith('-seeder.k8s.yaml');
  const seeder = (file: string) => file.endsWith('-seeder.k8s.yaml');
  /** The tutorials' brokers and worker Jobs: the indexed example has no seed to wait for. */
  const queueWorkers = (file: string) => notSeeder(file) && !file.includes(`-${INDEXED_EXAMPLE.name}-`);

  test('the worker Jobs applied 20 s before the seeders: their pods wait, then every item is processed once', async () => {
    const started = Date.now();
    const cluster = await freshCluster();
    applied(cluster, v1, 'forward', notSeeder);
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    for (const stack of STACKS) {
      const worker = cluster.job(onlyJob(loadStack(v1, stack.name).job).metadata!.name!);
      // Waiting, not done: pods started, none ended.
      expect({ job: worker.name, started: worker.pods.length > 0, ended: await endedPods(worker) }).toEqual({
        job: worker.name,
        started: true,
        ended: [],
      });
    }
    applied(cluster, v1, 'forward', seeder);
    await expectAllDone(cluster, v1);
    console.log(`late seed: ${seconds(started)}`);
  });

  test('a seed that never comes: the worker pods exit 4 with one line after SEED_WAIT_SECONDS, and the Job retries them after its backoff', async () => {
    const started = Date.now();
    const directory = await synth({ SEED_WAIT_SECONDS: '5' });
    const cluster = await freshCluster();
    applied(cluster, directory, 'forward', queueWorkers);
    await Promise.all(
      STACKS.map(async (stack) => {
        const job = onlyJob(loadStack(directory, stack.name).job);
        const worker = cluster.job(job.metadata!.name!);
        const parallelism = job.spec!.parallelism!;
        // The first pods give up; the controller replaces them only after its backoff (10 s, doubling).
        const firstEnded = await until(
          async () => ((await endedPods(worker)).length >= parallelism ? Date.now() : undefined),
          90_000,
          `${worker.name}'s first pods end`,
        );
        for (const pod of (await endedPods(worker)).slice(0, parallelism)) {
          // A line when it starts waiting, then the one line of its exit: no stack trace.
          const lines = (await pod.logs).trim().split('\n');
          const giveUp = lines.filter((line) => line.includes('SEED_WAIT_SECONDS'));
          expect({ pod: pod.name, code: pod.code, giveUp: giveUp.length, last: lines[lines.length - 1] }).toEqual({
            pod: pod.name,
            code: ExitCode.seedIncomplete,
            giveUp: 1,
            last: giveUp[0],
          });
          expect(lines.filter((line) => /^\s+at /.test(line))).toEqual([]);
        }
        await until(
          () => (worker.pods.length > parallelism ? true : undefined),
          120_000,
          `${worker.name} replaces its failed pods`,
        );
        expect(Date.now() - firstEnded).toBeGreaterThanOrEqual(9_000);
        // Still running, not Failed: these failures are within backoffLimit; each retry waits again.
        const state = await Promise.race([
          worker.run.then((run) => run.condition),
          new Promise((resolve) => setTimeout(() => resolve('running'), 100)),
        ]);
        expect({ job: worker.name, state }).toEqual({ job: worker.name, state: 'running' });
        worker.delete();
      }),
    );
    console.log(`seed never comes: ${seconds(started)}`);
  });
});

/** The pods of a Job whose container has ended, with their exit code and log. */
async function endedPods(handle: JobHandle): Promise<{ name: string; code: number; logs: Promise<string> }[]> {
  const ended = [];
  for (const pod of handle.pods) {
    const code = await exitCodeIfEnded(pod.name);
    if (code !== undefined) ended.push({ name: pod.name, code, logs: pod.logs() });
  }
  return ended;
}

async function exitCodeIfEnded(container: string): Promise<number | undefined> {
  const result = await docker(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', container]);
  const [status, code] = result.stdout.trim().split(' ');
  return status === 'exited' ? Number(code) : undefined;
}

async function until<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs / 1000} s in vain until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
