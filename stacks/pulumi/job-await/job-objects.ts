/**
 * The parts of a batch/v1 Job and its Pods that the await reads. Plain types rather than
 * @kubernetes/client-node's, so the declarations of this package never name it.
 */

export interface JobCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface Job {
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly uid?: string };
  readonly spec?: {
    readonly completions?: number | null;
    readonly completionMode?: string | null;
    /** Seconds after Complete or Failed until the TTL controller deletes the Job (and its pods). */
    readonly ttlSecondsAfterFinished?: number | null;
  };
  readonly status?: {
    readonly active?: number;
    readonly ready?: number;
    /** Pods with a deletionTimestamp that have not ended yet (Kubernetes 1.28+, JobPodReplacementPolicy). */
    readonly terminating?: number | null;
    readonly succeeded?: number;
    readonly failed?: number;
    /** Indexed Jobs: the succeeded indexes as intervals, such as "0-2,5". */
    readonly completedIndexes?: string | null;
    /** Indexed Jobs with `backoffLimitPerIndex`: the failed indexes as intervals, such as "1,3-4". */
    readonly failedIndexes?: string | null;
    readonly conditions?: readonly JobCondition[];
  };
}

export interface ContainerStatus {
  readonly name: string;
  readonly state?: {
    readonly waiting?: { readonly reason?: string };
    /** `message`: the container's termination message (the worker's JSON line, or with FallbackToLogsOnError the end of its log). */
    readonly terminated?: {
      readonly exitCode?: number;
      readonly reason?: string;
      readonly message?: string;
      readonly finishedAt?: Date | string;
    };
  };
}

export interface Pod {
  readonly metadata?: {
    readonly name?: string;
    /** An Indexed Job's pod has its index in `batch.kubernetes.io/job-completion-index`. */
    readonly annotations?: Readonly<Record<string, string>>;
    readonly ownerReferences?: readonly { readonly uid?: string }[];
    /** Set once the pod is being deleted: by the Job controller when the Job ends, by an eviction, ... */
    readonly deletionTimestamp?: Date | string | null;
  };
  readonly spec?: { readonly containers?: readonly { readonly name: string }[] };
  readonly status?: {
    readonly phase?: string;
    readonly startTime?: Date | string | null;
    readonly containerStatuses?: readonly ContainerStatus[];
  };
}

/** Which Job the await follows: its name, and the uid of the one instance pulumi-kubernetes created. */
export interface JobTarget {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
}
