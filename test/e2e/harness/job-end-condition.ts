import { matchSuccessPolicy } from './job-indexes';
import type { JobSettings } from './job-spec';
import type { JobEndTarget, JobState } from './job-state';

/** syncJob's checks, in its order, for the condition that ends the Job; undefined while it goes on. */
export function terminalCondition(settings: JobSettings, state: JobState, deadline: number): JobEndTarget | undefined {
  const { spec, indexed, perIndexLimit, completions, backoffLimit, restartPolicy } = settings;
  const { failedIndexes, succeededIndexes } = state;
  // getFailJobMessage: a failed pod matched a FailJob rule (Job docs, "Pod failure policy").
  if (state.failJobMatched) return { type: 'FailureTarget', reason: 'PodFailurePolicy' };
  // exceedsBackoffLimit (status.failed > backoffLimit), or for OnFailure pastBackoffLimitOnFailure:
  // the restarts of the pods still Running reach backoffLimit (any restart when it is 0).
  const restarts = [...state.live].reduce((sum, entry) => sum + entry.restarts, 0);
  const pastOnFailure = restartPolicy === 'OnFailure' && (backoffLimit === 0 ? restarts > 0 : restarts >= backoffLimit);
  if (state.failed > backoffLimit || pastOnFailure) return { type: 'FailureTarget', reason: 'BackoffLimitExceeded' };
  // pastActiveDeadline.
  if (Date.now() >= deadline) return { type: 'FailureTarget', reason: 'DeadlineExceeded' };
  if (indexed && perIndexLimit !== undefined) {
    // syncJob with hasBackoffLimitPerIndex (Job docs, "Backoff limit per index"): more failed indexes than
    // maxFailedIndexes end the Job at once; otherwise it fails once every index has succeeded or failed.
    if (spec.maxFailedIndexes !== undefined && failedIndexes.size > spec.maxFailedIndexes)
      return { type: 'FailureTarget', reason: 'MaxFailedIndexesExceeded' };
    if (failedIndexes.size > 0 && failedIndexes.size + succeededIndexes.size >= completions!)
      return { type: 'FailureTarget', reason: 'FailedIndexes' };
  }
  // matchSuccessPolicy (Job docs, "Success policy").
  if (indexed && matchSuccessPolicy(spec.successPolicy, completions!, succeededIndexes))
    return { type: 'SuccessCriteriaMet', reason: 'SuccessPolicy' };
  // syncJob's `complete`: completions reached with no pod active, or without completions (work queue) a
  // success and no pod active; terminating pods are not active. newSuccessCondition gives SuccessCriteriaMet first since 1.31.
  const succeeded = state.succeeded();
  const complete =
    (completions === undefined ? succeeded > 0 : succeeded >= completions) && state.active().length === 0;
  if (complete) return { type: 'SuccessCriteriaMet', reason: 'CompletionsReached' };
  return undefined;
}
