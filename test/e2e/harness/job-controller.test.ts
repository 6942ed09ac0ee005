import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IJobSpec } from 'kubernetes-models/batch/v1/JobSpec';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import { failurePolicyAction, generatedName, indexedPodName, maxConcurrent, runJob } from './job-controller';
import {
  COMPLETION_INDEX_KEY,
  formatIndexes,
  indexedPodTemplate,
  matchSuccessPolicy,
  parseIndexes,
} from './job-indexes';
import type { Pod } from './pod';
import { PodDisruptions } from './pod-disruption';
import { ttlExpiresAt } from './ttl-after-finished';
import { wallClockTimeout } from './wall-clock-timer';

/** A run of a fake container: it exits with `code` after `ms`, unless stopped or killed first. */
type Run = { code: number; ms: number };

/**
 * Fake pods whose container runs are scripted in the order the pods (and restarts) start; an
 * Indexed Job's pods also get their completion index (from the template's annotation) and the
 * number of pods of that index started before.
 */
class FakeCluster {
  running = 0;
  maxRunning = 0;
  readonly started: string[] = [];
  readonly templates: IPodTemplateSpec[] = [];
  readonly stopped: string[] = [];
  /** Each pod's SIGTERM: it exits after that many ms (the container's own shutdown), 143. */
  stopMs = 0;

  constructor(
    private readonly script: (podIndex: number, runIndex: number, index?: { index: number; attempt: number }) => Run,
  ) {}

  startPod = (name: string, template: IPodTemplateSpec): Promise<Pod> => {
    const podIndex = this.started.length;
    const annotation = template.metadata?.annotations?.[COMPLETION_INDEX_KEY];
    const index =
      annotation === undefined
        ? undefined
        : {
            index: Number(annotation),
            attempt: this.templates.filter((t) => t.metadata?.annotations?.[COMPLETION_INDEX_KEY] === annotation)
              .length,
          };
    this.started.push(name);
    this.templates.push(template);
    let runIndex = 0;
    let exit: (code: number) => void = () => undefined;
    let exited: Promise<number> = Promise.resolve(0);
    const begin = () => {
      const run = this.script(podIndex, runIndex++, index);
      this.running++;
      this.maxRunning = Math.max(this.maxRunning, this.running);
      let done = false;
      exited = new Promise<number>((resolve) => {
        // Timed by Date.now(), as the controller stamps the pods and conditions (wall-clock-timer.ts).
        const timer = wallClockTimeout(() => exit(run.code), run.ms);
        exit = (code) => {
          if (done) return;
          done = true;
          timer.cancel();
          this.running--;
          resolve(code);
        };
      });
    };
    begin();
    return Promise.resolve({
      name,
      wait: () => exited,
      terminated: (exitCode: number) => Promise.resolve({ exitCode, reason: exitCode === 0 ? 'Completed' : 'Error' }),
      restart: () => {
        begin();
        return Promise.resolve();
      },
      kill: () => {
        exit(137);
        return Promise.resolve();
      },
      // SIGTERM: the container exits 143 after stopMs, or is SIGKILLed (137) when the grace period is shorter.
      stop: async (gracePeriodSeconds?: number) => {
        this.stopped.push(name);
        const killed = gracePeriodSeconds !== undefined && gracePeriodSeconds * 1000 < this.stopMs;
        await new Promise<void>((resolve) =>
          wallClockTimeout(resolve, killed ? gracePeriodSeconds * 1000 : this.stopMs),
        );
        exit(killed ? 137 : 143);
      },
      logs: () => Promise.resolve(`log of ${name}`),
      remove: () => Promise.resolve(),
    });
  };
}

function job(spec: Partial<IJobSpec>, restartPolicy: 'Never' | 'OnFailure' = 'Never'): IJob {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'job-wq-1' },
    spec: { template: { spec: { restartPolicy, containers: [{ name: 'work-queue', image: 'img' }] } }, ...spec },
  };
}

const ok = (ms = 5): Run => ({ code: 0, ms });
const options = (cluster: FakeCluster) => ({ startPod: cluster.startPod, backoffBaseMs: 20 });

