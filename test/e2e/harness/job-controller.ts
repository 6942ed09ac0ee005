/**
 * What the Job controller and the kubelet do with a Job's pods, as far as a non-indexed Job goes:
 * `parallelism`, `completions` (or the work-queue rule when unset), `backoffLimit` with the
 * exponential delay before replacing failed pods, `restartPolicy` (Never: a failed pod is replaced;
 * OnFailure: its container is restarted in place and each restart counts as a failure),
 * `podFailurePolicy` on exit codes, and `activeDeadlineSeconds`.
 */
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IPodFailurePolicyRule } from 'kubernetes-models/batch/v1/PodFailurePolicyRule';
import { EventQueue } from './event-queue';
import { Pod } from './pod';

export interface PodRecord {
  readonly name: string;
  /** Deleted: still running when the Job ended, so the controller deleted it. */
  phase: 'Running' | 'Succeeded' | 'Failed' | 'Deleted';
  /** Exit code of every run of the container, restarts included. */
  readonly exitCodes: number[];
  logs: string;
  /** When the pod started and when it ended (ms since the epoch; 0 while it runs). */
  readonly startedAt: number;
  finishedAt: number;
}

export interface JobRun {
  /** Deleted: the Job was deleted (`signal`) before it finished; its pods were deleted with it. */
  readonly condition: 'Complete' | 'Failed' | 'Deleted';
  readonly reason?: 'BackoffLimitExceeded' | 'DeadlineExceeded' | 'PodFailurePolicy';
  readonly succeeded: number;
  readonly failed: number;
  readonly pods: PodRecord[];
  readonly seconds: number;
}

