/**
 * The parts of a batch/v1 Job and its Pods that the await reads, and what they say. Plain types
 * rather than @kubernetes/client-node's, so the declarations of this package never name it.
 */

export interface JobCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface Job {
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly uid?: string };
  readonly spec?: { readonly completions?: number | null };
  readonly status?: {
    readonly active?: number;
    readonly ready?: number;
    readonly succeeded?: number;
    readonly failed?: number;
    readonly conditions?: readonly JobCondition[];
  };
}

export interface ContainerStatus {
  readonly name: string;
  readonly state?: {
    readonly waiting?: { readonly reason?: string };
    readonly terminated?: { readonly exitCode?: number; readonly reason?: string; readonly finishedAt?: Date | string };
  };
}

export interface Pod {
  readonly metadata?: { readonly name?: string; readonly ownerReferences?: readonly { readonly uid?: string }[] };
  readonly spec?: { readonly containers?: readonly { readonly name: string }[] };
  readonly status?: { readonly phase?: string; readonly containerStatuses?: readonly ContainerStatus[] };
}

/** Which Job the await follows: its name, and the uid of the one instance pulumi-kubernetes created. */
export interface JobTarget {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}

export function describeJob(target: JobTarget): string {
  return `Job ${target.namespace}/${target.name}`;
}

function trueCondition(job: Job, type: string): JobCondition | undefined {
  return job.status?.conditions?.find((condition) => condition.type === type && condition.status === 'True');
}

/**
 * The condition that says the Job has failed, whatever the reason (BackoffLimitExceeded,
 * DeadlineExceeded, PodFailurePolicy, MaxFailedIndexesExceeded, ...). Since Kubernetes 1.31 the
 * controller first adds FailureTarget and adds Failed once the pods are gone; either is final.
 */
export function failure(job: Job): JobCondition | undefined {
  return trueCondition(job, 'Failed') ?? trueCondition(job, 'FailureTarget');
}

export function isComplete(job: Job): boolean {
  return trueCondition(job, 'Complete') !== undefined;
}

/** Whether some of the Job's running pods are not ready yet (pending, pulling their image, ...). */
export function hasUnreadyPods(job: Job): boolean {
  const { active = 0, ready } = job.status ?? {};
  return ready !== undefined && active > ready;
}

/** The pods of this Job instance: a Job of the same name created later has another uid. */
export function podsOf(pods: readonly Pod[], target: JobTarget): Pod[] {
  return pods.filter((pod) => pod.metadata?.ownerReferences?.some((owner) => owner.uid === target.uid));
}

/** `3/8 succeeded, 2 running, 1 failed`: completions so far; without `completions` (the fine pattern) just the count. */
export function progressOf(job: Job, pods: readonly Pod[] = []): string {
  const { active = 0, succeeded = 0, failed = 0 } = job.status ?? {};
  const completions = job.spec?.completions;
  const parts = [completions ? `${succeeded}/${completions} succeeded` : `${succeeded} succeeded`, `${active} running`];
  if (failed > 0) parts.push(`${failed} failed`);
  const waiting = waitingReasons(pods);
  if (waiting) parts.push(`waiting: ${waiting}`);
  return parts.join(', ');
}

/** `ImagePullBackOff (2), ContainerCreating`: why containers have not started. */
function waitingReasons(pods: readonly Pod[]): string {
  const counts = new Map<string, number>();
  for (const pod of pods) {
    for (const status of pod.status?.containerStatuses ?? []) {
      const reason = status.state?.waiting?.reason;
      if (reason) counts.set(reason, (counts.get(reason) ?? 0) + 1);
    }
  }
  return [...counts].map(([reason, count]) => (count > 1 ? `${reason} (${count})` : reason)).join(', ');
}

/** The container of a failed pod that ended last, with the time it ended, or undefined for a pod that has not failed. */
export function failedContainer(pod: Pod): { status: ContainerStatus; finishedAt: number } | undefined {
  if (pod.status?.phase !== 'Failed') return undefined;
  const ended = (pod.status.containerStatuses ?? []).filter((status) => status.state?.terminated);
  const last = ended.sort((a, b) => finishedAt(b) - finishedAt(a))[0];
  return last ? { status: last, finishedAt: finishedAt(last) } : undefined;
}

function finishedAt(status: ContainerStatus): number {
  const time = status.state?.terminated?.finishedAt;
  return time === undefined ? 0 : new Date(time).getTime();
}
