/**
 * What the Job controller and the kubelet do with a Job's pods: `parallelism`, `completions` (or
 * the work-queue rule when unset), `completionMode: Indexed` (one pod per index), `backoffLimit`
 * and `backoffLimitPerIndex` with their exponential delays before a replacement, `maxFailedIndexes`,
 * `successPolicy`, `restartPolicy` (Never: a failed pod is replaced; OnFailure: its container is
 * restarted in place), `podFailurePolicy` on exit codes (FailJob, FailIndex, Ignore, Count),
 * `activeDeadlineSeconds`, and the order in which a Job ends since 1.31: the interim condition
 * (FailureTarget or SuccessCriteriaMet) first, the remaining pods deleted with their grace period,
 * Failed or Complete once they have all terminated.
 *
 * Read from kubernetes/kubernetes pkg/controller/job: job_controller.go at commit 6ae037f1 (syncJob,
 * manageJob, trackJobStatusAndRemoveFinalizers, enactJobFinished), indexed_job_utils.go,
 * backoff_utils.go, pod_failure_policy.go, success_policy.go; and the Job docs (concepts/workloads/
 * controllers/job.md): "Completion mode", "Pod backoff failure policy", "Backoff limit per index",
 * "Pod failure policy", "Success policy", "Job termination and cleanup" / "Termination of Job pods".
 * Not modelled: pod conditions (no evictions here, so onPodConditions rules never match),
 * podReplacementPolicy, suspend, ttlSecondsAfterFinished, the controller's 1 s sync batching.
 */
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IJobSpec } from 'kubernetes-models/batch/v1/JobSpec';
import type { IPodFailurePolicyRule } from 'kubernetes-models/batch/v1/PodFailurePolicyRule';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import { EventQueue } from './event-queue';
import { firstPendingIndexes, formatIndexes, indexedPodTemplate, matchSuccessPolicy } from './job-indexes';
import { Pod } from './pod';

export interface PodRecord {
  readonly name: string;
  /** Its completion index (Indexed Jobs). */
  readonly index?: number;
  /** Deleted: still running when the Job ended (or was deleted), so the controller deleted it. */
  phase: 'Running' | 'Succeeded' | 'Failed' | 'Deleted';
  /** Exit code of every run of the container, restarts included. */
  readonly exitCodes: number[];
  logs: string;
  /** When the pod started and when it ended (ms since the epoch; 0 while it runs). */
  readonly startedAt: number;
  finishedAt: number;
}

/** A reason of a Job condition (batch.JobReason*). */
export type JobReason =
  'BackoffLimitExceeded' | 'DeadlineExceeded' | 'PodFailurePolicy' | 'MaxFailedIndexesExceeded' | 'FailedIndexes' | 'SuccessPolicy' | 'CompletionsReached';

export interface JobCondition {
  readonly type: 'FailureTarget' | 'SuccessCriteriaMet' | 'Failed' | 'Complete';
  readonly reason: JobReason;
  /** When it was added (ms since the epoch). */
  readonly at: number;
}

export interface JobRun {
  /** Deleted: the Job was deleted (`signal`) before it finished; its pods were deleted with it. */
  readonly condition: 'Complete' | 'Failed' | 'Deleted';
  readonly reason?: JobReason;
  /** status.succeeded: succeeded pods, or for an Indexed Job succeeded indexes. */
  readonly succeeded: number;
  /** status.failed: failed pods not ignored by the podFailurePolicy, plus the pods deleted when the Job failed. */
  readonly failed: number;
  /** status.completedIndexes (Indexed Jobs), e.g. "0-7" or "1,3-5". */
  readonly completedIndexes?: string;
  /** status.failedIndexes (Indexed Jobs with backoffLimitPerIndex). */
  readonly failedIndexes?: string;
  /** The conditions in the order they were added: FailureTarget or SuccessCriteriaMet, then Failed or Complete. */
  readonly conditions: JobCondition[];
  readonly pods: PodRecord[];
  readonly seconds: number;
}

