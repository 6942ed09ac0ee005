import type { IJob } from 'kubernetes-models/batch/v1/Job';
import { type JobRun, type PodRecord, runJob } from './job-controller';
import { type JobHooks, KedaEmulator, type KedaEmulatorOptions, type ScaledJobObject } from './keda-emulator';
import type { KedaVersion } from './keda-formula';
import type { Scaler } from './keda-scalers';
import type { Pod } from './pod';

/** Jobs the emulator asked to run, each finished (or its pods moved) by the test. */
class FakeJobs {
  readonly started: { job: IJob; hooks: JobHooks; finish: (condition?: 'Complete' | 'Failed') => void }[] = [];
  readonly deleted: string[] = [];

  runJob = (job: IJob, hooks: JobHooks): Promise<JobRun> =>
    new Promise((resolve) => {
      const finish = (condition: 'Complete' | 'Failed' = 'Complete') => {
        hooks.onFinished?.(condition);
        resolve({
          condition,
          succeeded: condition === 'Complete' ? 1 : 0,
          failed: condition === 'Failed' ? 1 : 0,
          conditions: [],
          pods: [],
          seconds: 0,
        });
      };
      this.started.push({ job, hooks, finish });
    });

  deleteJob = (name: string): void => void this.deleted.push(name);
}

function scaledJob(spec: Partial<ScaledJobObject['spec']> = {}): ScaledJobObject {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledJob',
    metadata: { name: 'job-wq-1', namespace: 'work-queue', labels: { app: 'job-wq-1' } },
    spec: {
      jobTargetRef: {
        completions: 1,
        parallelism: 1,
        template: { spec: { restartPolicy: 'Never', containers: [{ name: 'work-queue', image: 'img' }] } },
      },
      maxReplicaCount: 3,
      scalingStrategy: { strategy: 'accurate' },
      triggers: [{ type: 'rabbitmq', metadata: {} }],
      ...spec,
    },
  };
}

function scaler(queue: { length: number; failing?: boolean }, target = 1): Scaler {
  return {
    target: { targetAverageValue: target, activationValue: 0 },
    queueLength: () =>
      queue.failing ? Promise.reject(new Error('connection refused')) : Promise.resolve(queue.length),
    close: () => Promise.resolve(),
  };
}

function emulatorOf(
  object: ScaledJobObject,
  jobs: FakeJobs,
  queue: { length: number },
  options: Partial<KedaEmulatorOptions> = {},
): KedaEmulator {
  return new KedaEmulator(object, {
    kedaVersion: '2.16',
    pollingIntervalMs: 1000,
    scaler: scaler(queue),
    runJob: jobs.runJob,
    deleteJob: jobs.deleteJob,
    ...options,
  });
}

const pod = (name: string, phase: PodRecord['phase']): PodRecord => ({
  name,
  phase,
  exitCodes: [],
  logs: '',
  startedAt: 0,
  finishedAt: 0,
});
const started = (name: string) => ({ name }) as Pod;
const counts = (emulator: KedaEmulator) =>
  emulator.polls.map(({ queueLength, runningJobCount, pendingJobCount, created }) => [
    queueLength,
    runningJobCount,
    pendingJobCount,
    created,
  ]);

test('creates the Jobs the formula asks for from jobTargetRef, as generateJobs names, labels and annotates them, and counts a Job pending until a pod is Running or Succeeded', async () => {
  const queue = { length: 2 };
  const jobs = new FakeJobs();
  // maxReplicaCount 5: maxScale + running stays within it, so accurate deducts the pending Jobs.
  const emulator = emulatorOf(scaledJob({ maxReplicaCount: 5 }), jobs, queue);

  await emulator.poll();
  expect(jobs.started.map(({ job }) => job.metadata!.name)).toEqual([
    expect.stringMatching(/^job-wq-1-[a-z0-9]{5}$/),
    expect.stringMatching(/^job-wq-1-/),
  ]);
  const [{ job }] = jobs.started;
  expect(job.spec!.completions).toBe(1);
  expect(job.spec!.template.metadata!.labels).toEqual({ 'scaledjob.keda.sh/name': 'job-wq-1' });
  expect(job.metadata).toMatchObject({
    namespace: 'work-queue',
    labels: { 'scaledjob.keda.sh/name': 'job-wq-1', 'app.kubernetes.io/managed-by': 'keda-operator', app: 'job-wq-1' },
    annotations: { 'scaledjob.keda.sh/generation': '1' },
  });

  await emulator.poll(); // both pending: accurate deducts them
  jobs.started[0].hooks.onPodStarted?.(started('a'));
  queue.length = 1; // its pod took an item (unacknowledged, no longer counted)
  await emulator.poll();
  jobs.started[1].hooks.onPodStarted?.(started('b'));
  jobs.started[1].hooks.onPodExited?.(pod('b', 'Failed')); // pending again, until a replacement is up
  jobs.started[0].hooks.onPodExited?.(pod('a', 'Succeeded')); // a Succeeded pod still makes its Job not pending
  await emulator.poll();
  expect(counts(emulator)).toEqual([
    [2, 0, 0, 2],
    [2, 2, 2, 0],
    [1, 2, 1, 0],
    [1, 2, 1, 0],
  ]);

  jobs.started[0].finish();
  jobs.started[1].finish();
  expect(emulator.unfinishedJobs()).toBe(0);
  await emulator.poll();
  expect(emulator.polls[4]).toMatchObject({ runningJobCount: 0, created: 1 });
  jobs.started[2].finish();
  await emulator.stop();
});

