import { firstPendingIndexes } from './job-indexes';
import type { JobSettings } from './job-spec';
import type { JobState } from './job-state';

/** The pods to create now (an index each for an Indexed Job, undefined otherwise), or when to look again. */
export interface PodCreationPlan {
  readonly create: (number | undefined)[];
  readonly wakeAt: number;
}

/** manageJob: the pods to create now, or when to look again. */
export function podsToCreate(settings: JobSettings, state: JobState): PodCreationPlan {
  const { indexed, perIndexLimit, completions, parallelism, onlyReplaceFailed } = settings;
  const { backoff, succeededIndexes, failedIndexes } = state;
  const activeCount = state.active().length;
  const succeeded = state.succeeded();
  const wanted =
    completions === undefined
      ? succeeded > 0
        ? activeCount
        : parallelism
      : Math.max(0, Math.min(parallelism, completions - succeeded));
  // `wantActive - terminating - active`: with onlyReplaceFailedPods a terminating pod holds its place
  // until it is Failed (Job docs, "Delayed creation of replacement pods"); with TerminatingOrFailed it does not.
  const diff = wanted - activeCount - (onlyReplaceFailed ? state.terminating().length : 0);
  if (diff <= 0) return { create: [], wakeAt: Infinity };
  const now = Date.now();
  // Without backoffLimitPerIndex, one delay for the whole Job.
  if (perIndexLimit === undefined && now < backoff.jobReadyAt()) return { create: [], wakeAt: backoff.jobReadyAt() };
  if (!indexed) return { create: new Array<undefined>(diff).fill(undefined), wakeAt: Infinity };
  // firstPendingIndexes: not succeeded, failed or held by an active pod, nor with onlyReplaceFailedPods by a terminating one.
  const held = new Set((onlyReplaceFailed ? [...state.live] : state.active()).map((entry) => entry.index));
  const pending = firstPendingIndexes(
    diff,
    completions!,
    (index) => succeededIndexes.has(index) || failedIndexes.has(index) || held.has(index),
  );
  if (perIndexLimit === undefined) return { create: pending, wakeAt: Infinity };
  // getPodCreationInfoForIndependentIndexes: of the first pending indexes, those whose own delay has
  // passed; when none has, the controller looks again when the first one's passes.
  const readyAt = pending.map((index) => backoff.indexReadyAt(index));
  const ready = pending.filter((_, i) => readyAt[i] <= now);
  return ready.length > 0 ? { create: ready, wakeAt: Infinity } : { create: [], wakeAt: Math.min(...readyAt) };
}