export interface JobControllerOptions {
  /**
   * Creates and starts a pod under the given name from the given template: the Job's, or for an
   * Indexed Job the Job's with the pod's index in its annotation, label, hostname and
   * JOB_COMPLETION_INDEX (job-indexes.ts, indexedPodTemplate).
   */
  startPod(name: string, template: IPodTemplateSpec): Promise<Pod>;
  /** Called with every pod once started (the fault scenario picks its victim here). */
  onPodStarted?(pod: Pod): void;
  /** Called with a pod's record once its phase is Succeeded or Failed. */
  onPodExited?(pod: PodRecord): void;
  /** Called once the Job has its Complete or Failed condition, that is after its remaining pods have terminated (or once a deleted Job's pods are gone). */
  onFinished?(condition: JobRun['condition']): void;
  /**
   * First delay before replacing a failed pod (Never) or restarting a failed container (OnFailure);
   * it doubles with each further failure.
   * @default 10000, as in Kubernetes
   */
  backoffBaseMs?: number;
  /** Aborted: the Job is deleted (`kubectl delete job`), its running pods deleted with their grace period. @default - never */
  signal?: AbortSignal;
}

/** MaxJobPodFailureBackOff: the controller's cap on the delay before a replacement pod. */
const MAX_POD_BACKOFF_MS = 10 * 60_000;
const MAX_RESTART_BACKOFF_MS = 5 * 60_000; // the kubelet's CrashLoopBackOff cap
/** The API's default backoffLimit, and the one it sets when backoffLimitPerIndex is set (math.MaxInt32). */
const DEFAULT_BACKOFF_LIMIT = 6;
const BACKOFF_LIMIT_WITH_PER_INDEX = 2147483647;
const NAME_SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'; // what Kubernetes' generateName uses
const MAX_GENERATED_NAME_PREFIX = 58; // names.MaxGeneratedNameLength: 63 less the 5 random characters

type Event = { kind: 'exit'; pod: ActivePod; code: number } | { kind: 'restarted' } | { kind: 'error'; error: Error } | { kind: 'deleted' };
type Target = { type: 'FailureTarget' | 'SuccessCriteriaMet'; reason: JobReason };
type FailureAction = 'FailJob' | 'FailIndex' | 'Ignore' | 'Count';

interface ActivePod {
  readonly pod: Pod;
  readonly record: PodRecord;
  readonly index?: number;
  /** Container restarts (OnFailure): the pod's restartCount. */
  restarts: number;
  restartTimer?: NodeJS.Timeout;
}

/** An index's failures, as its pods' batch.kubernetes.io/job-index-failure-count and -ignored-failure-count annotations carry them. */
interface IndexFailures {
  counted: number;
  ignored: number;
  lastFailureAt: number;
}

