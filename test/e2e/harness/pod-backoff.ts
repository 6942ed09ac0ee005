/**
 * The delays before a failed pod of a Job is replaced (the Job controller's backoff record,
 * backoff_utils.go at 21da0b6d: newBackoffRecord, getRemainingTime, getRemainingTimePerIndex) or
 * its container restarted in place (the kubelet's CrashLoopBackOff); the Job docs' "Pod backoff
 * failure policy" and "Backoff limit per index".
 */

/** MaxJobPodFailureBackOff: the controller's cap on the delay before a replacement pod. */
const MAX_POD_BACKOFF_MS = 10 * 60_000;
const MAX_RESTART_BACKOFF_MS = 5 * 60_000; // the kubelet's CrashLoopBackOff cap

/** An index's failures, as its pods' batch.kubernetes.io/job-index-failure-count and -ignored-failure-count annotations carry them. */
interface IndexFailures {
  counted: number;
  ignored: number;
  lastFailureAt: number;
}

/** The delay before the kubelet restarts a container that failed after `restarts` restarts (OnFailure). */
export function restartBackoffMs(baseMs: number, restarts: number): number {
  return Math.min(baseMs * 2 ** restarts, MAX_RESTART_BACKOFF_MS);
}

/** getRemainingTimeForFailuresCount: the base delay doubled for each failure after the first, capped at MaxJobPodFailureBackOff. */
function podBackoffMs(baseMs: number, failures: number): number {
  return Math.min(baseMs * 2 ** (failures - 1), MAX_POD_BACKOFF_MS);
}

/** A Job's backoff record, and with backoffLimitPerIndex each index's. */
export class ReplacementBackoff {
  private failuresSinceSuccess = 0;
  private lastFailureAt = 0;
  private readonly indexFailures = new Map<number, IndexFailures>();

  /** @param baseMs the first delay; it doubles with each further failure. */
  constructor(private readonly baseMs: number) {}

  /** newBackoffRecord: a success resets the Job's backoff. */
  succeeded(): void {
    this.failuresSinceSuccess = 0;
  }

  /** A new failed pod of the Job, that finished at `at`. */
  failed(at: number): void {
    this.failuresSinceSuccess++;
    this.lastFailureAt = at;
  }

  /** A new failed pod of the index, `ignored` by the podFailurePolicy or counted; returns the index's counted failures before it. */
  indexFailed(index: number, at: number, ignored: boolean): number {
    const failures = this.indexFailures.get(index) ?? { counted: 0, ignored: 0, lastFailureAt: 0 };
    this.indexFailures.set(index, failures);
    failures.lastFailureAt = at;
    const countedBefore = failures.counted;
    if (ignored)
      failures.ignored++; // getNewIndexFailureCounts: the replacement's ignored-failure-count
    else failures.counted++;
    return countedBefore;
  }

  /** When the backoff record (backoff_utils.go, newBackoffRecord/getRemainingTime) lets a replacement be created. */
  jobReadyAt(): number {
    return this.failuresSinceSuccess > 0
      ? this.lastFailureAt + podBackoffMs(this.baseMs, this.failuresSinceSuccess)
      : 0;
  }

  /** getRemainingTimePerIndex: the index's own delay, from all its failures so far, counted and ignored. */
  indexReadyAt(index: number): number {
    const failures = this.indexFailures.get(index);
    return failures ? failures.lastFailureAt + podBackoffMs(this.baseMs, failures.counted + failures.ignored) : 0;
  }
}
