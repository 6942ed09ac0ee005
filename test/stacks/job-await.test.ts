import * as fs from 'fs';
import { builtinModules } from 'module';
import * as os from 'os';
import * as path from 'path';
import { DynamicProviderHost, serializedProvider } from './job-await/dynamic-provider-host';
import { type FakeJob, FakeKubernetesApi, type FakePod, jobEnd } from './job-await/fake-kubernetes-api';
import { type JobAwaitOutputs, jobAwaitProvider } from '../../stacks/pulumi/job-await/provider';

/**
 * JobAwait's provider, serialized as `pulumi up` serializes it and run in Pulumi's own dynamic
 * provider host, driven over gRPC as the engine drives it, against a fake Kubernetes API that
 * serves scripted Jobs. The Jobs are read every 50 ms here (every 2 s under `pulumi up`).
 */
const api = new FakeKubernetesApi();
let host: DynamicProviderHost | undefined;
/** Serialized from this checkout, and from a package installed in a consumer's project. */
let provider: string;
let installedProvider: string;
let directory: string;
let kubeconfigFile: string;

/** The type token of JobAwait; the dynamic provider host takes it only as part of the URN. */
const JOB_AWAIT_TYPE = 'pulumi-nodejs:dynamic/work-queue:JobAwait';
const INTERVAL_SECONDS = 0.05;
const NAMESPACE = 'batch';
const RUNNING = { active: 2, ready: 2, succeeded: 0 };
const complete = (succeeded: number) => ({
  succeeded,
  conditions: [{ type: 'Complete', status: 'True', reason: 'CompletionsReached' }],
});
const failed = (reason: string, message: string) => ({
  active: 0,
  failed: 1,
  conditions: [{ type: 'Failed', status: 'True', reason, message }],
});
const logOf = (count: number) => Array.from({ length: count }, (_, i) => `line ${i + 1}`).join('\n') + '\n';

beforeAll(async () => {
  await api.start();
  directory = fs.mkdtempSync(path.join(os.tmpdir(), 'job-await-'));
  kubeconfigFile = path.join(directory, 'config');
  fs.writeFileSync(kubeconfigFile, api.kubeconfig());
  // The ambient kubeconfig of the host, for a provider configured with none: current context `fake`.
  const ambient = path.join(directory, 'ambient');
  fs.writeFileSync(ambient, api.kubeconfig({ currentContext: 'fake' }));
  [provider, installedProvider, host] = await Promise.all([
    serializedProvider(),
    serializedProvider(path.join(directory, 'consumer')),
    DynamicProviderHost.start({ KUBECONFIG: ambient }),
  ]);
}, 60_000);

afterAll(async () => {
  host?.stop();
  await api.stop();
  if (directory) fs.rmSync(directory, { recursive: true, force: true });
});

/** The provider host beforeAll started. */
function providerHost(): DynamicProviderHost {
  if (host === undefined) throw new Error('the dynamic provider host did not start (see beforeAll)');
  return host;
}

/** Scripts the Job and awaits it through the provider host: the fake's `fake` context, timeout 10 s unless given. */
async function awaitScripted(job: Omit<FakeJob, 'namespace' | 'uid'>, inputs: Record<string, unknown> = {}) {
  const uid = `uid-${job.name}`;
  api.script({ namespace: NAMESPACE, uid, ...job });
  return providerHost().create(JOB_AWAIT_TYPE, `${job.name}-await`, {
    __provider: provider,
    namespace: NAMESPACE,
    name: job.name,
    uid,
    timeoutSeconds: 10,
    intervalSeconds: INTERVAL_SECONDS,
    kubeconfig: api.kubeconfig(),
    context: 'fake',
    ...inputs,
  });
}

const failedPod = (name: string, exitCode: number, finishedAt: string, log?: string): FakePod => ({
  name,
  phase: 'Failed',
  exitCode,
  finishedAt,
  log,
});

/** The modules a serialized provider requires when the host loads it. */
const requiredBy = (serialized: string) => [...serialized.matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1]);

