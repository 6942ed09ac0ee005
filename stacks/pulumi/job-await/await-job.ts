import { ClusterReader, isClusterError } from './cluster-reader';
import { failureReport } from './failure-report';
import { describeJob, failure, hasUnreadyPods, isComplete, Job, JobTarget, Pod, podsOf, progressOf } from './job-objects';

export interface AwaitJobOptions {
  /** Seconds from the start until the await gives up on a Job that has neither completed nor failed. */
  readonly timeoutSeconds: number;
  /** Seconds between two reads of the Job. */
  readonly intervalSeconds: number;
  /** Receives a line whenever the Job's progress changes. */
  readonly report: (line: string) => void;
}

/** How long the API may fail to answer before the await gives up (or less, when the timeout comes first). */
const UNREACHABLE_SECONDS = 30;

/** The Job's state when it completed. */
export interface JobCompletion {
  readonly succeeded: number;
}

/**
 * Reads the Job every `intervalSeconds` until it completes (resolves) or fails, is deleted or
 * replaced, outlasts `timeoutSeconds`, or the API cannot be read (rejects with one message that
 * says which, naming the Job; for a failed Job also the reason and the failed pod's last log lines).
 */
export async function awaitJob(cluster: ClusterReader, target: JobTarget, options: AwaitJobOptions): Promise<JobCompletion> {
  const job = describeJob(target);
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  let failingSince: number | undefined;
  let lastProgress: string | undefined;

  for (;;) {
    let current: Job | undefined;
    try {
      current = await cluster.readJob(target.namespace, target.name);
      failingSince = undefined;
    } catch (error) {
      const reason = (error as Error).message;
      if (!(isClusterError(error) && error.transient)) throw new Error(`${job}: cannot be read from ${cluster.server}: ${reason}`);
      failingSince ??= Date.now();
      const failingSeconds = Math.round((Date.now() - failingSince) / 1000);
      if (Date.now() - failingSince >= UNREACHABLE_SECONDS * 1000 || Date.now() >= deadline) {
        throw new Error(`${job}: the Kubernetes API at ${cluster.server} has not answered for ${failingSeconds} s: ${reason}`);
      }
      await sleepSeconds(Math.min(options.intervalSeconds, secondsUntil(deadline)));
      continue;
    }

    if (current === undefined) throw new Error(`${job} was deleted while pulumi waited for it to complete`);
    if (current.metadata?.uid !== target.uid) {
      throw new Error(`${job} was replaced by another Job of the same name (uid ${current.metadata?.uid}, expected ${target.uid}) while pulumi waited for it`);
    }
    const failed = failure(current);
    if (failed) throw new Error(await failureReport(cluster, target, failed));
    if (isComplete(current)) return { succeeded: current.status?.succeeded ?? 0 };

    const progress = progressOf(current, hasUnreadyPods(current) ? await podsIfReadable(cluster, target) : []);
    if (progress !== lastProgress) options.report(`${job}: ${progress}`);
    lastProgress = progress;
    if (Date.now() >= deadline) {
      throw new Error(`${job} did not complete within ${options.timeoutSeconds} s (${progress}); it goes on running in the cluster`);
    }
    await sleepSeconds(Math.min(options.intervalSeconds, secondsUntil(deadline)));
  }
}

/** The Job's pods for the progress line; a failed read only leaves the waiting reasons out. */
async function podsIfReadable(cluster: ClusterReader, target: JobTarget): Promise<Pod[]> {
  try {
    return podsOf(await cluster.listPods(target.namespace, `job-name=${target.name}`), target);
  } catch {
    return [];
  }
}

function secondsUntil(deadline: number): number {
  return Math.max(0, (deadline - Date.now()) / 1000);
}

function sleepSeconds(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}
