/**
 * What the Job controller and the kubelet do with a Job's pods: `parallelism`, `completions` (or
 * the work-queue rule when unset), `completionMode: Indexed` (one pod per index), `backoffLimit`
 * and `backoffLimitPerIndex` with their exponential delays before a replacement, `maxFailedIndexes`,
 * `successPolicy`, `restartPolicy` (Never: a failed pod is replaced; OnFailure: its container is
 * restarted in place), `podFailurePolicy` on exit codes and on pod conditions (FailJob, FailIndex,
 * Ignore, Count), evicted pods and lost nodes (pod-disruption.ts), terminating pods and
 * `podReplacementPolicy`, `activeDeadlineSeconds`, and the order in which a Job ends since 1.31:
 * the interim condition (FailureTarget or SuccessCriteriaMet) first, the remaining pods deleted
 * with their grace period, Failed or Complete once they have all terminated.
 *
 * Read from kubernetes/kubernetes pkg/controller/job: job_controller.go at commit 6ae037f1 (syncJob,
 * manageJob, trackJobStatusAndRemoveFinalizers, enactJobFinished, isPodFailed,
 * onlyReplaceFailedPods), indexed_job_utils.go (firstPendingIndexes), backoff_utils.go (at
 * 21da0b6d: newBackoffRecord, getFinishedTime), pod_failure_policy.go (at 2b02db1b), success_policy.go;
 * pkg/apis/batch/v1/defaults.go and validation.go (podReplacementPolicy); and the Job docs
 * (concepts/workloads/controllers/job.md): "Completion mode", "Pod backoff failure policy", "Backoff
 * limit per index", "Pod failure policy", "Success policy", "Delayed creation of replacement pods",
 * "Job termination and cleanup" / "Termination of Job pods".
 * Not modelled: suspend, the controller's 1 s sync batching and its informer caches (a pod's change
 * is seen at once), a Job changed while it runs. ttlSecondsAfterFinished: ttl-after-finished.ts.
 */
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IJobSpec } from 'kubernetes-models/batch/v1/JobSpec';
import type { IPodFailurePolicyRule } from 'kubernetes-models/batch/v1/PodFailurePolicyRule';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import { EventQueue } from './event-queue';
import { firstPendingIndexes, formatIndexes, indexedPodTemplate, matchSuccessPolicy } from './job-indexes';
import { Pod } from './pod';
import { Disruption, PodCondition, PodDisruptions } from './pod-disruption';