describe('job await', () => {
  test('job await serializes to a provider that requires nothing but Node.js built-ins, from a checkout and from an installed package', async () => {
    // A module reached through another module's exports would be required by its path, which an installed package's `exports` map refuses.
    for (const serialized of [provider, installedProvider]) {
      expect(
        requiredBy(serialized).filter((name) => !builtinModules.includes(name.replace(/^node:/, '').split('/')[0])),
      ).toEqual([]);
    }
    const scripted = { namespace: NAMESPACE, name: 'installed', uid: 'uid-installed', steps: [RUNNING, complete(2)] };
    api.script(scripted);
    const result = await providerHost().create(JOB_AWAIT_TYPE, 'installed-await', {
      __provider: installedProvider,
      namespace: NAMESPACE,
      name: 'installed',
      uid: 'uid-installed',
      timeoutSeconds: 10,
      intervalSeconds: INTERVAL_SECONDS,
      kubeconfig: api.kubeconfig(),
      context: 'fake',
    });
    expect(result.outputs).toMatchObject({ name: 'installed', succeeded: 2 });
  });

  test('job await returns once the Job is complete, reporting completions as they change', async () => {
    const steps = [
      RUNNING,
      RUNNING,
      { active: 2, ready: 2, succeeded: 1 },
      { active: 1, ready: 1, succeeded: 2 },
      complete(3),
    ];
    // The kubeconfig as a file path, as pulumi-kubernetes takes it too; the context picked by name.
    const result = await awaitScripted({ name: 'complete', completions: 3, steps }, { kubeconfig: kubeconfigFile });

    expect(result.id).toBe('uid-complete');
    expect(result.outputs).toMatchObject({ namespace: NAMESPACE, name: 'complete', uid: 'uid-complete', succeeded: 3 });
    expect(result.outputs).not.toHaveProperty('kubeconfig');
    expect(api.readsOf(NAMESPACE, 'complete')).toBe(steps.length);
    expect(providerHost().printed(`Job ${NAMESPACE}/complete`)).toEqual([
      `Job ${NAMESPACE}/complete: 0/3 succeeded, 2 running`,
      `Job ${NAMESPACE}/complete: 1/3 succeeded, 2 running`,
      `Job ${NAMESPACE}/complete: 2/3 succeeded, 1 running`,
    ]);
    expect(
      api.requests
        .filter((r) => r.url.includes('/jobs/complete'))
        .every((r) => r.authorization === 'Bearer fake-token'),
    ).toBe(true);
  });

  test('job await takes the ambient kubeconfig ($KUBECONFIG) when the provider has none', async () => {
    const result = await awaitScripted({ name: 'ambient', steps: [complete(1)] }, { kubeconfig: null, context: null });
    expect(result.outputs).toMatchObject({ name: 'ambient', succeeded: 1 });
  });

  test("job await fails at once on a Job failed by its podFailurePolicy, with the last 20 lines of the failed pod's log", async () => {
    const reason =
      'Container work-queue for pod batch/policy-x1 failed with exit code 2 matching FailJob rule at index 0';
    const pods = [
      {
        name: 'policy-ok',
        phase: 'Succeeded',
        exitCode: 0,
        finishedAt: '2025-01-01T00:00:05Z',
        log: 'done\n',
      } as FakePod,
      failedPod('policy-x1', 2, '2025-01-01T00:00:09Z', logOf(30)),
    ];
    const attempt = awaitScripted({
      name: 'policy',
      completions: 8,
      steps: [RUNNING, failed('PodFailurePolicy', reason), RUNNING],
      pods,
    });

    await expect(attempt).rejects.toThrow(
      `Job ${NAMESPACE}/policy failed (PodFailurePolicy): ${reason}\n` +
        'last lines of pod policy-x1, container work-queue, exit code 2:\n' +
        Array.from({ length: 20 }, (_, i) => `  line ${i + 11}`).join('\n'),
    );
    // The first read that shows the failure ends the await.
    expect(api.readsOf(NAMESPACE, 'policy')).toBe(2);
  });

  test('job await fails on BackoffLimitExceeded, showing the pod that failed last', async () => {
    const pods = [
      failedPod('backoff-a', 1, '2025-01-01T00:00:10Z', 'first crash\n'),
      failedPod('backoff-c', 3, '2025-01-01T00:00:30Z', 'Error: broker unreachable after 60 s\n'),
      failedPod('backoff-b', 1, '2025-01-01T00:00:20Z', 'second crash\n'),
    ];
    await expect(
      awaitScripted({
        name: 'backoff',
        steps: [failed('BackoffLimitExceeded', 'Job has reached the specified backoff limit')],
        pods,
      }),
    ).rejects.toThrow(
      `Job ${NAMESPACE}/backoff failed (BackoffLimitExceeded): Job has reached the specified backoff limit\n` +
        'last lines of pod backoff-c, container work-queue, exit code 3:\n  Error: broker unreachable after 60 s',
    );
  });

  test("job await quotes the failed pod's termination message: why the worker exited, which item, its outcome and attempt", async () => {
    const message = '{"item":"poison","outcome":"dead","attempt":3,"exitCode":1,"reason":"the item was not done"}';
    const pods = [
      { ...failedPod('quote-x1', 1, '2025-01-01T00:00:09Z', 'Processing poison\n'), terminationMessage: message },
    ];
    await expect(
      awaitScripted({
        name: 'quote',
        steps: [failed('BackoffLimitExceeded', 'Job has reached the specified backoff limit')],
        pods,
      }),
    ).rejects.toThrow(
      `Job ${NAMESPACE}/quote failed (BackoffLimitExceeded): Job has reached the specified backoff limit\n` +
        `termination message of pod quote-x1, container work-queue, exit code 1: ${message}\n` +
        'last lines of pod quote-x1, container work-queue, exit code 1:\n  Processing poison',
    );
  });

  test('job await quotes a multi-line termination message indented, and not one that FallbackToLogsOnError made of the log it shows', async () => {
    const crashed = { ...failedPod('crash-x1', 137, '2025-01-01T00:00:09Z', logOf(30)), terminationMessage: logOf(30) };
    await expect(
      awaitScripted({ name: 'crash', steps: [failed('BackoffLimitExceeded', 'backoff')], pods: [crashed] }),
    ).rejects.toThrow(
      `Job ${NAMESPACE}/crash failed (BackoffLimitExceeded): backoff\n` +
        'last lines of pod crash-x1, container work-queue, exit code 137:\n' +
        Array.from({ length: 20 }, (_, i) => `  line ${i + 11}`).join('\n'),
    );
    const unreadable = { ...failedPod('lines-x1', 1, '2025-01-01T00:00:09Z'), terminationMessage: 'first\nsecond\n' };
    await expect(
      awaitScripted({ name: 'lines', steps: [failed('BackoffLimitExceeded', 'backoff')], pods: [unreadable] }),
    ).rejects.toThrow(
      `Job ${NAMESPACE}/lines failed (BackoffLimitExceeded): backoff\n` +
        'termination message of pod lines-x1, container work-queue, exit code 1:\n  first\n  second\n' +
        '(pod lines-x1, container work-queue, exit code 1: its log could not be read: ',
    );
  });

  describe('the end of a Job as Kubernetes 1.31+ shows it: FailureTarget or SuccessCriteriaMet, the pods terminating, then gone, then Failed or Complete', () => {
    const deadline = { reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
    const running = (name: string, startedAt: string, log?: string): FakePod => ({
      name,
      phase: 'Running',
      startedAt,
      log,
    });

    test('job await fails on DeadlineExceeded at FailureTarget, with the last lines of the pod that ran longest, which the controller is deleting', async () => {
      const pods = [
        running('deadline-b', '2025-01-01T00:00:40Z', 'Processing pear\n'),
        running('deadline-a', '2025-01-01T00:00:10Z', logOf(25)),
      ];
      const end = jobEnd({ outcome: 'failure', ...deadline, status: { succeeded: 3 }, running: pods });
      const attempt = awaitScripted({
        name: 'deadline',
        completions: 8,
        steps: [RUNNING, ...end.steps],
        podSteps: [pods, ...end.podSteps],
      });
      await expect(attempt).rejects.toThrow(
        `Job ${NAMESPACE}/deadline failed (DeadlineExceeded): Job was active longer than specified deadline\n` +
          'last lines of pod deadline-a, container work-queue, terminating:\n' +
          Array.from({ length: 20 }, (_, i) => `  line ${i + 6}`).join('\n'),
      );
      // Read at the first FailureTarget, while the pods still exist.
      expect(api.readsOf(NAMESPACE, 'deadline')).toBe(2);
    });

    test('job await says when the terminating pod has no log: its pods waited for their image until the deadline', async () => {
      const pods: FakePod[] = [{ name: 'stuck-a', phase: 'Pending', waitingReason: 'ImagePullBackOff' }];
      const end = jobEnd({ outcome: 'failure', ...deadline, status: {}, running: pods });
      await expect(awaitScripted({ name: 'stuck', steps: end.steps, podSteps: end.podSteps })).rejects.toThrow(
        `Job ${NAMESPACE}/stuck failed (DeadlineExceeded): Job was active longer than specified deadline\n` +
          '(pod stuck-a, container work-queue, terminating: its log could not be read: HTTP 400: container "work-queue" in pod "stuck-a" is waiting to start',
      );
    });

    test('job await first reading the Job once its pods are gone names the reason alone', async () => {
      const end = jobEnd({
        outcome: 'failure',
        ...deadline,
        status: {},
        running: [running('late-a', '2025-01-01T00:00:10Z', 'Processing fig\n')],
      });
      for (const [name, at] of [
        ['late-gone', 1],
        ['late-failed', 2],
      ] as const) {
        await expect(
          awaitScripted({ name, steps: end.steps.slice(at), podSteps: end.podSteps.slice(at) }),
        ).rejects.toThrow(
          new RegExp(
            `^Job ${NAMESPACE}/${name} failed \\(DeadlineExceeded\\): Job was active longer than specified deadline$`,
          ),
        );
      }
    });

    test('job await shows a terminating pod when the pod matched by a FailJob rule is already gone, and prefers the failed pod while it is listed', async () => {
      const reason =
        'Container work-queue for pod batch/failjob-x1 failed with exit code 2 matching FailJob rule at index 0';
      const other = running('failjob-y2', '2025-01-01T00:00:20Z', 'Processing plum\nleased plum\n');
      const end = jobEnd({
        outcome: 'failure',
        reason: 'PodFailurePolicy',
        message: reason,
        status: { failed: 1 },
        running: [other],
      });
      await expect(awaitScripted({ name: 'failjob', steps: end.steps, podSteps: end.podSteps })).rejects.toThrow(
        `Job ${NAMESPACE}/failjob failed (PodFailurePolicy): ${reason}\nlast lines of pod failjob-y2, container work-queue, terminating:\n  Processing plum\n  leased plum`,
      );

      // While the pod that failed is listed, its log is the one shown.
      const failed = failedPod('failjob-x1', 2, '2025-01-01T00:00:30Z', 'work-queue work: bad input\n');
      const kept = jobEnd({
        outcome: 'failure',
        reason: 'PodFailurePolicy',
        message: reason,
        status: { failed: 1 },
        running: [other],
        ended: [failed],
      });
      await expect(awaitScripted({ name: 'failjob-kept', steps: kept.steps, podSteps: kept.podSteps })).rejects.toThrow(
        `Job ${NAMESPACE}/failjob-kept failed (PodFailurePolicy): ${reason}\nlast lines of pod failjob-x1, container work-queue, exit code 2:\n  work-queue work: bad input`,
      );
    });

    const successCriteriaMet = { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached' };

    test('job await waits from SuccessCriteriaMet for Complete while the pods a success policy left are deleted, and returns the final count', async () => {
      const status = { succeeded: 3, completedIndexes: '0-2' };
      const left = {
        name: 'policy-3',
        index: 3,
        phase: 'Running',
        startedAt: '2025-01-01T00:00:30Z',
        log: 'Processing kiwi\n',
      } as FakePod;
      const end = jobEnd({
        outcome: 'success',
        reason: 'SuccessPolicy',
        message: 'Matched rules at index 0',
        status,
        running: [left],
      });
      const steps = [{ active: 1, ready: 1, ...status }, ...end.steps];
      const result = await awaitScripted({
        name: 'success-policy',
        completionMode: 'Indexed',
        completions: 4,
        steps,
        podSteps: [[left], ...end.podSteps],
      });
      expect(result.outputs).toMatchObject({ succeeded: 3 });
      expect(api.readsOf(NAMESPACE, 'success-policy')).toBe(steps.length);
      expect(providerHost().printed(`Job ${NAMESPACE}/success-policy`)).toEqual([
        `Job ${NAMESPACE}/success-policy: 3/4 succeeded, 1 running`,
        `Job ${NAMESPACE}/success-policy: 3/4 succeeded, 0 running, 1 terminating, success criteria met, waiting for its pods to end`,
        `Job ${NAMESPACE}/success-policy: 3/4 succeeded, 0 running, success criteria met, waiting for its pods to end`,
      ]);
    });

    test('job await reports a Job deleted by its ttlSecondsAfterFinished after SuccessCriteriaMet as succeeded', async () => {
      const steps = [
        RUNNING,
        { active: 0, ready: 0, succeeded: 2, conditions: [successCriteriaMet] },
        'deleted' as const,
      ];
      const result = await awaitScripted({ name: 'ttl-succeeded', completions: 2, ttlSecondsAfterFinished: 0, steps });
      expect(result.outputs).toMatchObject({ succeeded: 2 });
      expect(providerHost().printed(`Job ${NAMESPACE}/ttl-succeeded: succeeded`)).toEqual([
        `Job ${NAMESPACE}/ttl-succeeded: succeeded (SuccessCriteriaMet); it was deleted before its Complete was read`,
      ]);
    });

    test('job await fails on a Job deleted before it saw SuccessCriteriaMet or Complete, saying its ttlSecondsAfterFinished may be why', async () => {
      await expect(
        awaitScripted({ name: 'ttl-unseen', ttlSecondsAfterFinished: 0, steps: [RUNNING, 'deleted'] }),
      ).rejects.toThrow(
        `Job ${NAMESPACE}/ttl-unseen was deleted while pulumi waited for it to complete (its ttlSecondsAfterFinished, 0 s, is shorter than the ` +
          `${INTERVAL_SECONDS} s between two reads: it may have ended and been deleted by the TTL controller in between)`,
      );
    });

    test('job await reports a Job that met its success criteria as succeeded when its pods are still terminating at the timeout', async () => {
      const terminating = { active: 0, ready: 0, terminating: 1, succeeded: 1, conditions: [successCriteriaMet] };
      const result = await awaitScripted({ name: 'end-at-timeout', steps: [terminating] }, { timeoutSeconds: 1 });
      expect(result.outputs).toMatchObject({ succeeded: 1 });
      expect(providerHost().printed(`Job ${NAMESPACE}/end-at-timeout: succeeded`)).toEqual([
        `Job ${NAMESPACE}/end-at-timeout: succeeded (SuccessCriteriaMet); its pods were still terminating after 1 s (1 succeeded, 0 running, 1 terminating, success criteria met, waiting for its pods to end)`,
      ]);
    });
  });

  describe('an Indexed Job', () => {
    const indexedPod = (
      name: string,
      index: number,
      phase: FakePod['phase'],
      exitCode?: number,
      finishedAt?: string,
      log?: string,
    ): FakePod => ({
      name,
      index,
      phase,
      exitCode,
      finishedAt,
      log,
    });

    test('job await shows the failed indexes in its progress, and returns when the Job completes all the same', async () => {
      const steps = [
        { active: 2, ready: 2, succeeded: 1, completedIndexes: '0' },
        { active: 2, ready: 2, succeeded: 2, failed: 2, completedIndexes: '0,2', failedIndexes: '1' },
        complete(3),
      ];
      const result = await awaitScripted({
        name: 'indexed-progress',
        completionMode: 'Indexed',
        completions: 4,
        steps,
      });
      expect(result.outputs).toMatchObject({ succeeded: 3 });
      expect(providerHost().printed(`Job ${NAMESPACE}/indexed-progress`)).toEqual([
        `Job ${NAMESPACE}/indexed-progress: 1/4 succeeded, 2 running`,
        `Job ${NAMESPACE}/indexed-progress: 2/4 succeeded, 2 running, 2 failed, failed indexes 1`,
      ]);
    });

    test('job await fails at once on MaxFailedIndexesExceeded, naming the failed indexes, with the log of a failed pod of one of them', async () => {
      const message = 'Job has exceeded the specified maximal number of failed indexes';
      const pods = [
        indexedPod('max-0', 0, 'Succeeded', 0, '2025-01-01T00:00:05Z', 'Processing apple\n'),
        indexedPod(
          'max-1',
          1,
          'Failed',
          2,
          '2025-01-01T00:00:07Z',
          'work-queue work: item 1: got nothing, expected an item at index 1\n',
        ),
        indexedPod('max-3', 3, 'Failed', 1, '2025-01-01T00:00:08Z', 'convert: bad input\n'),
        // Failed later, but its index was retried and is not among the failed ones.
        indexedPod('max-2', 2, 'Failed', 1, '2025-01-01T00:00:09Z', 'flaky\n'),
      ];
      const failing = {
        active: 1,
        failed: 4,
        succeeded: 1,
        completedIndexes: '0',
        failedIndexes: '1,3-4',
        conditions: [{ type: 'FailureTarget', status: 'True', reason: 'MaxFailedIndexesExceeded', message }],
      };
      const attempt = awaitScripted({
        name: 'max-failed',
        completionMode: 'Indexed',
        completions: 8,
        steps: [RUNNING, failing, RUNNING],
        pods,
      });
      await expect(attempt).rejects.toThrow(
        `Job ${NAMESPACE}/max-failed failed (MaxFailedIndexesExceeded): ${message}; failed indexes 1,3-4\n` +
          'last lines of pod max-3, index 3, container work-queue, exit code 1:\n  convert: bad input',
      );
      expect(api.readsOf(NAMESPACE, 'max-failed')).toBe(2);
    });

    test("job await shows the terminating pod that started first when the failed indexes' pods are gone (MaxFailedIndexesExceeded)", async () => {
      const message = 'Job has exceeded the specified maximal number of failed indexes';
      const running = [
        indexedPod('gone-4', 4, 'Running', undefined, undefined, 'Processing date\n'),
        {
          ...indexedPod('gone-2', 2, 'Running', undefined, undefined, 'Processing cherry\nslow handler\n'),
          startedAt: '2024-12-31T23:59:00Z',
        },
      ];
      const status = { failed: 2, succeeded: 1, completedIndexes: '0', failedIndexes: '1,3' };
      const end = jobEnd({ outcome: 'failure', reason: 'MaxFailedIndexesExceeded', message, status, running });
      await expect(
        awaitScripted({
          name: 'gone-failed',
          completionMode: 'Indexed',
          completions: 8,
          steps: end.steps,
          podSteps: end.podSteps,
        }),
      ).rejects.toThrow(
        `Job ${NAMESPACE}/gone-failed failed (MaxFailedIndexesExceeded): ${message}; failed indexes 1,3\n` +
          'last lines of pod gone-2, index 2, container work-queue, terminating:\n  Processing cherry\n  slow handler',
      );
    });

    test('job await fails on FailedIndexes, when every index has ended and some failed', async () => {
      const pods = [
        indexedPod(
          'end-5',
          5,
          'Failed',
          2,
          '2025-01-01T00:00:07Z',
          'work-queue work: ITEMS_DIRECTORY: no file holds index 5\n',
        ),
      ];
      const ended = {
        succeeded: 5,
        failed: 1,
        completedIndexes: '0-4',
        failedIndexes: '5',
        conditions: [{ type: 'Failed', status: 'True', reason: 'FailedIndexes', message: 'Job has failed indexes' }],
      };
      await expect(
        awaitScripted({ name: 'failed-indexes', completionMode: 'Indexed', completions: 6, steps: [ended], pods }),
      ).rejects.toThrow(
        `Job ${NAMESPACE}/failed-indexes failed (FailedIndexes): Job has failed indexes; failed indexes 5\n` +
          'last lines of pod end-5, index 5, container work-queue, exit code 2:\n  work-queue work: ITEMS_DIRECTORY: no file holds index 5',
      );
    });

    test('job await cuts a long list of failed indexes after whole intervals and counts them', async () => {
      const failedIndexes = Array.from({ length: 60 }, (_, i) => String(i * 2)).join(',');
      const ended = {
        failed: 60,
        failedIndexes,
        conditions: [{ type: 'Failed', status: 'True', reason: 'FailedIndexes', message: 'Job has failed indexes' }],
      };
      const attempt = awaitScripted({
        name: 'many-failed',
        completionMode: 'Indexed',
        completions: 120,
        steps: [ended],
      });
      await expect(attempt).rejects.toThrow(/; failed indexes 0,2,4,[0-9,]*,\.\.\. \(60 in all\)$/);
      await expect(attempt).rejects.toThrow(/^[^\n]{1,250}$/);
    });
  });

  test('job await fails when the Job is deleted while it waits', async () => {
    await expect(awaitScripted({ name: 'deleted', steps: [RUNNING, RUNNING, 'deleted'] })).rejects.toThrow(
      `Job ${NAMESPACE}/deleted was deleted while pulumi waited for it to complete`,
    );
  });

  test('job await fails when another Job of the same name took its place', async () => {
    api.script({ namespace: NAMESPACE, name: 'replaced', uid: 'uid-newer', steps: [RUNNING] });
    const attempt = providerHost().create(JOB_AWAIT_TYPE, 'replaced-await', {
      __provider: provider,
      namespace: NAMESPACE,
      name: 'replaced',
      uid: 'uid-older',
      timeoutSeconds: 10,
      intervalSeconds: INTERVAL_SECONDS,
      kubeconfig: api.kubeconfig(),
      context: 'fake',
    });
    await expect(attempt).rejects.toThrow(
      `Job ${NAMESPACE}/replaced was replaced by another Job of the same name (uid uid-newer, expected uid-older)`,
    );
  });

  test('job await fails after timeoutSeconds, with the progress and why pods are waiting', async () => {
    const pending: FakePod[] = [
      { name: 'slow-a', phase: 'Pending', waitingReason: 'ImagePullBackOff' },
      { name: 'slow-b', phase: 'Pending', waitingReason: 'ImagePullBackOff' },
    ];
    const started = Date.now();
    const attempt = awaitScripted(
      { name: 'slow', completions: 3, steps: [{ active: 2, ready: 0, succeeded: 0 }], pods: pending },
      { timeoutSeconds: 1 },
    );
    await expect(attempt).rejects.toThrow(
      `Job ${NAMESPACE}/slow did not complete within 1 s (0/3 succeeded, 2 running, waiting: ImagePullBackOff (2)); it goes on running in the cluster`,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(providerHost().printed(`Job ${NAMESPACE}/slow`)).toEqual([
      `Job ${NAMESPACE}/slow: 0/3 succeeded, 2 running, waiting: ImagePullBackOff (2)`,
    ]);
  });

  test('job await fails when the Kubernetes API cannot be reached, naming the server', async () => {
    // The kubeconfig's current context, `elsewhere`, points at a port nobody listens on.
    const attempt = awaitScripted({ name: 'unreachable', steps: [RUNNING] }, { context: undefined, timeoutSeconds: 1 });
    await expect(attempt).rejects.toThrow(
      new RegExp(
        `^Job ${NAMESPACE}/unreachable: the Kubernetes API at http://127\\.0\\.0\\.1:9 has not answered for 1 s: .*ECONNREFUSED`,
      ),
    );
  });

  test("job await fails at once when the API refuses the kubeconfig's credentials", async () => {
    const attempt = awaitScripted(
      { name: 'refused', steps: [RUNNING] },
      { kubeconfig: api.kubeconfig({ token: 'expired' }) },
    );
    await expect(attempt).rejects.toThrow(
      `Job ${NAMESPACE}/refused: cannot be read from ${api.url}: HTTP 401: Unauthorized`,
    );
    expect(api.readsOf(NAMESPACE, 'refused')).toBe(0);
  });

  test('job await fails on a context the kubeconfig does not have', async () => {
    const attempt = awaitScripted({ name: 'nocontext', steps: [RUNNING] }, { context: 'kind-work' });
    await expect(attempt).rejects.toThrow(
      `Job ${NAMESPACE}/nocontext cannot be awaited: context: got "kind-work", expected one of the kubeconfig's contexts ("fake", "elsewhere")`,
    );
  });
});

describe('job await across updates', () => {
  const state: JobAwaitOutputs = {
    namespace: NAMESPACE,
    name: 'job-wq-1',
    uid: 'uid-1',
    timeoutSeconds: 3600,
    intervalSeconds: 2,
    succeeded: 8,
  };
  const inputs = { namespace: NAMESPACE, name: 'job-wq-1', uid: 'uid-1', timeoutSeconds: 3600, intervalSeconds: 2 };

  test('job await runs again for a new Job (a new uid replaces it) and not for an unchanged one', async () => {
    expect(await jobAwaitProvider.diff!('uid-1', state, { ...inputs, uid: 'uid-2' })).toEqual({
      changes: true,
      replaces: ['uid'],
      deleteBeforeReplace: false,
    });
    expect(await jobAwaitProvider.diff!('uid-1', state, inputs)).toEqual({
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
  });

  test('job await keeps a changed timeout or kubeconfig without waiting again', async () => {
    const changed = { ...inputs, timeoutSeconds: 600, kubeconfig: 'apiVersion: v1' };
    expect(await jobAwaitProvider.diff!('uid-1', state, changed)).toEqual({
      changes: true,
      replaces: [],
      deleteBeforeReplace: false,
    });
    expect(await jobAwaitProvider.update!('uid-1', state, changed)).toEqual({
      outs: { ...inputs, timeoutSeconds: 600, succeeded: 8 },
    });
  });
});
