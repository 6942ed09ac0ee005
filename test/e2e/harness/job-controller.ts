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
 *
 * runJob is the controller's sync loop; its parts: job-spec.ts (the spec with the API's defaults,
 * what validation refuses), job-state.ts (the Job's pods and status counts), job-end-condition.ts
 * (the condition that ends it), job-pod-creation.ts (manageJob: which pods to create, when),
 * pod-backoff.ts (the delays before a replacement or a restart), pod-failure-policy.ts, job-pods.ts
 * (the pods' starts, exits and disruptions), job-end.ts (the end of the Job), pod-names.ts.
 */
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import { EventQueue } from './event-queue';
import { JobEnd } from './job-end';
import { terminalCondition } from './job-end-condition';
import { podsToCreate } from './job-pod-creation';
import { JobPods } from './job-pods';
import type { JobControllerOptions, JobRun } from './job-run';
import { jobSettings } from './job-spec';
import { type JobEvent, JobState } from './job-state';

export type {
  JobCondition,
  JobControllerOptions,
  JobObserver,
  JobReason,
  JobRun,
  JobStatus,
  PodRecord,
} from './job-run';
export { failurePolicyAction } from './pod-failure-policy';
export { generatedName, indexedPodName } from './pod-names';
export { maxConcurrent } from './max-concurrent';

export async function runJob(job: IJob, options: JobControllerOptions): Promise<JobRun> {
  const settings = jobSettings(job);
  const { spec } = settings;
  const backoffBase = options.backoffBaseMs ?? 10_000;
  const started = Date.now();
  const deadline = spec.activeDeadlineSeconds === undefined ? Infinity : started + spec.activeDeadlineSeconds * 1000;

  const events = new EventQueue<JobEvent>();
  const state = new JobState(settings, backoffBase, (status) => options.onStatus?.(status));
  const pods = new JobPods(settings, state, events, options, backoffBase);
  const end = new JobEnd(settings, state, events, pods, options, started);

  const unsubscribe = options.disruptions?.subscribe(pods.onDisruption);
  state.deleted = options.signal?.aborted ?? false;
  options.signal?.addEventListener('abort', () => events.push({ kind: 'deleted' }));

  try {
    for (;;) {
      if (state.deleted) return await end.delete();
      const target = terminalCondition(settings, state, deadline);
      if (target) return await end.finish(target);

      const plan = podsToCreate(settings, state);
      if (plan.create.length > 0) {
        await pods.start(plan.create);
        state.reportStatus();
        continue;
      }
      state.reportStatus();
      const event = await events.next(Math.min(deadline, plan.wakeAt) - Date.now());
      if (event === undefined) continue;
      // One sync sees every pod change that has arrived by then.
      pods.handle(event);
      for (const next of events.takeAll()) pods.handle(next);
    }
  } catch (error) {
    await end.abort();
    throw error;
  } finally {
    unsubscribe?.();
  }
}