export async function runJob(job: IJob, options: JobControllerOptions): Promise<JobRun> {
  const name = job.metadata?.name ?? 'job';
  const spec = job.spec;
  if (!spec) throw new Error(`Job ${name} has no spec`);
  checkSupported(name, spec);
  const indexed = spec.completionMode === 'Indexed';
  const perIndexLimit = spec.backoffLimitPerIndex;
  // The API server's defaults: with neither set both are 1; with parallelism only, completions stays unset.
  const completions = spec.completions ?? (spec.parallelism === undefined ? 1 : undefined);
  const parallelism = spec.parallelism ?? 1;
  const backoffLimit = spec.backoffLimit ?? (perIndexLimit === undefined ? DEFAULT_BACKOFF_LIMIT : BACKOFF_LIMIT_WITH_PER_INDEX);
  const restartPolicy = spec.template.spec!.restartPolicy;
  const containerName = spec.template.spec!.containers[0].name;
  const rules = spec.podFailurePolicy?.rules ?? [];
  const backoffBase = options.backoffBaseMs ?? 10_000;
  const started = Date.now();
  const deadline = spec.activeDeadlineSeconds === undefined ? Infinity : started + spec.activeDeadlineSeconds * 1000;

  const events = new EventQueue<Event>();
  const active = new Set<ActivePod>();
  const records: PodRecord[] = [];
  const pods: Pod[] = [];
  const conditions: JobCondition[] = [];
  const succeededIndexes = new Set<number>();
  const failedIndexes = new Set<number>();
  const indexFailures = new Map<number, IndexFailures>();
  let succeededPods = 0;
  let failed = 0;
  let failuresSinceSuccess = 0;
  let lastFailureAt = 0;
  let failJobMatched = false;

  // An Indexed Job's succeeded count is its number of succeeded indexes (calculateSucceededIndexes).
  const succeeded = (): number => (indexed ? succeededIndexes.size : succeededPods);

  // Not awaited: the pod's end, either way, goes into the event queue, which the loop reads.
  const watch = (entry: ActivePod): void =>
    void entry.pod.wait().then(
      (code) => events.push({ kind: 'exit', pod: entry, code }),
      (error: Error) => events.push({ kind: 'error', error }),
    );

  /** syncJob's checks, in its order, for the condition that ends the Job; undefined while it goes on. */
  const terminalCondition = (): Target | undefined => {
    // getFailJobMessage: a failed pod matched a FailJob rule (Job docs, "Pod failure policy").
    if (failJobMatched) return { type: 'FailureTarget', reason: 'PodFailurePolicy' };
    // exceedsBackoffLimit (status.failed > backoffLimit), or for OnFailure pastBackoffLimitOnFailure:
    // the restarts of the pods still running reach backoffLimit (any restart when it is 0).
    const restarts = [...active].reduce((sum, entry) => sum + entry.restarts, 0);
    const pastOnFailure = restartPolicy === 'OnFailure' && (backoffLimit === 0 ? restarts > 0 : restarts >= backoffLimit);
    if (failed > backoffLimit || pastOnFailure) return { type: 'FailureTarget', reason: 'BackoffLimitExceeded' };
    // pastActiveDeadline.
    if (Date.now() >= deadline) return { type: 'FailureTarget', reason: 'DeadlineExceeded' };
    if (indexed && perIndexLimit !== undefined) {
      // syncJob with hasBackoffLimitPerIndex (Job docs, "Backoff limit per index"): more failed indexes than
      // maxFailedIndexes end the Job at once; otherwise it fails once every index has succeeded or failed.
      if (spec.maxFailedIndexes !== undefined && failedIndexes.size > spec.maxFailedIndexes)
        return { type: 'FailureTarget', reason: 'MaxFailedIndexesExceeded' };
      if (failedIndexes.size > 0 && failedIndexes.size + succeededIndexes.size >= completions!) return { type: 'FailureTarget', reason: 'FailedIndexes' };
    }
    // matchSuccessPolicy (Job docs, "Success policy").
    if (indexed && matchSuccessPolicy(spec.successPolicy, completions!, succeededIndexes)) return { type: 'SuccessCriteriaMet', reason: 'SuccessPolicy' };
    // syncJob's `complete`: completions reached with no pod active, or without completions (work queue) a
    // success and no pod active; newSuccessCondition gives SuccessCriteriaMet first since 1.31.
    const complete = (completions === undefined ? succeeded() > 0 : succeeded() >= completions) && active.size === 0;
    if (complete) return { type: 'SuccessCriteriaMet', reason: 'CompletionsReached' };
    return undefined;
  };

  /** When the backoff record (backoff_utils.go, newBackoffRecord/getRemainingTime) lets a replacement be created. */
  const jobReadyAt = (): number => (failuresSinceSuccess > 0 ? lastFailureAt + podBackoffMs(backoffBase, failuresSinceSuccess) : 0);
  /** getRemainingTimePerIndex: the index's own delay, from all its failures so far, counted and ignored. */
  const indexReadyAt = (index: number): number => {
    const failures = indexFailures.get(index);
    return failures ? failures.lastFailureAt + podBackoffMs(backoffBase, failures.counted + failures.ignored) : 0;
  };

  /** manageJob: the pods to create now (an index each for an Indexed Job), or when to look again. */
  const podsToCreate = (): { create: (number | undefined)[]; wakeAt: number } => {
    const wanted = completions === undefined ? (succeeded() > 0 ? active.size : parallelism) : Math.max(0, Math.min(parallelism, completions - succeeded()));
    const diff = wanted - active.size;
    if (diff <= 0) return { create: [], wakeAt: Infinity };
    const now = Date.now();
    // Without backoffLimitPerIndex, one delay for the whole Job.
    if (perIndexLimit === undefined && now < jobReadyAt()) return { create: [], wakeAt: jobReadyAt() };
    if (!indexed) return { create: new Array<undefined>(diff).fill(undefined), wakeAt: Infinity };
    const activeIndexes = new Set([...active].map((entry) => entry.index));
    const pending = firstPendingIndexes(diff, completions!, (index) => succeededIndexes.has(index) || failedIndexes.has(index) || activeIndexes.has(index));
    if (perIndexLimit === undefined) return { create: pending, wakeAt: Infinity };
    // getPodCreationInfoForIndependentIndexes: of the first pending indexes, those whose own delay has
    // passed; when none has, the controller looks again when the first one's passes.
    const readyAt = pending.map(indexReadyAt);
    const ready = pending.filter((_, i) => readyAt[i] <= now);
    return ready.length > 0 ? { create: ready, wakeAt: Infinity } : { create: [], wakeAt: Math.min(...readyAt) };
  };

  const startPods = async (indexes: (number | undefined)[]): Promise<void> => {
    const templates = indexes.map((index) => (index === undefined ? spec.template : indexedPodTemplate(name, spec.template, index)));
    const names = indexes.map((index) => (index === undefined ? generatedName(name) : indexedPodName(name, index)));
    const started = await Promise.all(names.map((podName, i) => options.startPod(podName, templates[i])));
    started.forEach((pod, i) => {
      const record: PodRecord = { name: pod.name, index: indexes[i], phase: 'Running', exitCodes: [], logs: '', startedAt: Date.now(), finishedAt: 0 };
      const entry: ActivePod = { pod, record, index: indexes[i], restarts: 0 };
      pods.push(pod);
      records.push(record);
      active.add(entry);
      watch(entry);
      options.onPodStarted?.(pod);
    });
  };

  const onExit = (entry: ActivePod, code: number): void => {
    if (!active.has(entry)) return; // deleted meanwhile
    entry.record.exitCodes.push(code);
    entry.record.finishedAt = Date.now();
    if (code === 0) {
      entry.record.phase = 'Succeeded';
      active.delete(entry);
      if (entry.index === undefined) succeededPods++;
      else succeededIndexes.add(entry.index);
      failuresSinceSuccess = 0; // newBackoffRecord: a success resets the Job's backoff
      options.onPodExited?.(entry.record);
      return;
    }
    if (restartPolicy === 'OnFailure') {
      // The kubelet restarts the container in place after its CrashLoopBackOff delay; the pod stays
      // Running, so status.failed does not grow (the restarts count in pastBackoffLimitOnFailure).
      const delay = Math.min(backoffBase * 2 ** entry.restarts, MAX_RESTART_BACKOFF_MS);
      entry.restartTimer = setTimeout(() => {
        entry.pod.restart().then(
          () => {
            entry.restarts++;
            watch(entry);
            events.push({ kind: 'restarted' });
          },
          (error: Error) => events.push({ kind: 'error', error }),
        );
      }, delay);
      return;
    }
    entry.record.phase = 'Failed';
    active.delete(entry);
    const now = Date.now();
    const action = failurePolicyAction(rules, containerName, code);
    // newBackoffRecord counts every new failed pod, whichever rule it matched (kubernetes#130881).
    failuresSinceSuccess++;
    lastFailureAt = now;
    // matchPodFailurePolicy: Ignore does not count towards backoffLimit (nonIgnoredFailedPodsCount); FailJob, FailIndex and Count do.
    if (action !== 'Ignore') failed++;
    if (action === 'FailJob') failJobMatched = true;
    if (entry.index !== undefined && perIndexLimit !== undefined) {
      const failures = indexFailures.get(entry.index) ?? { counted: 0, ignored: 0, lastFailureAt: 0 };
      indexFailures.set(entry.index, failures);
      failures.lastFailureAt = now;
      if (action === 'Ignore') {
        failures.ignored++; // getNewIndexFailureCounts: the replacement's ignored-failure-count
      } else {
        // isIndexFailed: FailIndex fails the index at once; a counted failure fails it when the pod's
        // job-index-failure-count (the index's counted failures before it) has reached backoffLimitPerIndex.
        if (action === 'FailIndex' || failures.counted >= perIndexLimit) failedIndexes.add(entry.index);
        failures.counted++;
      }
    }
    options.onPodExited?.(entry.record);
  };

  /** Deletes the pods still active and waits until each has terminated within its grace period (pod.stop()). */
  const deleteActivePods = async (): Promise<void> => {
    const remaining = [...active];
    active.clear();
    for (const entry of remaining) {
      clearTimeout(entry.restartTimer);
      entry.record.phase = 'Deleted';
    }
    await Promise.all(
      remaining.map(async (entry) => {
        await entry.pod.stop();
        entry.record.finishedAt = Date.now();
      }),
    );
  };

  const result = async (condition: JobRun['condition'], reason?: JobReason): Promise<JobRun> => {
    options.onFinished?.(condition);
    await collect(pods, records);
    return {
      condition,
      reason,
      succeeded: succeeded(),
      failed,
      ...(indexed ? { completedIndexes: formatIndexes(succeededIndexes) } : {}),
      ...(indexed && perIndexLimit !== undefined ? { failedIndexes: formatIndexes(failedIndexes) } : {}),
      conditions,
      pods: records,
      seconds: (Date.now() - started) / 1000,
    };
  };

  /**
   * The Job docs' "Termination of Job pods" (since 1.31): the interim condition first; the remaining
   * pods deleted, and when the Job fails each of them counted as failed at once
   * (trackJobStatusAndRemoveFinalizers: "every non-terminated pod is considered failed", not after
   * SuccessCriteriaMet); Failed or Complete, with the same reason, only once none is terminating (enactJobFinished).
   */
  const finish = async (target: Target): Promise<JobRun> => {
    conditions.push({ ...target, at: Date.now() });
    if (target.type === 'FailureTarget') failed += active.size;
    await deleteActivePods();
    const final = target.type === 'FailureTarget' ? 'Failed' : 'Complete';
    conditions.push({ type: final, reason: target.reason, at: Date.now() });
    return result(final, target.reason);
  };

  let deleted = options.signal?.aborted ?? false;
  options.signal?.addEventListener('abort', () => events.push({ kind: 'deleted' }));

  const handle = (event: Event): void => {
    if (event.kind === 'error') throw event.error;
    if (event.kind === 'deleted') deleted = true;
    if (event.kind === 'exit') onExit(event.pod, event.code);
  };

  try {
    for (;;) {
      if (deleted) {
        await deleteActivePods();
        return await result('Deleted');
      }
      const target = terminalCondition();
      if (target) return await finish(target);

      const plan = podsToCreate();
      if (plan.create.length > 0) {
        await startPods(plan.create);
        continue;
      }
      const event = await events.next(Math.min(deadline, plan.wakeAt) - Date.now());
      if (event === undefined) continue;
      // One sync sees every pod change that has arrived by then.
      handle(event);
      for (const next of events.takeAll()) handle(next);
    }
  } catch (error) {
    await Promise.all([...active].map((entry) => entry.pod.stop().catch(() => undefined)));
    await collect(pods, records).catch(() => undefined);
    throw error;
  }
}

