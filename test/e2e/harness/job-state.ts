/**
 * What the Job controller knows of a Job while it runs: its pods not terminal yet, and its status
 * as trackJobStatusAndRemoveFinalizers counts it (job_controller.go at 6ae037f1): succeeded pods or
 * indexes, failed pods, failed indexes, the backoff record.
 */
import { ReplacementBackoff } from './pod-backoff';
import { failurePolicyAction } from './pod-failure-policy';
import type { Pod } from './pod';
import type { Disruption } from './pod-disruption';
import type { JobSettings } from './job-spec';
import type { JobCondition, JobReason, JobStatus, PodRecord } from './job-run';
import type { TerminatedState } from './termination-message';
import type { WallClockTimer } from './wall-clock-timer';

/** A pod of the Job that is not terminal yet: active, or terminating once deleted. */
export interface PodEntry {
  readonly pod: Pod;
  readonly record: PodRecord;
  readonly index?: number;
  /** Container restarts (OnFailure): the pod's restartCount. */
  restarts: number;
  restartTimer?: WallClockTimer;
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

/** What the controller's sync loop reacts to. */
export type JobEvent =
  | { kind: 'exit'; pod: PodEntry; code: number; terminated: TerminatedState }
  | { kind: 'disrupted'; pod: PodEntry; disruption: Disruption }
  | { kind: 'garbage-collected'; pod: PodEntry }
  | { kind: 'restarted' }
  | { kind: 'error'; error: Error }
  | { kind: 'deleted' };

/** The interim condition that ends the Job. */
export type JobEndTarget = { type: 'FailureTarget' | 'SuccessCriteriaMet'; reason: JobReason };

export class JobState {
  /** Pods not terminal yet: active ones, and terminating ones (deletedBy set). */
  readonly live = new Set<PodEntry>();
  readonly records: PodRecord[] = [];
  readonly pods: Pod[] = [];
  readonly conditions: JobCondition[] = [];
  readonly succeededIndexes = new Set<number>();
  readonly failedIndexes = new Set<number>();
  readonly backoff: ReplacementBackoff;
  /** status.failed. */
  failed = 0;
  failJobMatched = false;
  /** The Job was deleted (`signal`). */
  deleted = false;
  private succeededPods = 0;
  private lastStatus = '';

  constructor(
    private readonly settings: JobSettings,
    backoffBaseMs: number,
    private readonly onStatus?: (status: JobStatus) => void,
  ) {
    this.backoff = new ReplacementBackoff(backoffBaseMs);
  }

  /** An Indexed Job's succeeded count is its number of succeeded indexes (calculateSucceededIndexes). */
  succeeded(): number {
    return this.settings.indexed ? this.succeededIndexes.size : this.succeededPods;
  }

  /** FilterActivePods: a pod with a deletionTimestamp is not active; CountTerminatingPods counts it instead. */
  active(): PodEntry[] {
    return [...this.live].filter((entry) => entry.deletedBy === undefined);
  }

  terminating(): PodEntry[] {
    return [...this.live].filter((entry) => entry.deletedBy !== undefined);
  }

  /** Calls onStatus when the counters have changed since the last report. */
  reportStatus(): void {
    const status = {
      active: this.active().length,
      terminating: this.terminating().length,
      succeeded: this.succeeded(),
      failed: this.failed,
    };
    const text = JSON.stringify(status);
    if (text === this.lastStatus) return;
    this.lastStatus = text;
    this.onStatus?.({ at: Date.now(), ...status });
  }

  /** A pod became Succeeded. */
  countSuccess(entry: PodEntry): void {
    entry.counted = true;
    if (entry.index === undefined) this.succeededPods++;
    else this.succeededIndexes.add(entry.index);
    this.backoff.succeeded(); // newBackoffRecord: a success resets the Job's backoff
  }

  /** A pod became Failed (or, with TerminatingOrFailed, was deleted): count it as trackJobStatusAndRemoveFinalizers does. */
  countFailure(entry: PodEntry, exitCode: number | undefined, at: number): void {
    const { rules, containerName, perIndexLimit } = this.settings;
    entry.counted = true;
    const action = failurePolicyAction(rules, containerName, exitCode, entry.record.conditions);
    // newBackoffRecord counts every new failed pod, whichever rule it matched, Ignore included (kubernetes#119434;
    // kubernetes#130881 asks for evictions not to, still open), from its finish time (getFinishedTime).
    this.backoff.failed(at);
    // matchPodFailurePolicy: Ignore does not count towards backoffLimit (nonIgnoredFailedPodsCount); FailJob, FailIndex and Count do.
    if (action !== 'Ignore') this.failed++;
    if (action === 'FailJob') this.failJobMatched = true;
    if (entry.index !== undefined && perIndexLimit !== undefined) {
      const countedBefore = this.backoff.indexFailed(entry.index, at, action === 'Ignore');
      // isIndexFailed: FailIndex fails the index at once; a counted failure fails it when the pod's
      // job-index-failure-count (the index's counted failures before it) has reached backoffLimitPerIndex.
      if (action !== 'Ignore' && (action === 'FailIndex' || countedBefore >= perIndexLimit))
        this.failedIndexes.add(entry.index);
    }
  }
}
