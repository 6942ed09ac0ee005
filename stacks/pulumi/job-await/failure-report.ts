import { ClusterReader } from './cluster-reader';
import { describeJob, failedContainer, JobCondition, JobTarget, podsOf } from './job-objects';

/** Log lines of the failed pod that go into the message. */
const LOG_TAIL_LINES = 20;

/**
 * One message for a failed Job: the Job, the condition's reason and message, and the last log lines
 * of the pod that failed last (or why they could not be read).
 */
export async function failureReport(cluster: ClusterReader, target: JobTarget, failed: JobCondition): Promise<string> {
  const headline = `${describeJob(target)} failed (${failed.reason ?? 'no reason given'})${failed.message ? `: ${failed.message}` : ''}`;
  let pods;
  try {
    pods = podsOf(await cluster.listPods(target.namespace, `job-name=${target.name}`), target);
  } catch (error) {
    return `${headline}\n(its pods could not be listed: ${(error as Error).message})`;
  }
  const lastFailed = pods
    .map((pod) => ({ pod, container: failedContainer(pod) }))
    .filter((entry) => entry.container !== undefined)
    .sort((a, b) => b.container!.finishedAt - a.container!.finishedAt)[0];
  if (!lastFailed) return headline;

  const podName = lastFailed.pod.metadata?.name ?? '(unnamed)';
  const { status } = lastFailed.container!;
  const exit = status.state?.terminated?.exitCode;
  const about = `pod ${podName}, container ${status.name}${exit === undefined ? '' : `, exit code ${exit}`}`;
  try {
    const log = (await cluster.readLog(target.namespace, podName, status.name, LOG_TAIL_LINES)).trimEnd();
    if (log === '') return `${headline}\n(${about}: its log is empty)`;
    return `${headline}\nlast lines of ${about}:\n${log.split('\n').map((line) => `  ${line}`).join('\n')}`;
  } catch (error) {
    return `${headline}\n(${about}: its log could not be read: ${(error as Error).message})`;
  }
}