export interface PodRecord {
  readonly name: string;
  /** Its completion index (Indexed Jobs). */
  readonly index?: number;
  /**
   * Deleted: still running when the Job ended (or was deleted), so the controller deleted it.
   * An evicted pod ends Succeeded or Failed as the kubelet sets it (pod-disruption.ts).
   */
  phase: 'Running' | 'Succeeded' | 'Failed' | 'Deleted';
  /** Exit code of every run of the container, restarts included (none for a pod whose node was lost). */
  readonly exitCodes: number[];
  logs: string;
  /** When the pod started and when it ended (ms since the epoch; 0 while it runs). */
  readonly startedAt: number;
  finishedAt: number;
  /** When it was deleted (its deletionTimestamp less the grace period): from then until finishedAt it was terminating. */
  deletedAt?: number;
  /** Its DisruptionTarget condition, when it was evicted or its node lost. */
  conditions?: PodCondition[];
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

/** The Job's status counters as the controller writes them after a sync. */
export interface JobStatus {
  readonly at: number;
  /** status.active: pods neither terminal nor terminating. */
  readonly active: number;
  /** status.terminating: pods being deleted whose container has not ended yet (JobPodReplacementPolicy, on since 1.29). */
  readonly terminating: number;
  readonly succeeded: number;
  readonly failed: number;
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
  /** When it got Complete or Failed (ms since the epoch): the TTL-after-finished controller counts from here. Unset when Deleted. */
  readonly finishedAt?: number;
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
  /** Called with the Job's status counters whenever a sync changes them (status.active, status.terminating, ...). */
  onStatus?(status: JobStatus): void;
  /**
   * First delay before replacing a failed pod (Never) or restarting a failed container (OnFailure);
   * it doubles with each further failure.
   * @default 10000, as in Kubernetes
   */
  backoffBaseMs?: number;
  /** Aborted: the Job is deleted (`kubectl delete job`), its running pods deleted with their grace period. @default - never */
  signal?: AbortSignal;
  /** Evictions and lost nodes of the Job's pods (pod-disruption.ts). @default - none */
  disruptions?: PodDisruptions;
}

/** The hooks a Job's creator (kubectl apply, the KEDA emulation) may pass to the controller. */
export type JobObserver = Pick<JobControllerOptions, 'onPodStarted' | 'onPodExited' | 'onFinished' | 'onStatus'>;

/** MaxJobPodFailureBackOff: the controller's cap on the delay before a replacement pod. */
const MAX_POD_BACKOFF_MS = 10 * 60_000;
const MAX_RESTART_BACKOFF_MS = 5 * 60_000; // the kubelet's CrashLoopBackOff cap
/** The API's default backoffLimit, and the one it sets when backoffLimitPerIndex is set (math.MaxInt32). */
const DEFAULT_BACKOFF_LIMIT = 6;
const BACKOFF_LIMIT_WITH_PER_INDEX = 2147483647;
const NAME_SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'; // what Kubernetes' generateName uses
const MAX_GENERATED_NAME_PREFIX = 58; // names.MaxGeneratedNameLength: 63 less the 5 random characters

type Event =
  | { kind: 'exit'; pod: PodEntry; code: number }
  | { kind: 'disrupted'; pod: PodEntry; disruption: Disruption }
  | { kind: 'garbage-collected'; pod: PodEntry }
  | { kind: 'restarted' }
  | { kind: 'error'; error: Error }
  | { kind: 'deleted' };
type Target = { type: 'FailureTarget' | 'SuccessCriteriaMet'; reason: JobReason };
type FailureAction = 'FailJob' | 'FailIndex' | 'Ignore' | 'Count';

/** A pod of the Job that is not terminal yet: active, or terminating once deleted. */
interface PodEntry {
  readonly pod: Pod;
  readonly record: PodRecord;
  readonly index?: number;
  /** Container restarts (OnFailure): the pod's restartCount. */
  restarts: number;
  restartTimer?: NodeJS.Timeout;
  /** Its container has ended and the kubelet restarts it after its delay (OnFailure). */
  waitingRestart?: boolean;
  /** Who deleted it (its deletionTimestamp): the controller at the Job's end, or an eviction. */
  deletedBy?: 'controller' | 'eviction';
  /** Its node is lost: the container is gone, the pod's status frozen until the pod garbage collector fails it. */
  nodeLost?: boolean;
  /** Evicted by the kubelet: its phase is Failed whatever the container's exit code (evictPod). */
  evictedByKubelet?: boolean;
  /** Counted in the Job's status already (its tracking finalizer removed), so its end counts nothing more. */
  counted?: boolean;
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
  // onlyReplaceFailedPods: podReplacementPolicy Failed, which SetDefaults_Job gives a Job with a
  // podFailurePolicy (and validation demands of it); TerminatingOrFailed otherwise.
  const onlyReplaceFailed = spec.podReplacementPolicy === 'Failed' || spec.podFailurePolicy !== undefined;
  const backoffBase = options.backoffBaseMs ?? 10_000;
  const started = Date.now();
  const deadline = spec.activeDeadlineSeconds === undefined ? Infinity : started + spec.activeDeadlineSeconds * 1000;

  const events = new EventQueue<Event>();
  /** Pods not terminal yet: active ones, and terminating ones (deletedBy set). */
  const live = new Set<PodEntry>();
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
  let lastStatus = '';

  // An Indexed Job's succeeded count is its number of succeeded indexes (calculateSucceededIndexes).
  const succeeded = (): number => (indexed ? succeededIndexes.size : succeededPods);
  // FilterActivePods: a pod with a deletionTimestamp is not active; CountTerminatingPods counts it instead.
  const active = (): PodEntry[] => [...live].filter((entry) => entry.deletedBy === undefined);
  const terminating = (): PodEntry[] => [...live].filter((entry) => entry.deletedBy !== undefined);

  const reportStatus = (): void => {
    const status = { active: active().length, terminating: terminating().length, succeeded: succeeded(), failed };
    const text = JSON.stringify(status);
    if (text === lastStatus) return;
    lastStatus = text;
    options.onStatus?.({ at: Date.now(), ...status });
  };

  // Not awaited: the pod's end, either way, goes into the event queue, which the loop reads.
  const watch = (entry: PodEntry): void =>
    void entry.pod.wait().then(
      (code) => events.push({ kind: 'exit', pod: entry, code }),
      (error: Error) => events.push({ kind: 'error', error }),
    );