test('polls every interval once started, and stop waits for the Jobs it created', async () => {
  const queue = { length: 1 };
  const jobs = new FakeJobs();
  const emulator = emulatorOf(scaledJob(), jobs, queue, { pollingIntervalMs: 20 });
  emulator.start();
  // As many polls as a loaded machine takes to make: four, each an interval or more after the last.
  while (emulator.polls.length < 4) await new Promise((resolve) => setTimeout(resolve, 10));
  const at = emulator.polls.map((poll) => poll.at);
  expect(at.slice(1, 4).map((time, i) => time - at[i] >= 20)).toEqual([true, true, true]);
  queue.length = 0;
  let stopped = false;
  const stopping = emulator.stop().then(() => (stopped = true));
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(stopped).toBe(false);
  jobs.started.forEach(({ finish }) => finish());
  await stopping;
  expect(jobs.started).toHaveLength(1); // its Job stays pending (no pod up): accurate creates no second one for the item
});

/** Pods for the real Job controller: each starts (Running) when the test releases it, and exits as the test says. */
class FakePods {
  readonly pods: { name: string; exit: (code: number) => void; stopped: boolean }[] = [];
  private readonly waiting: (() => void)[] = [];
  /** How long a deleted pod takes to terminate (its SIGTERM drain). */
  stopMs = 0;

  startPod = (name: string): Promise<Pod> =>
    new Promise((resolve) => {
      let exit: (code: number) => void = () => undefined;
      const exited = new Promise<number>((done) => (exit = done));
      const entry = { name, exit, stopped: false };
      this.waiting.push(() => {
        this.pods.push(entry);
        resolve({
          name,
          wait: () => exited,
          terminated: (exitCode) => Promise.resolve({ exitCode, reason: exitCode === 0 ? 'Completed' : 'Error' }),
          restart: () => Promise.resolve(),
          kill: () => {
            exit(137);
            return Promise.resolve();
          },
          stop: async () => {
            entry.stopped = true;
            await new Promise((done) => setTimeout(done, this.stopMs));
            exit(143);
          },
          logs: () => Promise.resolve(''),
          remove: () => Promise.resolve(),
        });
      });
    });

  /** The image is pulled: every pod created so far starts Running. */
  release(): void {
    for (const start of this.waiting.splice(0)) start();
  }
}

function realJobs(pods: FakePods): Pick<KedaEmulatorOptions, 'runJob' | 'deleteJob'> {
  return {
    runJob: (job, hooks) => runJob(job, { ...hooks, startPod: pods.startPod, backoffBaseMs: 20 }),
    deleteJob: () => undefined,
  };
}

const tick = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

test.each<[KedaVersion, number]>([
  ['2.16', 1],
  ['2.19', 0],
])(
  'accurate, KEDA %s: with two Jobs still pending and two messages ready under maxReplicaCount 3, the next poll creates %d Job (the real Job controller, pods not yet Running)',
  async (kedaVersion, more) => {
    const queue = { length: 2 };
    const pods = new FakePods();
    const emulator = new KedaEmulator(scaledJob(), {
      kedaVersion,
      pollingIntervalMs: 1000,
      scaler: scaler(queue),
      ...realJobs(pods),
    });
    await emulator.poll();
    await tick();
    await emulator.poll();
    expect(counts(emulator)).toEqual([
      [2, 0, 0, 2],
      [2, 2, 2, more],
    ]);
    pods.release();
    await tick();
    for (const entry of pods.pods) entry.exit(0);
    await emulator.stop();
  },
);