/** getRemainingTimeForFailuresCount: the base delay doubled for each failure after the first, capped at MaxJobPodFailureBackOff. */
function podBackoffMs(baseMs: number, failures: number): number {
  return Math.min(baseMs * 2 ** (failures - 1), MAX_POD_BACKOFF_MS);
}

/** What the API server's Job validation would refuse (the JobSpec API reference), and what the harness does not model. */
function checkSupported(name: string, spec: IJobSpec): void {
  const fail = (problem: string) => {
    throw new Error(`Job ${name}: ${problem}`);
  };
  if (spec.suspend) fail('suspended Jobs are not supported by the e2e harness');
  const restartPolicy = spec.template.spec?.restartPolicy;
  if (restartPolicy !== 'Never' && restartPolicy !== 'OnFailure') fail(`restartPolicy must be Never or OnFailure, got ${JSON.stringify(restartPolicy)}`);
  const indexed = spec.completionMode === 'Indexed';
  if (spec.completionMode !== undefined && spec.completionMode !== 'NonIndexed' && !indexed) fail(`unknown completionMode ${spec.completionMode}`);
  if (indexed && spec.completions === undefined) fail('completionMode Indexed needs completions');
  if (spec.backoffLimitPerIndex !== undefined && (!indexed || restartPolicy !== 'Never'))
    fail('backoffLimitPerIndex needs completionMode Indexed and restartPolicy Never');
  if (spec.maxFailedIndexes !== undefined && spec.backoffLimitPerIndex === undefined) fail('maxFailedIndexes needs backoffLimitPerIndex');
  if (spec.successPolicy && !indexed) fail('successPolicy needs completionMode Indexed');
  const rules = spec.podFailurePolicy?.rules ?? [];
  if (rules.length > 0 && restartPolicy !== 'Never') fail('podFailurePolicy needs restartPolicy Never');
  if (rules.some((rule) => rule.action === 'FailIndex') && spec.backoffLimitPerIndex === undefined)
    fail('the podFailurePolicy action FailIndex needs backoffLimitPerIndex');
}