  const unsubscribe = options.disruptions?.subscribe((podName, disruption) => {
    const entry = [...live].find((candidate) => candidate.pod.name === podName);
    if (!entry || entry.nodeLost) return false;
    // The Eviction API and the kubelet take only a pod that is still running (not terminating).
    if (disruption.reason !== 'DeletionByPodGC' && (entry.deletedBy !== undefined || entry.evictedByKubelet)) return false;
    events.push({ kind: 'disrupted', pod: entry, disruption });
    return true;
  });

  /** syncJob's checks, in its order, for the condition that ends the Job; undefined while it goes on. */
  const terminalCondition = (): Target | undefined => {
    // getFailJobMessage: a failed pod matched a FailJob rule (Job docs, "Pod failure policy").
    if (failJobMatched) return { type: 'FailureTarget', reason: 'PodFailurePolicy' };
    // exceedsBackoffLimit (status.failed > backoffLimit), or for OnFailure pastBackoffLimitOnFailure:
    // the restarts of the pods still Running reach backoffLimit (any restart when it is 0).
    const restarts = [...live].reduce((sum, entry) => sum + entry.restarts, 0);
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
    // success and no pod active; terminating pods are not active. newSuccessCondition gives SuccessCriteriaMet first since 1.31.
    const complete = (completions === undefined ? succeeded() > 0 : succeeded() >= completions) && active().length === 0;
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
    const activeCount = active().length;
    const wanted = completions === undefined ? (succeeded() > 0 ? activeCount : parallelism) : Math.max(0, Math.min(parallelism, completions - succeeded()));
    // `wantActive - terminating - active`: with onlyReplaceFailedPods a terminating pod holds its place
    // until it is Failed (Job docs, "Delayed creation of replacement pods"); with TerminatingOrFailed it does not.
    const diff = wanted - activeCount - (onlyReplaceFailed ? terminating().length : 0);
    if (diff <= 0) return { create: [], wakeAt: Infinity };
    const now = Date.now();
    // Without backoffLimitPerIndex, one delay for the whole Job.
    if (perIndexLimit === undefined && now < jobReadyAt()) return { create: [], wakeAt: jobReadyAt() };
    if (!indexed) return { create: new Array<undefined>(diff).fill(undefined), wakeAt: Infinity };
    // firstPendingIndexes: not succeeded, failed or held by an active pod, nor with onlyReplaceFailedPods by a terminating one.
    const held = new Set((onlyReplaceFailed ? [...live] : active()).map((entry) => entry.index));
    const pending = firstPendingIndexes(diff, completions!, (index) => succeededIndexes.has(index) || failedIndexes.has(index) || held.has(index));
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
      const entry: PodEntry = { pod, record, index: indexes[i], restarts: 0 };
      pods.push(pod);
      records.push(record);
      live.add(entry);
      watch(entry);
      options.onPodStarted?.(pod);
    });
  };

  /** A pod became Failed (or, with TerminatingOrFailed, was deleted): count it as trackJobStatusAndRemoveFinalizers does. */
  const countFailure = (entry: PodEntry, exitCode: number | undefined, at: number): void => {
    entry.counted = true;
    const action = failurePolicyAction(rules, containerName, exitCode, entry.record.conditions);
    // newBackoffRecord counts every new failed pod, whichever rule it matched, Ignore included (kubernetes#119434;
    // kubernetes#130881 asks for evictions not to, still open), from its finish time (getFinishedTime).
    failuresSinceSuccess++;
    lastFailureAt = at;
    // matchPodFailurePolicy: Ignore does not count towards backoffLimit (nonIgnoredFailedPodsCount); FailJob, FailIndex and Count do.
    if (action !== 'Ignore') failed++;
    if (action === 'FailJob') failJobMatched = true;
    if (entry.index !== undefined && perIndexLimit !== undefined) {
      const failures = indexFailures.get(entry.index) ?? { counted: 0, ignored: 0, lastFailureAt: 0 };
      indexFailures.set(entry.index, failures);
      failures.lastFailureAt = at;
      if (action === 'Ignore') {
        failures.ignored++; // getNewIndexFailureCounts: the replacement's ignored-failure-count
      } else {
        // isIndexFailed: FailIndex fails the index at once; a counted failure fails it when the pod's
        // job-index-failure-count (the index's counted failures before it) has reached backoffLimitPerIndex.
        if (action === 'FailIndex' || failures.counted >= perIndexLimit) failedIndexes.add(entry.index);
        failures.counted++;
      }
    }
  };

  /** The pod is terminal: out of the live pods, its phase and end recorded, counted unless it was already. */
  const settle = (entry: PodEntry, phase: 'Succeeded' | 'Failed', exitCode: number | undefined): void => {
    live.delete(entry);
    clearTimeout(entry.restartTimer);
    const now = Date.now();
    entry.record.finishedAt = now;
    // A pod the controller deleted at the Job's end keeps the harness's 'Deleted'; an evicted one its kubelet phase.
    entry.record.phase = entry.deletedBy === 'controller' ? 'Deleted' : phase;
    if (!entry.counted && phase === 'Succeeded') {
      entry.counted = true;
      if (entry.index === undefined) succeededPods++;
      else succeededIndexes.add(entry.index);
      failuresSinceSuccess = 0; // newBackoffRecord: a success resets the Job's backoff
    } else if (!entry.counted) {
      countFailure(entry, exitCode, now);
    }
    if (entry.deletedBy !== 'controller') options.onPodExited?.(entry.record);
  };

  /** A pod whose container has ended and waits for its OnFailure restart: a delete or an eviction ends it at once, Failed. */
  const settleIfWaitingRestart = (entry: PodEntry): boolean => {
    if (!entry.waitingRestart) return false;
    settle(entry, 'Failed', entry.record.exitCodes.at(-1));
    return true;
  };

  const onExit = (entry: PodEntry, code: number): void => {
    if (!live.has(entry)) return;
    // A lost node's kubelet reports nothing: the pod keeps its last status until the pod garbage collector.
    if (entry.nodeLost) return;
    entry.record.exitCodes.push(code);
    // evictPod: the kubelet sets a pod it evicted Failed, whatever the container's exit code.
    if (entry.evictedByKubelet) return settle(entry, 'Failed', code);
    if (code === 0) return settle(entry, 'Succeeded', code);
    if (restartPolicy === 'OnFailure' && entry.deletedBy === undefined) {
      // The kubelet restarts the container in place after its CrashLoopBackOff delay; the pod stays
      // Running, so status.failed does not grow (the restarts count in pastBackoffLimitOnFailure).
      const delay = Math.min(backoffBase * 2 ** entry.restarts, MAX_RESTART_BACKOFF_MS);
      entry.waitingRestart = true;
      entry.restartTimer = setTimeout(() => {
        entry.pod.restart().then(
          () => {
            entry.waitingRestart = false;
            entry.restarts++;
            watch(entry);
            events.push({ kind: 'restarted' });
          },
          (error: Error) => events.push({ kind: 'error', error }),
        );
      }, delay);
      return;
    }
    settle(entry, 'Failed', code);
  };

  const disrupt = (entry: PodEntry, disruption: Disruption): void => {
    if (!live.has(entry)) return;
    const now = Date.now();
    (entry.record.conditions ??= []).push({ type: 'DisruptionTarget', status: 'True', reason: disruption.reason, at: now });
    const stop = (gracePeriodSeconds?: number) => void entry.pod.stop(gracePeriodSeconds).catch((error: Error) => events.push({ kind: 'error', error }));
    if (disruption.reason !== 'DeletionByPodGC' && settleIfWaitingRestart(entry)) return;
    if (disruption.reason === 'EvictionByEvictionAPI') {
      entry.deletedBy = 'eviction';
      entry.record.deletedAt = now;
      stop(disruption.gracePeriodSeconds);
      // isPodFailed: without onlyReplaceFailedPods a deleted pod that has not succeeded counts as failed
      // at once, from its deletion (getFinishTimeFromDeletionTimestamp); its end counts nothing more.
      if (!onlyReplaceFailed) countFailure(entry, undefined, now);
    } else if (disruption.reason === 'TerminationByKubelet') {
      entry.evictedByKubelet = true;
      stop(disruption.gracePeriodSeconds);
    } else {
      entry.nodeLost = true;
      void entry.pod.kill().catch(() => undefined); // the node and its containers are gone
      setTimeout(() => events.push({ kind: 'garbage-collected', pod: entry }), disruption.podGcAfterMs ?? 0);
    }
  };

  /** Deletes the active pods with their grace period (pod.stop()) and waits until every live pod has terminated. */
  const deletePodsAndWait = async (): Promise<void> => {
    for (const entry of active()) {
      entry.deletedBy = 'controller';
      entry.record.deletedAt = Date.now();
      if (settleIfWaitingRestart(entry)) continue;
      if (!entry.nodeLost) void entry.pod.stop().catch((error: Error) => events.push({ kind: 'error', error }));
    }
    reportStatus();
    while (live.size > 0) {
      const event = await events.next(Infinity);
      if (event !== undefined) handle(event);
      reportStatus();
    }
  };

  const result = async (condition: JobRun['condition'], reason?: JobReason): Promise<JobRun> => {
    const finishedAt = conditions.at(-1)?.at;
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
      ...(condition === 'Deleted' ? {} : { finishedAt }),
    };
  };

  /**
   * The Job docs' "Termination of Job pods" (since 1.31): the interim condition first; the remaining
   * pods deleted, and when the Job fails each not yet counted (active or terminating) counted as
   * failed at once unless the podFailurePolicy ignores it (trackJobStatusAndRemoveFinalizers: "every
   * non-terminated pod is considered failed", not after SuccessCriteriaMet); Failed or Complete, with
   * the same reason, only once none is terminating (enactJobFinished).
   */
  const finish = async (target: Target): Promise<JobRun> => {
    const now = Date.now();
    conditions.push({ ...target, at: now });
    for (const entry of live) {
      if (entry.counted) continue;
      entry.counted = true;
      if (target.type === 'FailureTarget' && failurePolicyAction(rules, containerName, undefined, entry.record.conditions) !== 'Ignore') failed++;
    }
    await deletePodsAndWait();
    const final = target.type === 'FailureTarget' ? 'Failed' : 'Complete';
    conditions.push({ type: final, reason: target.reason, at: Date.now() });
    return result(final, target.reason);
  };

  let deleted = options.signal?.aborted ?? false;
  options.signal?.addEventListener('abort', () => events.push({ kind: 'deleted' }));

  function handle(event: Event): void {
    if (event.kind === 'error') throw event.error;
    if (event.kind === 'deleted') deleted = true;
    if (event.kind === 'exit') onExit(event.pod, event.code);
    if (event.kind === 'disrupted') disrupt(event.pod, event.disruption);
    // markFailedAndDeletePodWithCondition: Failed, with no terminated container to match onExitCodes.
    if (event.kind === 'garbage-collected' && live.has(event.pod)) settle(event.pod, 'Failed', undefined);
  }

  try {
    for (;;) {
      if (deleted) {
        for (const entry of live) entry.counted = true; // a deleted Job's status is not updated any more
        await deletePodsAndWait();
        return await result('Deleted');
      }
      const target = terminalCondition();
      if (target) return await finish(target);

      const plan = podsToCreate();
      if (plan.create.length > 0) {
        await startPods(plan.create);
        reportStatus();
        continue;
      }
      reportStatus();
      const event = await events.next(Math.min(deadline, plan.wakeAt) - Date.now());
      if (event === undefined) continue;
      // One sync sees every pod change that has arrived by then.
      handle(event);
      for (const next of events.takeAll()) handle(next);
    }
  } catch (error) {
    await Promise.all([...live].map((entry) => entry.pod.stop().catch(() => undefined)));
    await collect(pods, records).catch(() => undefined);
    throw error;
  } finally {
    unsubscribe?.();
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
  // validatePodReplacementPolicy: with a podFailurePolicy only Failed.
  if (spec.podFailurePolicy && spec.podReplacementPolicy === 'TerminatingOrFailed') fail('podReplacementPolicy must be Failed when podFailurePolicy is set');
}

/**
 * The action of the first rule matching a failed pod (matchPodFailurePolicy, pod_failure_policy.go
 * at 2b02db1b): an `onExitCodes` rule matches the container's non-zero exit code (matchOnExitCodes;
 * a pod whose node was lost has none), an `onPodConditions` rule a condition of the pod with that
 * type and status (matchOnPodConditions; status defaults to True, SetDefaults_Job); Count when none does.
 */
export function failurePolicyAction(
  rules: IPodFailurePolicyRule[],
  containerName: string,
  exitCode: number | undefined,
  podConditions: readonly PodCondition[] = [],
): FailureAction {
  for (const rule of rules) {
    const { onExitCodes, onPodConditions } = rule;
    if (onExitCodes) {
      if (exitCode === undefined || exitCode === 0) continue;
      if (onExitCodes.containerName !== undefined && onExitCodes.containerName !== containerName) continue;
      const listed = onExitCodes.values.includes(exitCode);
      if (onExitCodes.operator === 'In' ? listed : !listed) return rule.action;
    } else if (onPodConditions) {
      const matched = podConditions.some((condition) =>
        onPodConditions.some((pattern) => pattern.type === condition.type && (pattern.status ?? 'True') === condition.status),
      );
      if (matched) return rule.action;
    }
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
