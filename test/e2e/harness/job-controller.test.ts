import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IJobSpec } from 'kubernetes-models/batch/v1/JobSpec';
import { maxConcurrent, runJob } from './job-controller';
import { Pod } from './pod';

/** A run of a fake container: it exits with `code` after `ms`, unless stopped or killed first. */
type Run = { code: number; ms: number };

/** Fake pods whose container runs are scripted in the order the pods (and restarts) start. */
class FakeCluster {
  running = 0;
  maxRunning = 0;
  readonly started: string[] = [];
  readonly stopped: string[] = [];

  constructor(private readonly script: (podIndex: number, runIndex: number) => Run) {}

  startPod = (name: string): Promise<Pod> => {
    const podIndex = this.started.length;
    this.started.push(name);
    let runIndex = 0;
    let exit: (code: number) => void = () => undefined;
    let exited: Promise<number> = Promise.resolve(0);
    const begin = () => {
      const run = this.script(podIndex, runIndex++);
      this.running++;
      this.maxRunning = Math.max(this.maxRunning, this.running);
      let done = false;
      exited = new Promise<number>((resolve) => {
        const timer = setTimeout(() => exit(run.code), run.ms);
        exit = (code) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          this.running--;
          resolve(code);
        };
      });
    };
    begin();
    return Promise.resolve({
      name,
      wait: () => exited,
      restart: () => Promise.resolve(begin()),
      kill: () => Promise.resolve(exit(137)),
      stop: () => {
        this.stopped.push(name);
        exit(143);
        return Promise.resolve();
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

  test('fails at once on an exit code the podFailurePolicy names, deleting the pods still running', async () => {
    const cluster = new FakeCluster((pod) => (pod === 0 ? { code: 2, ms: 5 } : ok(5000)));
    const rules = [{ action: 'FailJob' as const, onExitCodes: { containerName: 'work-queue', operator: 'In' as const, values: [2] } }];
    const run = await runJob(job({ completions: 4, parallelism: 2, podFailurePolicy: { rules } }), options(cluster));
    expect(run).toMatchObject({ condition: 'Failed', reason: 'PodFailurePolicy', failed: 0 });
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
  test('restarts the failed container in the same pod and counts each restart as a failure', async () => {
    const cluster = new FakeCluster((_, runIndex) => (runIndex < 2 ? { code: 1, ms: 1 } : ok()));
    const run = await runJob(job({ completions: 1 }, 'OnFailure'), options(cluster));
    expect(run).toMatchObject({ condition: 'Complete', succeeded: 1, failed: 2 });
    expect(run.pods).toHaveLength(1);
    expect(run.pods[0].exitCodes).toEqual([1, 1, 0]);
    expect(run.seconds).toBeGreaterThanOrEqual((20 + 40) / 1000);
  });

  test('fails the Job once the restarts exceed backoffLimit', async () => {
    const cluster = new FakeCluster(() => ({ code: 1, ms: 1 }));
    const run = await runJob(job({ completions: 1, backoffLimit: 1 }, 'OnFailure'), options(cluster));
    expect(run).toMatchObject({ condition: 'Failed', reason: 'BackoffLimitExceeded', failed: 2 });
    expect(run.pods[0].phase).toBe('Deleted');
  });
});

test('fails on a restartPolicy a Job may not have', async () => {
  const spec = job({});
  spec.spec!.template.spec!.restartPolicy = 'Always';
  await expect(runJob(spec, options(new FakeCluster(() => ok())))).rejects.toThrow('restartPolicy must be Never or OnFailure, got "Always"');
});

test('a deleted Job stops its pods and ends as Deleted, counting nothing', async () => {
  const cluster = new FakeCluster(() => ok(60_000));
  const deletion = new AbortController();
  const running = runJob(job({ completions: 4, parallelism: 2 }), { ...options(cluster), signal: deletion.signal });
  await new Promise((resolve) => setTimeout(resolve, 50));
  deletion.abort();
  const run = await running;
  expect(run).toMatchObject({ condition: 'Deleted', succeeded: 0, failed: 0 });
  expect(run.pods.map((pod) => pod.phase)).toEqual(['Deleted', 'Deleted']);
  expect(cluster.stopped).toHaveLength(2);
});