/**
 * The action of the first rule matching a failed pod's exit code (matchPodFailurePolicy,
 * matchOnExitCodes: exit code 0 never matches; Count when no rule matches). Rules on pod
 * conditions never match here: Docker knows no evictions or preemptions (DisruptionTarget).
 */
export function failurePolicyAction(rules: IPodFailurePolicyRule[], containerName: string, exitCode: number): FailureAction {
  if (exitCode === 0) return 'Count';
  for (const rule of rules) {
    const onExitCodes = rule.onExitCodes;
    if (!onExitCodes) continue;
    if (onExitCodes.containerName !== undefined && onExitCodes.containerName !== containerName) continue;
    const listed = onExitCodes.values.includes(exitCode);
    if (onExitCodes.operator === 'In' ? listed : !listed) return rule.action;
  }
  return 'Count';
}

/** `<base>-<5 characters>`, as Kubernetes' generateName names a Job's pods (and KEDA a ScaledJob's Jobs); a long prefix is cut as the API server cuts it. */
export function generatedName(base: string): string {
  return withRandomSuffix(`${base}-`.slice(0, MAX_GENERATED_NAME_PREFIX));
}

/** podGenerateNameWithIndex: `<job>-<index>-` and 5 random characters, the Job's name cut so that the index stays. */
export function indexedPodName(jobName: string, index: number): string {
  const tail = `-${index}-`;
  return withRandomSuffix(
    `${jobName}${tail}`.length > MAX_GENERATED_NAME_PREFIX ? `${jobName.slice(0, MAX_GENERATED_NAME_PREFIX - tail.length)}${tail}` : `${jobName}${tail}`,
  );
}

function withRandomSuffix(prefix: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += NAME_SUFFIX_ALPHABET[Math.floor(Math.random() * NAME_SUFFIX_ALPHABET.length)];
  return prefix + suffix;
}

async function collect(pods: Pod[], records: PodRecord[]): Promise<void> {
  await Promise.all(
    pods.map(async (pod, index) => {
      records[index].logs = await pod.logs();
      await pod.remove();
    }),
  );
}

/** The largest number of pods (or Jobs) that ran at the same time; each must have finished. */
export function maxConcurrent(runs: readonly { startedAt: number; finishedAt: number }[]): number {
  const events = runs.flatMap((run) => [
    { at: run.startedAt, change: 1 },
    { at: run.finishedAt, change: -1 },
  ]);
  events.sort((a, b) => a.at - b.at || a.change - b.change); // an end before a start at the same instant
  let running = 0;
  let most = 0;
  for (const event of events) most = Math.max(most, (running += event.change));
  return most;
}