describe('runJob with completions (coarse)', () => {
  test('starts pods until that many succeeded, never more than parallelism at once', async () => {
    const cluster = new FakeCluster(() => ok(10));
    const run = await runJob(job({ completions: 8, parallelism: 2 }), options(cluster));
    expect(run).toMatchObject({ condition: 'Complete', succeeded: 8, failed: 0 });
    expect(run.pods).toHaveLength(8);
    expect(cluster.maxRunning).toBe(2);
    expect(maxConcurrent(run.pods)).toBe(2);
    expect(run.pods.every((pod) => pod.phase === 'Succeeded' && pod.logs === `log of ${pod.name}`)).toBe(true);
    expect(run.pods[0].name).toMatch(/^job-wq-1-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  test('replaces a failed pod and still completes', async () => {
    const cluster = new FakeCluster((pod) => (pod === 1 ? { code: 137, ms: 5 } : ok()));
    const events: string[] = [];
    const run = await runJob(job({ completions: 3, parallelism: 2 }), {
      ...options(cluster),
      onPodExited: (pod) => events.push(`${pod.name} ${pod.phase}`),
      onFinished: (condition) => events.push(condition),
    });
    expect(run).toMatchObject({ condition: 'Complete', succeeded: 3, failed: 1 });
    expect(run.pods.map((pod) => pod.phase)).toEqual(['Succeeded', 'Failed', 'Succeeded', 'Succeeded']);
    expect(events.pop()).toBe('Complete');
    expect(events.sort()).toEqual(run.pods.map((pod) => `${pod.name} ${pod.phase}`).sort());
  });

  test('fails with BackoffLimitExceeded after backoffLimit + 1 failures, waiting longer before each replacement', async () => {
    const cluster = new FakeCluster(() => ({ code: 1, ms: 1 }));
    const run = await runJob(job({ completions: 1, backoffLimit: 2 }), options(cluster));
    expect(run).toMatchObject({ condition: 'Failed', reason: 'BackoffLimitExceeded', succeeded: 0, failed: 3 });
    expect(run.seconds).toBeGreaterThanOrEqual((20 + 40) / 1000);
  });

  test('fails at once on an exit code the podFailurePolicy names, deleting the pods still running and counting both as failed', async () => {
    const cluster = new FakeCluster((pod) => (pod === 0 ? { code: 2, ms: 5 } : ok(5000)));
    const rules = [
      {
        action: 'FailJob' as const,
        onExitCodes: { containerName: 'work-queue', operator: 'In' as const, values: [2] },
      },
    ];
    const run = await runJob(job({ completions: 4, parallelism: 2, podFailurePolicy: { rules } }), options(cluster));
    // matchPodFailurePolicy counts a FailJob pod (countFailed); trackJobStatusAndRemoveFinalizers the deleted one.
    expect(run).toMatchObject({ condition: 'Failed', reason: 'PodFailurePolicy', failed: 2 });
    expect(run.conditions.map((c) => `${c.type} ${c.reason}`)).toEqual([
      'FailureTarget PodFailurePolicy',
      'Failed PodFailurePolicy',
    ]);
    expect(run.pods.map((pod) => pod.phase)).toEqual(['Failed', 'Deleted']);
    expect(cluster.stopped).toEqual([run.pods[1].name]);
  });

  test('does not count a failure the podFailurePolicy ignores', async () => {
    const cluster = new FakeCluster((pod) => (pod === 0 ? { code: 75, ms: 1 } : ok()));
    const rules = [{ action: 'Ignore' as const, onExitCodes: { operator: 'In' as const, values: [75] } }];
    const run = await runJob(job({ completions: 1, backoffLimit: 0, podFailurePolicy: { rules } }), options(cluster));
    expect(run).toMatchObject({ condition: 'Complete', succeeded: 1, failed: 0 });
  });

  test('fails with DeadlineExceeded when activeDeadlineSeconds passes', async () => {
    const cluster = new FakeCluster(() => ok(60_000));
    const run = await runJob(job({ completions: 1, activeDeadlineSeconds: 1 }), options(cluster));
    expect(run).toMatchObject({ condition: 'Failed', reason: 'DeadlineExceeded' });
    expect(run.pods[0].phase).toBe('Deleted');
  });

  test('runs one pod when neither completions nor parallelism is set', async () => {
    const cluster = new FakeCluster(() => ok());
    const run = await runJob(job({}), options(cluster));
    expect(run).toMatchObject({ condition: 'Complete', succeeded: 1 });
    expect(run.pods).toHaveLength(1);
  });
});

describe('runJob without completions (fine, work queue)', () => {
  test('runs parallelism pods and completes once one succeeded and all have finished', async () => {
    const cluster = new FakeCluster((pod) => ok(pod === 0 ? 5 : 200));
    const run = await runJob(job({ parallelism: 2 }), options(cluster));
    expect(run).toMatchObject({ condition: 'Complete', succeeded: 2 });
    expect(run.pods).toHaveLength(2);
    expect(run.seconds).toBeGreaterThanOrEqual(0.2);
  });

  test('replaces a pod that fails before any succeeded, but starts none after a success', async () => {
    const cluster = new FakeCluster((pod) => [{ code: 137, ms: 5 }, ok(100), ok(10)][pod] ?? ok());
    const run = await runJob(job({ parallelism: 2 }), options(cluster));
    expect(run).toMatchObject({ condition: 'Complete', succeeded: 2, failed: 1 });
    expect(run.pods.map((pod) => pod.phase)).toEqual(['Failed', 'Succeeded', 'Succeeded']);
  });

  test('a failure after a success is counted but not replaced', async () => {
    const cluster = new FakeCluster((pod) => (pod === 0 ? ok(5) : { code: 1, ms: 50 }));
    const run = await runJob(job({ parallelism: 2 }), options(cluster));
    expect(run).toMatchObject({ condition: 'Complete', succeeded: 1, failed: 1 });
    expect(run.pods).toHaveLength(2);
  });
});

describe('runJob with restartPolicy OnFailure', () => {
  test('restarts the failed container in the same pod; restarts do not count in status.failed', async () => {
    const cluster = new FakeCluster((_, runIndex) => (runIndex < 2 ? { code: 1, ms: 1 } : ok()));
    const run = await runJob(job({ completions: 1 }, 'OnFailure'), options(cluster));
    expect(run).toMatchObject({ condition: 'Complete', succeeded: 1, failed: 0 });
    expect(run.pods).toHaveLength(1);
    expect(run.pods[0].exitCodes).toEqual([1, 1, 0]);
    expect(run.seconds).toBeGreaterThanOrEqual((20 + 40) / 1000);
  });

  test('fails the Job once the restarts reach backoffLimit (pastBackoffLimitOnFailure), counting the deleted pod once', async () => {
    const cluster = new FakeCluster(() => ({ code: 1, ms: 100 }));
    const run = await runJob(job({ completions: 1, backoffLimit: 1 }, 'OnFailure'), options(cluster));
    expect(run).toMatchObject({ condition: 'Failed', reason: 'BackoffLimitExceeded', failed: 1 });
    // The first run's 1, then the 143 of the SIGTERM that deleted it.
    expect(run.pods[0]).toMatchObject({ phase: 'Deleted', exitCodes: [1, 143] });
  });
});

test('fails on a restartPolicy a Job may not have', async () => {
  const spec = job({});
  spec.spec!.template.spec!.restartPolicy = 'Always';
  await expect(runJob(spec, options(new FakeCluster(() => ok())))).rejects.toThrow(
    'restartPolicy must be Never or OnFailure, got "Always"',
  );
});

test('a deleted Job stops its pods and ends as Deleted, counting nothing', async () => {
  const cluster = new FakeCluster(() => ok(60_000));
  const deletion = new AbortController();
  const running = runJob(job({ completions: 4, parallelism: 2 }), { ...options(cluster), signal: deletion.signal });
  while (cluster.started.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
  deletion.abort();
  const run = await running;
  expect(run).toMatchObject({ condition: 'Deleted', succeeded: 0, failed: 0 });
  expect(run.pods.map((pod) => pod.phase)).toEqual(['Deleted', 'Deleted']);
  expect(cluster.stopped).toHaveLength(2);
});

describe('a Job ends in the 1.31+ order (Job docs, "Termination of Job pods")', () => {
  test('FailureTarget first, the remaining pods deleted within their grace period, Failed and onFinished only once they have terminated', async () => {
    const cluster = new FakeCluster(() => ok(60_000));
    cluster.stopMs = 100;
    const events: string[] = [];
    const run = await runJob(job({ completions: 2, parallelism: 2, activeDeadlineSeconds: 1 }), {
      ...options(cluster),
      onFinished: (condition) => events.push(`${condition} ${cluster.running}`),
    });
    expect(run).toMatchObject({ condition: 'Failed', reason: 'DeadlineExceeded', failed: 2 });
    expect(run.conditions.map((c) => c.type)).toEqual(['FailureTarget', 'Failed']);
    const [target, final] = run.conditions;
    expect(final.at - target.at).toBeGreaterThanOrEqual(100);
    expect(run.pods.every((pod) => pod.phase === 'Deleted' && pod.finishedAt <= final.at)).toBe(true);
    expect(events).toEqual(['Failed 0']);
  });

  test('a Job that completes gets SuccessCriteriaMet, then Complete, both with reason CompletionsReached', async () => {
    const run = await runJob(job({ completions: 2, parallelism: 2 }), options(new FakeCluster(() => ok())));
    expect(run).toMatchObject({ condition: 'Complete', reason: 'CompletionsReached' });
    expect(run.conditions.map((c) => `${c.type} ${c.reason}`)).toEqual([
      'SuccessCriteriaMet CompletionsReached',
      'Complete CompletionsReached',
    ]);
  });

  test('the Job-wide backoff counts failures the podFailurePolicy ignores (newBackoffRecord)', async () => {
    const cluster = new FakeCluster((pod) => (pod === 0 ? { code: 75, ms: 1 } : ok()));
    const rules = [{ action: 'Ignore' as const, onExitCodes: { operator: 'In' as const, values: [75] } }];
    const run = await runJob(job({ completions: 1, podFailurePolicy: { rules } }), options(cluster));
    expect(run).toMatchObject({ condition: 'Complete', failed: 0 });
    expect(run.pods[1].startedAt - run.pods[0].finishedAt).toBeGreaterThanOrEqual(20);
  });
});

/** An Indexed Job of `completions` indexes; the script sees each pod's index and its attempt within that index. */
function indexedJob(spec: Partial<IJobSpec>): IJob {
  return job({ completionMode: 'Indexed', ...spec });
}

const failIndexOn2 = {
  rules: [
    {
      action: 'FailIndex' as const,
      onExitCodes: { containerName: 'work-queue', operator: 'In' as const, values: [2] },
    },
  ],
};

describe('runJob with completionMode Indexed', () => {
  test('one pod per index, at most parallelism at once, each with its index in annotation, label, hostname and JOB_COMPLETION_INDEX', async () => {
    const cluster = new FakeCluster(() => ok(10));
    const run = await runJob(indexedJob({ completions: 8, parallelism: 2 }), options(cluster));
    expect(run).toMatchObject({
      condition: 'Complete',
      reason: 'CompletionsReached',
      succeeded: 8,
      failed: 0,
      completedIndexes: '0-7',
    });
    expect(run.failedIndexes).toBeUndefined();
    expect(run.pods.map((pod) => pod.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(cluster.maxRunning).toBe(2);
    expect(run.pods[3].name).toMatch(/^job-wq-1-3-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    const template = cluster.templates[3];
    expect(template.metadata).toEqual({
      annotations: { [COMPLETION_INDEX_KEY]: '3' },
      labels: { [COMPLETION_INDEX_KEY]: '3' },
    });
    expect(template.spec!.hostname).toBe('job-wq-1-3');
    expect(template.spec!.containers[0].env).toEqual([
      {
        name: 'JOB_COMPLETION_INDEX',
        valueFrom: { fieldRef: { fieldPath: `metadata.labels['${COMPLETION_INDEX_KEY}']` } },
      },
    ]);
  });

  test('indexedPodTemplate appends JOB_COMPLETION_INDEX last to every container that lacks it, and leaves the Job template alone', () => {
    const template: IPodTemplateSpec = {
      metadata: { labels: { app: 'w' } },
      spec: {
        initContainers: [{ name: 'init', image: 'img' }],
        containers: [
          { name: 'a', image: 'img', env: [{ name: 'X', value: '$(JOB_COMPLETION_INDEX)' }] },
          { name: 'b', image: 'img', env: [{ name: 'JOB_COMPLETION_INDEX', value: '9' }] },
        ],
      },
    };
    const pod = indexedPodTemplate('job', template, 4);
    expect(pod.metadata!.labels).toEqual({ app: 'w', [COMPLETION_INDEX_KEY]: '4' });
    expect(pod.spec!.initContainers![0].env!.map((v) => v.name)).toEqual(['JOB_COMPLETION_INDEX']);
    expect(pod.spec!.containers[0].env!.map((v) => v.name)).toEqual(['X', 'JOB_COMPLETION_INDEX']);
    expect(pod.spec!.containers[1].env).toEqual([{ name: 'JOB_COMPLETION_INDEX', value: '9' }]);
    expect(template.spec!.containers[0].env).toHaveLength(1);
    expect(template.spec!.hostname).toBeUndefined();
  });

  test('an index failed by backoffLimitPerIndex ends it after limit + 1 pods; the others still run, then the Job fails with FailedIndexes', async () => {
    const cluster = new FakeCluster((_, __, pod) => (pod!.index === 1 ? { code: 1, ms: 1 } : ok(20)));
    const run = await runJob(indexedJob({ completions: 4, parallelism: 2, backoffLimitPerIndex: 1 }), options(cluster));
    expect(run).toMatchObject({
      condition: 'Failed',
      reason: 'FailedIndexes',
      succeeded: 3,
      failed: 2,
      completedIndexes: '0,2,3',
      failedIndexes: '1',
    });
    expect(run.pods.filter((pod) => pod.index === 1).map((pod) => pod.phase)).toEqual(['Failed', 'Failed']);
    expect(run.pods.filter((pod) => pod.index !== 1).every((pod) => pod.phase === 'Succeeded')).toBe(true);
    expect(run.conditions.map((c) => `${c.type} ${c.reason}`)).toEqual([
      'FailureTarget FailedIndexes',
      'Failed FailedIndexes',
    ]);
  });

  test('with backoffLimitPerIndex, backoffLimit defaults to 2147483647: many failures do not end the Job by BackoffLimitExceeded', async () => {
    const cluster = new FakeCluster((_, __, pod) => (pod!.index < 3 ? { code: 1, ms: 1 } : ok()));
    const run = await runJob(indexedJob({ completions: 4, parallelism: 4, backoffLimitPerIndex: 2 }), options(cluster));
    expect(run).toMatchObject({
      condition: 'Failed',
      reason: 'FailedIndexes',
      failed: 9,
      failedIndexes: '0-2',
      completedIndexes: '3',
    });
  });

  test("an index's replacement waits for the index's own doubling delay, and the first pending index goes first (getPodCreationInfoForIndependentIndexes)", async () => {
    const cluster = new FakeCluster((_, __, pod) =>
      pod!.index === 0 && pod!.attempt < 2 ? { code: 1, ms: 1 } : ok(1),
    );
    const run = await runJob(indexedJob({ completions: 2, parallelism: 1, backoffLimitPerIndex: 3 }), options(cluster));
    expect(run).toMatchObject({ condition: 'Complete', failed: 2, completedIndexes: '0,1', failedIndexes: '' });
    expect(run.pods.map((pod) => pod.index)).toEqual([0, 0, 0, 1]);
    expect(run.pods[1].startedAt - run.pods[0].finishedAt).toBeGreaterThanOrEqual(20);
    expect(run.pods[2].startedAt - run.pods[1].finishedAt).toBeGreaterThanOrEqual(40);
  });

  test('FailIndex fails the index at once, without a retry, whatever backoffLimitPerIndex allows', async () => {
    const cluster = new FakeCluster((_, __, pod) => (pod!.index === 2 ? { code: 2, ms: 1 } : ok()));
    const run = await runJob(
      indexedJob({ completions: 3, parallelism: 3, backoffLimitPerIndex: 4, podFailurePolicy: failIndexOn2 }),
      options(cluster),
    );
    expect(run).toMatchObject({
      condition: 'Failed',
      reason: 'FailedIndexes',
      failed: 1,
      failedIndexes: '2',
      completedIndexes: '0,1',
    });
    expect(run.pods.filter((pod) => pod.index === 2)).toHaveLength(1);
  });

  test('an ignored failure is not counted, neither in status.failed nor against the index, but delays its replacement', async () => {
    const rules = [{ action: 'Ignore' as const, onExitCodes: { operator: 'In' as const, values: [143] } }];
    const cluster = new FakeCluster((_, __, pod) => (pod!.attempt === 0 ? { code: 143, ms: 1 } : ok()));
    const run = await runJob(
      indexedJob({ completions: 1, backoffLimitPerIndex: 0, podFailurePolicy: { rules } }),
      options(cluster),
    );
    expect(run).toMatchObject({ condition: 'Complete', failed: 0, completedIndexes: '0', failedIndexes: '' });
    expect(run.pods.map((pod) => pod.phase)).toEqual(['Failed', 'Succeeded']);
    expect(run.pods[1].startedAt - run.pods[0].finishedAt).toBeGreaterThanOrEqual(20);
  });

  test('Count on an exit code is the default handling: it counts against backoffLimitPerIndex', async () => {
    const rules = [{ action: 'Count' as const, onExitCodes: { operator: 'In' as const, values: [1] } }];
    const cluster = new FakeCluster(() => ({ code: 1, ms: 1 }));
    const run = await runJob(
      indexedJob({ completions: 1, backoffLimitPerIndex: 0, podFailurePolicy: { rules } }),
      options(cluster),
    );
    expect(run).toMatchObject({ condition: 'Failed', reason: 'FailedIndexes', failed: 1, failedIndexes: '0' });
  });

  test('FailJob in an Indexed Job fails the whole Job at once', async () => {
    const rules = [{ action: 'FailJob' as const, onExitCodes: { operator: 'In' as const, values: [3] } }];
    const cluster = new FakeCluster((_, __, pod) => (pod!.index === 0 ? { code: 3, ms: 1 } : ok(60_000)));
    const run = await runJob(
      indexedJob({ completions: 3, parallelism: 2, backoffLimitPerIndex: 1, podFailurePolicy: { rules } }),
      options(cluster),
    );
    expect(run).toMatchObject({ condition: 'Failed', reason: 'PodFailurePolicy', failed: 2, failedIndexes: '' });
    expect(run.pods.map((pod) => pod.phase)).toEqual(['Failed', 'Deleted']);
  });

  test('more failed indexes than maxFailedIndexes fail the Job at once (MaxFailedIndexesExceeded): indexes still running are deleted and counted, the rest never start', async () => {
    const cluster = new FakeCluster(
      (_, __, pod) =>
        [
          { code: 2, ms: 5 },
          { code: 2, ms: 60 },
        ][pod!.index] ?? ok(60_000),
    );
    cluster.stopMs = 20;
    const run = await runJob(
      indexedJob({
        completions: 4,
        parallelism: 2,
        backoffLimitPerIndex: 1,
        maxFailedIndexes: 1,
        podFailurePolicy: failIndexOn2,
      }),
      options(cluster),
    );
    expect(run).toMatchObject({
      condition: 'Failed',
      reason: 'MaxFailedIndexesExceeded',
      failed: 3,
      failedIndexes: '0,1',
      completedIndexes: '',
    });
    expect(run.pods.map((pod) => `${String(pod.index)} ${pod.phase}`)).toEqual(['0 Failed', '1 Failed', '2 Deleted']);
    expect(run.conditions.map((c) => c.type)).toEqual(['FailureTarget', 'Failed']);
    expect(run.conditions[1].at - run.conditions[0].at).toBeGreaterThanOrEqual(20);
  });

  test('failed indexes within maxFailedIndexes let every index run; the Job then fails with FailedIndexes', async () => {
    const cluster = new FakeCluster((_, __, pod) => (pod!.index % 2 === 0 ? { code: 2, ms: 1 } : ok()));
    const run = await runJob(
      indexedJob({
        completions: 6,
        parallelism: 3,
        backoffLimitPerIndex: 1,
        maxFailedIndexes: 3,
        podFailurePolicy: failIndexOn2,
      }),
      options(cluster),
    );
    expect(run).toMatchObject({
      condition: 'Failed',
      reason: 'FailedIndexes',
      failedIndexes: '0,2,4',
      completedIndexes: '1,3,5',
    });
    expect(run.pods).toHaveLength(6);
  });

  test('a successPolicy succeededCount met: SuccessCriteriaMet, the lingering pods deleted but not counted as failed, then Complete', async () => {
    const cluster = new FakeCluster((_, __, pod) => ok(pod!.index < 2 ? 5 : 60_000));
    cluster.stopMs = 20;
    const run = await runJob(
      indexedJob({ completions: 5, parallelism: 5, successPolicy: { rules: [{ succeededCount: 2 }] } }),
      options(cluster),
    );
    expect(run).toMatchObject({
      condition: 'Complete',
      reason: 'SuccessPolicy',
      succeeded: 2,
      failed: 0,
      completedIndexes: '0,1',
    });
    expect(run.conditions.map((c) => `${c.type} ${c.reason}`)).toEqual([
      'SuccessCriteriaMet SuccessPolicy',
      'Complete SuccessPolicy',
    ]);
    expect(run.pods.filter((pod) => pod.phase === 'Deleted')).toHaveLength(3);
  });

  test('a successPolicy on succeededIndexes completes the Job once those indexes succeeded', async () => {
    const cluster = new FakeCluster((_, __, pod) => ok(pod!.index === 2 || pod!.index === 3 ? 5 : 60_000));
    const run = await runJob(
      indexedJob({ completions: 5, parallelism: 5, successPolicy: { rules: [{ succeededIndexes: '2-3' }] } }),
      options(cluster),
    );
    expect(run).toMatchObject({ condition: 'Complete', reason: 'SuccessPolicy', completedIndexes: '2,3' });
  });

  test.each([
    [
      { completionMode: 'Indexed' as const, completions: undefined, parallelism: 2 },
      'completionMode Indexed needs completions',
    ],
    [{ completions: 2, backoffLimitPerIndex: 1 }, 'backoffLimitPerIndex needs completionMode Indexed'],
    [
      { completionMode: 'Indexed' as const, completions: 2, podFailurePolicy: failIndexOn2 },
      'FailIndex needs backoffLimitPerIndex',
    ],
    [
      { completionMode: 'Indexed' as const, completions: 2, maxFailedIndexes: 1 },
      'maxFailedIndexes needs backoffLimitPerIndex',
    ],
    [
      { completions: 2, successPolicy: { rules: [{ succeededCount: 1 }] } },
      'successPolicy needs completionMode Indexed',
    ],
  ])('fails on a Job the API server would refuse: %j', async (spec, message) => {
    await expect(runJob(job(spec), options(new FakeCluster(() => ok())))).rejects.toThrow(message);
  });
});

describe('index sets and names', () => {
  test('formatIndexes writes the API text form (orderedIntervals.String)', () => {
    expect(formatIndexes([7, 1, 3, 4, 5])).toBe('1,3-5,7');
    expect(formatIndexes([0, 1])).toBe('0,1');
    expect(formatIndexes([0, 1, 2, 3, 4, 5, 6, 7])).toBe('0-7');
    expect(formatIndexes([])).toBe('');
  });

  test('parseIndexes reads it as parseIndexesFromString does: within completions, bad intervals skipped', () => {
    expect([...parseIndexes('0,2-3', 10)]).toEqual([0, 2, 3]);
    expect([...parseIndexes('1-10', 5)]).toEqual([1, 2, 3, 4]);
    expect([...parseIndexes('2,7,1', 5)]).toEqual([2]);
    expect([...parseIndexes('x,3', 5)]).toEqual([3]);
  });

  test('matchSuccessPolicy follows the Job docs and API examples', () => {
    const rule = (succeededIndexes?: string, succeededCount?: number) => ({
      rules: [{ succeededIndexes, succeededCount }],
    });
    expect(matchSuccessPolicy(rule('0,2-3', 1), 10, new Set([2]))).toBe(true);
    expect(matchSuccessPolicy(rule('1-4', 3), 10, new Set([1, 3, 5]))).toBe(false);
    expect(matchSuccessPolicy(rule('1-4'), 10, new Set([1, 2, 3, 4]))).toBe(true);
    expect(matchSuccessPolicy(rule(undefined, 2), 10, new Set([8]))).toBe(false);
    expect(matchSuccessPolicy(undefined, 10, new Set([0]))).toBe(false);
  });

  test("pod names: generateName's 5 characters after at most 58, an index kept whole", () => {
    const long = 'j'.repeat(60);
    expect(generatedName(long)).toHaveLength(63);
    expect(indexedPodName(long, 12)).toMatch(new RegExp(`^j{54}-12-[a-z0-9]{5}$`));
    expect(indexedPodName('job-wq-3', 7)).toMatch(/^job-wq-3-7-[a-z0-9]{5}$/);
  });

  test('failurePolicyAction: the first matching exit-code rule, never for exit 0', () => {
    const rules = [
      {
        action: 'FailIndex' as const,
        onExitCodes: { containerName: 'work-queue', operator: 'In' as const, values: [2] },
      },
      { action: 'Ignore' as const, onExitCodes: { operator: 'NotIn' as const, values: [1, 2] } },
    ];
    expect(failurePolicyAction(rules, 'work-queue', 2)).toBe('FailIndex');
    expect(failurePolicyAction(rules, 'other', 2)).toBe('Count');
    expect(failurePolicyAction(rules, 'work-queue', 137)).toBe('Ignore');
    expect(failurePolicyAction(rules, 'work-queue', 0)).toBe('Count');
  });
});

/** The constructs' rules (client-job.ts): FailJob on exit 2, Ignore on DisruptionTarget. */
const constructsPolicy = {
  rules: [
    { action: 'FailJob' as const, onExitCodes: { containerName: 'work-queue', operator: 'In' as const, values: [2] } },
    { action: 'Ignore' as const, onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
  ],
};

/** Options that disrupt each of the first `count` pods `afterMs` after it started. */
function disrupting(
  cluster: FakeCluster,
  count: number,
  afterMs: number,
  disrupt: (disruptions: PodDisruptions, pod: string) => void,
) {
  const disruptions = new PodDisruptions();
  const statuses: { active: number; terminating: number }[] = [];
  let started = 0;
  return {
    statuses,
    options: {
      ...options(cluster),
      disruptions,
      onStatus: (status: { active: number; terminating: number }) => statuses.push(status),
      onPodStarted: (pod: Pod) => {
        if (started++ < count) setTimeout(() => disrupt(disruptions, pod.name), afterMs);
      },
    },
  };
}

describe('evictions, lost nodes and terminating pods', () => {
  test('Eviction API with podReplacementPolicy Failed (a podFailurePolicy): DisruptionTarget, SIGTERM, Ignore; replacements only once the old pods are Failed, after the backoff of both failures', async () => {
    // pod-disruption.ts (eviction.go, the kubelet's terminal phase); manageJob's `wantActive - terminating - active`;
    // matchOnPodConditions; newBackoffRecord counts Ignore'd failures (kubernetes#119434, #130881).
    const cluster = new FakeCluster((pod) => ok(pod < 2 ? 60_000 : 5));
    cluster.stopMs = 150;
    const { statuses, options: evicting } = disrupting(cluster, 2, 10, (disruptions, pod) => disruptions.evict(pod));
    const run = await runJob(
      job({ completions: 2, parallelism: 2, backoffLimit: 0, podFailurePolicy: constructsPolicy }),
      evicting,
    );
    expect(run).toMatchObject({ condition: 'Complete', succeeded: 2, failed: 0 });
    const [first, second, ...replacements] = run.pods;
    for (const old of [first, second]) {
      expect(old).toMatchObject({
        phase: 'Failed',
        exitCodes: [143],
        conditions: [{ type: 'DisruptionTarget', reason: 'EvictionByEvictionAPI' }],
      });
      expect(old.finishedAt - old.deletedAt!).toBeGreaterThanOrEqual(140);
    }
    const lastFailure = Math.max(first.finishedAt, second.finishedAt);
    expect(replacements).toHaveLength(2);
    for (const pod of replacements) expect(pod.startedAt - lastFailure).toBeGreaterThanOrEqual(40); // 20 ms doubled: two failures
    expect(statuses).toContainEqual(expect.objectContaining({ active: 0, terminating: 2 }));
  });

  test('podReplacementPolicy TerminatingOrFailed: an evicted pod counts as failed at its deletion and is replaced while it still terminates', async () => {
    // isPodFailed: a deleted pod not Succeeded is failed unless onlyReplaceFailedPods; getFinishTimeFromDeletionTimestamp.
    const cluster = new FakeCluster((pod) => ok(pod === 0 ? 60_000 : 5));
    cluster.stopMs = 300;
    const { options: evicting } = disrupting(cluster, 1, 10, (disruptions, pod) => disruptions.evict(pod));
    const run = await runJob(job({ completions: 1, podReplacementPolicy: 'TerminatingOrFailed' }), evicting);
    expect(run).toMatchObject({ condition: 'Complete', succeeded: 1, failed: 1 });
    const [old, replacement] = run.pods;
    expect(replacement.startedAt).toBeLessThan(old.finishedAt);
    expect(replacement.startedAt - old.deletedAt!).toBeGreaterThanOrEqual(20);
  });

  test('the kubelet evicts with a 1 s grace period, SIGKILL after it, no deletion (the pod stays active until Failed)', async () => {
    // eviction_manager.go: immediateEvictionGracePeriodSeconds, evictPod (phase Failed, TerminationByKubelet).
    const cluster = new FakeCluster((pod) => ok(pod === 0 ? 60_000 : 5));
    cluster.stopMs = 5_000;
    const { options: evicting } = disrupting(cluster, 1, 10, (disruptions, pod) => disruptions.evictByKubelet(pod));
    const run = await runJob(job({ completions: 1, backoffLimit: 0, podFailurePolicy: constructsPolicy }), evicting);
    expect(run).toMatchObject({ condition: 'Complete', failed: 0 });
    expect(run.pods[0]).toMatchObject({
      phase: 'Failed',
      exitCodes: [137],
      conditions: [{ reason: 'TerminationByKubelet' }],
    });
    expect(run.pods[0].deletedAt).toBeUndefined();
    expect(run.pods[0].finishedAt - run.pods[0].startedAt).toBeGreaterThanOrEqual(1000);
  });

  test("a lost node's pod stays active until the pod garbage collector fails it (DeletionByPodGC, no exit code); Ignore'd by the constructs' policy, counted without one", async () => {
    // gc_controller.go gcOrphaned / markFailedAndDeletePodWithCondition; matchOnExitCodes needs a terminated container.
    for (const [podFailurePolicy, failed] of [
      [constructsPolicy, 0],
      [undefined, 1],
    ] as const) {
      const cluster = new FakeCluster((pod) => ok(pod === 0 ? 60_000 : 5));
      const { options: losing } = disrupting(cluster, 1, 10, (disruptions, pod) => disruptions.loseNode([pod], 100));
      const run = await runJob(job({ completions: 1, podFailurePolicy }), losing);
      expect(run).toMatchObject({ condition: 'Complete', succeeded: 1, failed });
      const [lost, replacement] = run.pods;
      expect(lost).toMatchObject({ phase: 'Failed', exitCodes: [], conditions: [{ reason: 'DeletionByPodGC' }] });
      expect(lost.finishedAt - lost.startedAt).toBeGreaterThanOrEqual(110);
      expect(replacement.startedAt).toBeGreaterThanOrEqual(lost.finishedAt + 20);
    }
  });

  test('an Indexed Job keeps an evicted index for its terminating pod (firstPendingIndexes with onlyReplaceFailedPods); the ignored failure is not counted against backoffLimitPerIndex', async () => {
    const cluster = new FakeCluster((_, __, pod) => ok(pod!.index === 0 && pod!.attempt === 0 ? 60_000 : 5));
    cluster.stopMs = 100;
    const policy = {
      rules: [{ action: 'Ignore' as const, onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }],
    };
    const { options: evicting } = disrupting(cluster, 1, 10, (disruptions, pod) => disruptions.evict(pod));
    const run = await runJob(
      indexedJob({ completions: 2, parallelism: 2, backoffLimitPerIndex: 0, podFailurePolicy: policy }),
      evicting,
    );
    expect(run).toMatchObject({ condition: 'Complete', failed: 0, completedIndexes: '0,1', failedIndexes: '' });
    const index0 = run.pods.filter((pod) => pod.index === 0);
    expect(index0).toHaveLength(2);
    expect(index0[1].startedAt).toBeGreaterThanOrEqual(index0[0].finishedAt);
  });

  test('a Job that fails while an evicted pod terminates: the ignored pod is not counted, Failed waits for it (enactJobFinished)', async () => {
    const cluster = new FakeCluster((pod) => (pod === 0 ? ok(60_000) : { code: 2, ms: 30 }));
    cluster.stopMs = 200;
    const { options: evicting } = disrupting(cluster, 1, 10, (disruptions, pod) => disruptions.evict(pod));
    const run = await runJob(job({ completions: 2, parallelism: 2, podFailurePolicy: constructsPolicy }), evicting);
    expect(run).toMatchObject({ condition: 'Failed', reason: 'PodFailurePolicy', failed: 1 });
    expect(run.conditions[1].at).toBeGreaterThanOrEqual(run.pods[0].finishedAt);
  });

  test('a pod that is not running cannot be disrupted', () => {
    expect(() => new PodDisruptions().evict('job-wq-1-xxxxx')).toThrow(
      'pod job-wq-1-xxxxx is not a running pod of any Job',
    );
  });

  test('failurePolicyAction matches onPodConditions (status True by default), never onExitCodes without an exit code', () => {
    const condition = {
      type: 'DisruptionTarget' as const,
      status: 'True' as const,
      reason: 'DeletionByPodGC' as const,
      at: 0,
    };
    const rules = [
      { action: 'FailJob' as const, onExitCodes: { operator: 'NotIn' as const, values: [0] } },
      {
        action: 'Ignore' as const,
        onPodConditions: [{ type: 'DisruptionTarget' } as { type: string; status: string }],
      },
    ];
    expect(failurePolicyAction(rules, 'work-queue', undefined, [condition])).toBe('Ignore');
    expect(failurePolicyAction(rules, 'work-queue', 137, [condition])).toBe('FailJob');
    expect(failurePolicyAction(rules, 'work-queue', undefined)).toBe('Count');
  });

  test('fails on podReplacementPolicy TerminatingOrFailed with a podFailurePolicy (validatePodReplacementPolicy)', async () => {
    await expect(
      runJob(
        job({ podFailurePolicy: constructsPolicy, podReplacementPolicy: 'TerminatingOrFailed' }),
        options(new FakeCluster(() => ok())),
      ),
    ).rejects.toThrow('podReplacementPolicy must be Failed when podFailurePolicy is set');
  });
});

test('ttlSecondsAfterFinished counts from the Complete or Failed condition (jobFinishTime); unset, the Job stays', async () => {
  const run = await runJob(job({ completions: 1 }), options(new FakeCluster(() => ok())));
  expect(run.finishedAt).toBe(run.conditions[1].at);
  expect(ttlExpiresAt(job({ ttlSecondsAfterFinished: 2 }), run)).toBe(run.finishedAt! + 2000);
  expect(ttlExpiresAt(job({}), run)).toBeUndefined();
});
