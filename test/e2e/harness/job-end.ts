/**
 * How a Job ends: the Job docs' "Termination of Job pods" (since 1.31) once a condition ends it,
 * or its deletion (`kubectl delete job`); the pods' logs collected and their containers removed.
 */
import type { EventQueue } from './event-queue';
import { formatIndexes } from './job-indexes';
import type { JobPods } from './job-pods';
import type { JobControllerOptions, JobReason, JobRun, PodRecord } from './job-run';
import type { JobSettings } from './job-spec';
import type { JobEndTarget, JobEvent, JobState } from './job-state';
import type { Pod } from './pod';
import { failurePolicyAction } from './pod-failure-policy';

export class JobEnd {
  constructor(
    private readonly settings: JobSettings,
    private readonly state: JobState,
    private readonly events: EventQueue<JobEvent>,
    private readonly pods: JobPods,
    private readonly options: JobControllerOptions,
    private readonly startedAt: number,
  ) {}

  /**
   * The Job docs' "Termination of Job pods" (since 1.31): the interim condition first; the remaining
   * pods deleted, and when the Job fails each not yet counted (active or terminating) counted as
   * failed at once unless the podFailurePolicy ignores it (trackJobStatusAndRemoveFinalizers: "every
   * non-terminated pod is considered failed", not after SuccessCriteriaMet); Failed or Complete, with
   * the same reason, only once none is terminating (enactJobFinished).
   */
  async finish(target: JobEndTarget): Promise<JobRun> {
    const { state } = this;
    const now = Date.now();
    state.conditions.push({ ...target, at: now });
    for (const entry of state.live) {
      if (entry.counted) continue;
      entry.counted = true;
      if (
        target.type === 'FailureTarget' &&
        failurePolicyAction(this.settings.rules, this.settings.containerName, undefined, entry.record.conditions) !==
          'Ignore'
      )
        state.failed++;
    }
    await this.deletePodsAndWait();
    const final = target.type === 'FailureTarget' ? 'Failed' : 'Complete';
    state.conditions.push({ type: final, reason: target.reason, at: Date.now() });
    return this.result(final, target.reason);
  }

  /** The Job was deleted: its pods deleted with it. */
  async delete(): Promise<JobRun> {
    for (const entry of this.state.live) entry.counted = true; // a deleted Job's status is not updated any more
    await this.deletePodsAndWait();
    return this.result('Deleted');
  }

  /** The controller failed: every pod stopped and removed, no result. */
  async abort(): Promise<void> {
    await Promise.all([...this.state.live].map((entry) => entry.pod.stop().catch(() => undefined)));
    await collect(this.state.pods, this.state.records).catch(() => undefined);
  }

  /** Deletes the active pods with their grace period (pod.stop()) and waits until every live pod has terminated. */
  private async deletePodsAndWait(): Promise<void> {
    this.pods.deleteActive();
    this.state.reportStatus();
    while (this.state.live.size > 0) {
      const event = await this.events.next(Infinity);
      if (event !== undefined) this.pods.handle(event);
      this.state.reportStatus();
    }
  }

  private async result(condition: JobRun['condition'], reason?: JobReason): Promise<JobRun> {
    const { state } = this;
    const { indexed, perIndexLimit } = this.settings;
    const finishedAt = state.conditions.at(-1)?.at;
    this.options.onFinished?.(condition);
    await collect(state.pods, state.records);
    return {
      condition,
      reason,
      succeeded: state.succeeded(),
      failed: state.failed,
      ...(indexed ? { completedIndexes: formatIndexes(state.succeededIndexes) } : {}),
      ...(indexed && perIndexLimit !== undefined ? { failedIndexes: formatIndexes(state.failedIndexes) } : {}),
      conditions: state.conditions,
      pods: state.records,
      seconds: (Date.now() - this.startedAt) / 1000,
      ...(condition === 'Deleted' ? {} : { finishedAt }),
    };
  }
}

/** Each pod's logs into its record, then its container removed. */
async function collect(pods: Pod[], records: PodRecord[]): Promise<void> {
  await Promise.all(
    pods.map(async (pod, index) => {
      records[index].logs = await pod.logs();
      await pod.remove();
    }),
  );
}
