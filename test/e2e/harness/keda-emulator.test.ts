import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { JobRun, PodRecord } from './job-controller';
import { JobHooks, KedaEmulator, ScaledJobObject } from './keda-emulator';
import type { Scaler } from './keda-scalers';

/** Jobs the emulator asked to run, each finished (or its pods moved) by the test. */
class FakeJobs {
  readonly started: { job: IJob; hooks: JobHooks; finish: () => void }[] = [];

  runJob = (job: IJob, hooks: JobHooks): Promise<JobRun> =>
    new Promise((resolve) => {
      const finish = () => {
        hooks.onFinished?.('Complete');
        resolve({ condition: 'Complete', succeeded: 1, failed: 0, conditions: [], pods: [], seconds: 0 });
      };
      this.started.push({ job, hooks, finish });
    });
}

function scaledJob(spec: Partial<ScaledJobObject['spec']> = {}): ScaledJobObject {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledJob',
    metadata: { name: 'job-wq-1', namespace: 'work-queue' },
    spec: {
      jobTargetRef: { completions: 1, parallelism: 1, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'work-queue', image: 'img' }] } } },
      maxReplicaCount: 3,
      scalingStrategy: { strategy: 'accurate' },
      triggers: [{ type: 'rabbitmq', metadata: {} }],
      ...spec,
    },
  };
}

function scaler(queue: { length: number }): Scaler {
  return { target: { targetAverageValue: 1, activationValue: 0 }, queueLength: () => Promise.resolve(queue.length), close: () => Promise.resolve() };
}

const pod = (phase: PodRecord['phase']): PodRecord => ({ name: 'pod', phase, exitCodes: [], logs: '', startedAt: 0, finishedAt: 0 });

test('creates the Jobs the formula asks for from jobTargetRef, named after the ScaledJob, in its namespace, and counts a Job pending until a pod is up', async () => {
  const queue = { length: 2 };
  const jobs = new FakeJobs();
  // maxReplicaCount 5: maxScale + running stays within it, so accurate deducts the pending Jobs.
  const emulator = new KedaEmulator(scaledJob({ maxReplicaCount: 5 }), { pollingIntervalMs: 1000, scaler: scaler(queue), runJob: jobs.runJob });

  await emulator.poll();
  expect(jobs.started.map(({ job }) => job.metadata!.name)).toEqual([expect.stringMatching(/^job-wq-1-[a-z0-9]{5}$/), expect.stringMatching(/^job-wq-1-/)]);
  expect(jobs.started[0].job.spec).toEqual(scaledJob().spec.jobTargetRef);
  expect(jobs.started.map(({ job }) => job.metadata!.namespace)).toEqual(['work-queue', 'work-queue']);

  await emulator.poll(); // both pending: accurate deducts them
  jobs.started[0].hooks.onPodStarted?.({} as never);
  queue.length = 1; // its pod took an item (unacknowledged, no longer counted)
  await emulator.poll();
  jobs.started[1].hooks.onPodStarted?.({} as never);
  jobs.started[1].hooks.onPodExited?.(pod('Failed')); // pending again, until a replacement is up
  await emulator.poll();
  expect(emulator.polls.map(({ queueLength, runningJobCount, pendingJobCount, created }) => [queueLength, runningJobCount, pendingJobCount, created])).toEqual([
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
  const emulator = new KedaEmulator(scaledJob(), { pollingIntervalMs: 20, scaler: scaler(queue), runJob: jobs.runJob });
  emulator.start();
  await new Promise((resolve) => setTimeout(resolve, 110));
  queue.length = 0;
  let stopped = false;
  const stopping = emulator.stop().then(() => (stopped = true));
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(stopped).toBe(false);
  jobs.started.forEach(({ finish }) => finish());
  await stopping;
  expect(emulator.polls.length).toBeGreaterThanOrEqual(4);
  expect(jobs.started).toHaveLength(1); // its Job stays pending (no pod up): accurate creates no second one for the item
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
  ['pendingPodConditions', { scalingStrategy: { strategy: 'accurate', pendingPodConditions: ['Ready'] } }, 'pendingPodConditions are not emulated'],
])('refuses a ScaledJob with %s', (_, spec, message) => {
  const jobs = new FakeJobs();
  expect(() => new KedaEmulator(scaledJob(spec), { pollingIntervalMs: 1000, scaler: scaler({ length: 0 }), runJob: jobs.runJob })).toThrow(message);
});