test('a Job whose pod hit FailJob is running for KEDA while its other pod terminates, and pending-free: no Job is created until it is Failed', async () => {
  const queue = { length: 5 };
  const pods = new FakePods();
  pods.stopMs = 150;
  const fine = scaledJob({
    scalingStrategy: { strategy: 'default' },
    jobTargetRef: {
      parallelism: 2,
      podFailurePolicy: {
        rules: [{ action: 'FailJob', onExitCodes: { containerName: 'work-queue', operator: 'In', values: [2] } }],
      },
      template: { spec: { restartPolicy: 'Never', containers: [{ name: 'work-queue', image: 'img' }] } },
    },
  });
  // listLength 10: ceil(5 / 10) = 1 Job wanted; default deducts the running ones.
  const emulator = new KedaEmulator(fine, {
    kedaVersion: '2.16',
    pollingIntervalMs: 1000,
    scaler: scaler(queue, 10),
    ...realJobs(pods),
  });
  await emulator.poll();
  pods.release();
  await tick();
  pods.pods[0].exit(2); // FailJob: FailureTarget, the other pod deleted with its grace period
  await tick(50);
  expect(pods.pods[1].stopped).toBe(true);
  await emulator.poll(); // it still terminates: the Job has no Failed condition yet, and a Running pod
  await tick(200);
  expect(emulator.jobs[0]).toMatchObject({ condition: 'Failed' });
  await emulator.poll();
  expect(counts(emulator)).toEqual([
    [5, 0, 0, 1],
    [5, 1, 0, 0],
    [5, 0, 0, 1],
  ]);
  expect(emulator.jobs[0].run).toMatchObject({ condition: 'Failed', reason: 'PodFailurePolicy', failed: 2 });
  pods.release();
  await tick();
  for (const entry of pods.pods.slice(2)) entry.exit(0);
  await emulator.stop();
});

test('deletes the finished Jobs beyond successfulJobsHistoryLimit, oldest completion first, and beyond failedJobsHistoryLimit, in the background', async () => {
  const queue = { length: 3 };
  const jobs = new FakeJobs();
  const emulator = emulatorOf(scaledJob({ successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 1 }), jobs, queue);
  await emulator.poll();
  const [first, second, third] = jobs.started;
  second.finish('Complete');
  await tick(5);
  first.finish('Complete');
  await tick(5);
  third.finish('Failed');
  queue.length = 0;
  await emulator.poll();
  expect(emulator.polls[1].deleted).toEqual([second.job.metadata!.name]);
  expect(jobs.deleted).toEqual([second.job.metadata!.name]);
  expect(emulator.listedJobs().map((job) => job.name)).toEqual([first.job.metadata!.name, third.job.metadata!.name]);
  await emulator.stop();
});

test("the default history limits are KEDA's 100", async () => {
  const queue = { length: 202 };
  const jobs = new FakeJobs();
  const emulator = emulatorOf(scaledJob({ maxReplicaCount: 202 }), jobs, queue);
  await emulator.poll();
  jobs.started.forEach(({ finish }, index) => finish(index % 2 === 0 ? 'Complete' : 'Failed'));
  queue.length = 0;
  await emulator.poll();
  // 101 Complete and 101 Failed: one of each beyond the 100, the Complete one the first to complete.
  expect(emulator.polls[1].deleted).toHaveLength(2);
  expect(emulator.polls[1].deleted[0]).toBe(jobs.started[0].job.metadata!.name);
  expect(emulator.listedJobs()).toHaveLength(200);
  await emulator.stop();
});

test.each<[KedaVersion, string, string]>([
  ['2.16', 'Unknown', 'PartialTriggerError'],
  ['2.19', 'False', 'TriggerError'],
])(
  'KEDA %s: a poll whose scaler fails creates no Job, sets Ready %s (%s), still cleans up',
  async (kedaVersion, status, reason) => {
    const queue = { length: 2, failing: false };
    const jobs = new FakeJobs();
    const emulator = emulatorOf(scaledJob({ successfulJobsHistoryLimit: 0 }), jobs, queue, { kedaVersion });
    await emulator.poll();
    jobs.started.forEach(({ finish }) => finish());
    queue.failing = true;
    await emulator.poll();
    expect(emulator.polls[1]).toMatchObject({
      queueLength: undefined,
      error: 'connection refused',
      ready: { status, reason },
      created: 0,
    });
    expect(emulator.polls[1].deleted).toHaveLength(2);
    queue.failing = false;
    await emulator.poll();
    expect(emulator.polls[2]).toMatchObject({ queueLength: 2, ready: { status: 'True' }, created: 2 });
    jobs.started.forEach(({ finish }) => finish());
    await emulator.stop();
  },
);

test('a failed read is retried once on a scaler built anew (refreshScaler), which then serves the next polls', async () => {
  const broken = { length: 2, failing: true };
  const healthy = { length: 2 };
  const jobs = new FakeJobs();
  let reopened = 0;
  const emulator = emulatorOf(scaledJob(), jobs, broken, {
    scaler: scaler(broken),
    reopenScaler: () => Promise.resolve((reopened++, scaler(healthy))),
  });
  await emulator.poll();
  await emulator.poll();
  expect(reopened).toBe(1);
  expect(counts(emulator)).toEqual([
    [2, 0, 0, 2],
    [2, 2, 2, 1], // 2.16's accurate: 2 + 2 > 3, so 3 - 2
  ]);
  jobs.started.forEach(({ finish }) => finish());
  await emulator.stop();
});

