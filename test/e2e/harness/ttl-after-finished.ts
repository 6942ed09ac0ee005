/**
 * The TTL-after-finished controller, as read in kubernetes/kubernetes
 * pkg/controller/ttlafterfinished/ttlafterfinished_controller.go (at 003e8629): a Job with
 * `ttlSecondsAfterFinished` that has finished (needsCleanup: a Complete or Failed condition) is
 * deleted `ttlSecondsAfterFinished` after that condition's lastTransitionTime (jobFinishTime,
 * processTTL), with propagationPolicy Foreground: the garbage collector deletes the Job's pods
 * first, then the Job object goes. The Job docs' "Clean up finished jobs automatically" (0 deletes
 * it at once once finished; unset keeps it).
 */
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { JobRun } from './job-controller';

/** How a Job object went away. */
export interface JobDeletion {
  /** When (ms since the epoch). */
  readonly at: number;
  /** TTLAfterFinished: the TTL-after-finished controller; kubectl: deleted on demand (JobHandle.delete, the cluster closed). */
  readonly by: 'TTLAfterFinished' | 'kubectl';
}

/** When the TTL-after-finished controller deletes the Job (ms since the epoch), or undefined when it never does. */
export function ttlExpiresAt(job: IJob, run: JobRun): number | undefined {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  if (ttl === undefined || run.finishedAt === undefined) return undefined;
  return run.finishedAt + ttl * 1000;
}