export interface JobControllerOptions {
  /** Creates and starts a pod of the Job's template under the given name. */
  startPod(name: string): Promise<Pod>;
  /** Called with every pod once started (the fault scenario picks its victim here). */
  onPodStarted?(pod: Pod): void;
  /** Called with a pod's record once its phase is Succeeded or Failed. */
  onPodExited?(pod: PodRecord): void;
  /** Called once the Job has its Complete or Failed condition, before its pods are deleted and their logs collected. */
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

const MAX_POD_BACKOFF_MS = 10 * 60_000; // the Job controller's cap
const MAX_RESTART_BACKOFF_MS = 5 * 60_000; // the kubelet's CrashLoopBackOff cap
const NAME_SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789'; // what Kubernetes' generateName uses

type Event = { kind: 'exit'; pod: ActivePod; code: number } | { kind: 'error'; error: Error } | { kind: 'deleted' };

interface ActivePod {
  readonly pod: Pod;
  readonly record: PodRecord;
  restarts: number;
  restartTimer?: NodeJS.Timeout;
}

export async function runJob(job: IJob, options: JobControllerOptions): Promise<JobRun> {
  const name = job.metadata?.name ?? 'job';
  const spec = job.spec;
  if (!spec) throw new Error(`Job ${name} has no spec`);
  if (spec.completionMode === 'Indexed' || spec.suspend || spec.successPolicy || spec.backoffLimitPerIndex !== undefined) {
    throw new Error(`Job ${name}: indexed, suspended and success-policy Jobs are not supported by the e2e harness`);
  }
  // The API server's defaults: with neither set both are 1; with parallelism only, completions stays unset.
  const completions = spec.completions ?? (spec.parallelism === undefined ? 1 : undefined);
  const parallelism = spec.parallelism ?? 1;
  const backoffLimit = spec.backoffLimit ?? 6;
  const restartPolicy = spec.template.spec?.restartPolicy;
  if (restartPolicy !== 'Never' && restartPolicy !== 'OnFailure') {
    throw new Error(`Job ${name}: restartPolicy must be Never or OnFailure, got ${JSON.stringify(restartPolicy)}`);
  }
  const backoffBase = options.backoffBaseMs ?? 10_000;
  const started = Date.now();
  const deadline = spec.activeDeadlineSeconds === undefined ? Infinity : started + spec.activeDeadlineSeconds * 1000;

  const events = new EventQueue<Event>();
  const active = new Set<ActivePod>();
  const records: PodRecord[] = [];
  const pods: Pod[] = [];
  let succeeded = 0;
  let failed = 0;
  let failuresSinceSuccess = 0;
  let lastFailureAt = 0;
  let failedByPolicy = false;

  // Not awaited: the pod's end, either way, goes into the event queue, which the loop reads.
  const watch = (entry: ActivePod): void =>
    void entry.pod.wait().then(
      (code) => events.push({ kind: 'exit', pod: entry, code }),
      (error: Error) => events.push({ kind: 'error', error }),
    );

  const finish = async (condition: JobRun['condition'], reason?: JobRun['reason']): Promise<JobRun> => {
    options.onFinished?.(condition);
    for (const entry of active) {
      clearTimeout(entry.restartTimer);
      entry.record.phase = 'Deleted';
      entry.record.finishedAt = Date.now();
    }
    await Promise.all([...active].map((entry) => entry.pod.stop()));
    await collect(pods, records);
    return { condition, reason, succeeded, failed, pods: records, seconds: (Date.now() - started) / 1000 };
  };

  let deleted = options.signal?.aborted ?? false;
  options.signal?.addEventListener('abort', () => events.push({ kind: 'deleted' }));

  try {
    for (;;) {
      if (deleted) return await finish('Deleted');
      if (failedByPolicy) return await finish('Failed', 'PodFailurePolicy');
      if (failed > backoffLimit) return await finish('Failed', 'BackoffLimitExceeded');
      const complete = completions === undefined ? succeeded > 0 && active.size === 0 : succeeded >= completions;
      if (complete) return await finish('Complete');
      if (Date.now() >= deadline) return await finish('Failed', 'DeadlineExceeded');

      // Work queue: once a pod succeeded, no new pods; fixed count: as many as completions still need.
      const wanted = completions === undefined ? (succeeded > 0 ? 0 : parallelism) : Math.min(parallelism, completions - succeeded);
      const readyAt = failuresSinceSuccess > 0 ? lastFailureAt + Math.min(backoffBase * 2 ** (failuresSinceSuccess - 1), MAX_POD_BACKOFF_MS) : 0;
      if (active.size < wanted && Date.now() >= readyAt) {
        const names = Array.from({ length: wanted - active.size }, () => generatedName(name));
        for (const pod of await Promise.all(names.map((podName) => options.startPod(podName)))) {
          const record: PodRecord = { name: pod.name, phase: 'Running', exitCodes: [], logs: '', startedAt: Date.now(), finishedAt: 0 };
          const entry: ActivePod = { pod, record, restarts: 0 };
          pods.push(pod);
          records.push(record);
          active.add(entry);
          watch(entry);
          options.onPodStarted?.(pod);
        }
        continue;
      }

      const wakeAt = Math.min(deadline, active.size < wanted ? readyAt : Infinity);
      const event = await events.next(wakeAt - Date.now());
      if (event === undefined) continue;
      if (event.kind === 'error') throw event.error;
      if (event.kind === 'deleted') {
        deleted = true;
        continue;
      }

      const { pod: entry, code } = event;
      entry.record.exitCodes.push(code);
      entry.record.finishedAt = Date.now();
      if (code === 0) {
        entry.record.phase = 'Succeeded';
        active.delete(entry);
        succeeded++;
        failuresSinceSuccess = 0;
        options.onPodExited?.(entry.record);
      } else if (restartPolicy === 'OnFailure') {
        failed++; // each restart counts against backoffLimit
        const delay = Math.min(backoffBase * 2 ** entry.restarts, MAX_RESTART_BACKOFF_MS);
        entry.restarts++;
        entry.restartTimer = setTimeout(() => {
          entry.pod.restart().then(
            () => watch(entry),
            (error: Error) => events.push({ kind: 'error', error }),
          );
        }, delay);
      } else {
        entry.record.phase = 'Failed';
        active.delete(entry);
        options.onPodExited?.(entry.record);
        const action = failurePolicyAction(spec.podFailurePolicy?.rules ?? [], spec.template.spec!.containers[0].name, code);
        if (action === 'FailJob') failedByPolicy = true;
        if (action === 'Count') {
          failed++;
          failuresSinceSuccess++;
          lastFailureAt = Date.now();
        }
      }
    }
  } catch (error) {
    await Promise.all([...active].map((entry) => entry.pod.stop().catch(() => undefined)));
    await collect(pods, records).catch(() => undefined);
    throw error;
  }
}

/**
 * The action of the first rule matching a failed pod's exit code. Rules on pod conditions never
 * match here: Docker knows no evictions or preemptions (DisruptionTarget).
 */
export function failurePolicyAction(rules: IPodFailurePolicyRule[], containerName: string, exitCode: number): 'FailJob' | 'Ignore' | 'Count' {
  for (const rule of rules) {
    const onExitCodes = rule.onExitCodes;
    if (!onExitCodes) continue;
    if (onExitCodes.containerName !== undefined && onExitCodes.containerName !== containerName) continue;
    const listed = onExitCodes.values.includes(exitCode);
    if (onExitCodes.operator === 'In' ? listed : !listed) {
      if (rule.action === 'FailJob' || rule.action === 'Ignore' || rule.action === 'Count') return rule.action;
      throw new Error(`podFailurePolicy action ${rule.action} is not supported by the e2e harness`);
    }
  }
  return 'Count';
}

/** `<base>-<5 characters>`, as Kubernetes' generateName names a Job's pods (and KEDA a ScaledJob's Jobs). */
export function generatedName(base: string): string {
  let suffix = '';
  for (let i = 0; i < 5; i++) suffix += NAME_SUFFIX_ALPHABET[Math.floor(Math.random() * NAME_SUFFIX_ALPHABET.length)];
  return `${base}-${suffix}`;
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