describe('an updated ScaledJob (deletePreviousVersionScaleJobs)', () => {
  const updated = (spec: Partial<ScaledJobObject['spec']>) =>
    scaledJob({ ...spec, jobTargetRef: { ...scaledJob().spec.jobTargetRef, activeDeadlineSeconds: 600 } });

  test('rollout.strategy gradual keeps the Jobs of the old generation, still counted, and creates the new ones from the new jobTargetRef', async () => {
    const queue = { length: 2 };
    const jobs = new FakeJobs();
    const emulator = emulatorOf(scaledJob({ rollout: { strategy: 'gradual' } }), jobs, queue);
    await emulator.poll();
    jobs.started.forEach(({ hooks }, index) => hooks.onPodStarted?.(started(`pod-${index}`)));
    emulator.update(updated({ rollout: { strategy: 'gradual' }, maxReplicaCount: 4 }));
    queue.length = 3;
    await emulator.poll();
    expect(jobs.deleted).toEqual([]);
    // accurate: maxScale 3 + 2 running > 4, so 4 - 2 = 2 new Jobs.
    expect(counts(emulator)[1]).toEqual([3, 2, 0, 2]);
    expect(
      jobs.started.slice(2).map(({ job }) => [job.metadata!.annotations, job.spec!.activeDeadlineSeconds]),
    ).toEqual([
      [{ 'scaledjob.keda.sh/generation': '2' }, 600],
      [{ 'scaledjob.keda.sh/generation': '2' }, 600],
    ]);
    jobs.started.forEach(({ finish }) => finish());
    await emulator.stop();
  });

  test('without a rollout (immediate), every Job of another generation is deleted, finished or not, and no longer counted', async () => {
    const queue = { length: 2 };
    const jobs = new FakeJobs();
    const emulator = emulatorOf(scaledJob(), jobs, queue);
    await emulator.poll();
    jobs.started[0].finish();
    emulator.update(updated({}));
    expect(jobs.deleted).toEqual(jobs.started.map(({ job }) => job.metadata!.name));
    await emulator.poll();
    expect(counts(emulator)[1]).toEqual([2, 0, 0, 2]);
    jobs.started.forEach(({ finish }) => finish());
    await emulator.stop();
  });

  test('with propagationPolicy foreground, a deleted Job stays listed (and running) until its pods are gone', async () => {
    const queue = { length: 1 };
    const jobs = new FakeJobs();
    const rollout = { propagationPolicy: 'foreground' };
    // default: ceil(1 / 1) - running Jobs.
    const emulator = emulatorOf(scaledJob({ rollout, scalingStrategy: { strategy: 'default' } }), jobs, queue);
    await emulator.poll();
    jobs.started[0].hooks.onPodStarted?.(started('pod'));
    emulator.update(updated({ rollout, scalingStrategy: { strategy: 'default' } }));
    await emulator.poll();
    jobs.started[0].hooks.onFinished?.('Deleted');
    await emulator.poll();
    expect(counts(emulator)).toEqual([
      [1, 0, 0, 1],
      [1, 1, 0, 0],
      [1, 0, 0, 1],
    ]);
    jobs.started.forEach(({ finish }) => finish());
    await emulator.stop();
  });

  test('fails for a change of triggers', () => {
    const emulator = emulatorOf(scaledJob(), new FakeJobs(), { length: 0 });
    expect(() => emulator.update(scaledJob({ triggers: [{ type: 'redis', metadata: {} }] }))).toThrow(
      'a change of triggers is not emulated',
    );
  });
});

test.each([
  ['minReplicaCount', { minReplicaCount: 1 }, 'minReplicaCount is not emulated'],
  [
    'two triggers',
    {
      triggers: [
        { type: 'redis', metadata: {} },
        { type: 'redis', metadata: {} },
      ],
    },
    'one trigger is emulated, it has 2',
  ],
  ['eager', { scalingStrategy: { strategy: 'eager' } }, 'scaling strategy eager is not emulated'],
  [
    'pendingPodConditions',
    { scalingStrategy: { strategy: 'accurate', pendingPodConditions: ['Ready'] } },
    'pendingPodConditions are not emulated',
  ],
])('refuses a ScaledJob with %s', (_, spec, message) => {
  expect(() => emulatorOf(scaledJob(spec), new FakeJobs(), { length: 0 })).toThrow(message);
});

test('refuses a KEDA version before 2.16', () => {
  expect(() => emulatorOf(scaledJob(), new FakeJobs(), { length: 0 }, { kedaVersion: '2.15' })).toThrow('KEDA 2.15');
});
