/** What runJob (job-controller.ts) takes and what it reports: the pods' records, the Job's conditions and status counters. */
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { Pod } from './pod';
import type { PodCondition, PodDisruptions } from './pod-disruption';
import type { TerminatedState } from './termination-message';

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
  /**
   * `status.containerStatuses[0].state.terminated` after the container's last run: its exit code,
   * reason and termination message (termination-message.ts). Unset while it runs, and for a pod whose node was lost.
   */
  terminated?: TerminatedState;
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
  | 'BackoffLimitExceeded'
  | 'DeadlineExceeded'
  | 'PodFailurePolicy'
  | 'MaxFailedIndexesExceeded'
  | 'FailedIndexes'
  | 'SuccessPolicy'
  | 'CompletionsReached';

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
