/**
 * A pod the kubelet cannot start yet because an object it references is missing: a Secret or
 * ConfigMap (or one of its keys) of an env reference (CreateContainerConfigError) or of a volume
 * (the volume mount fails, the pod stays ContainerCreating). The kubelet retries; the pod is not
 * failed and does not count against the Job's backoffLimit.
 */
export class PodConfigError extends Error {
  constructor(
    message: string,
    /** CreateContainerConfigError (env) or FailedMount (volume): they are retried on different clocks. */
    readonly reason: 'CreateContainerConfigError' | 'FailedMount',
  ) {
    super(message);
  }
}
