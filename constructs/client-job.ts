import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import { Defaults, Env, ExitCode, Rules, SCRATCH_DIRECTORY } from '../worker/contract';
import { IWorkQueueBroker } from './broker';
import { appLabels } from './labels';
import { containerResources } from './resources';
import { hardenedContainer } from './security';
import { ensureUniqueNames } from './unique-names';
import { check, checkRequired, PropRules } from './validate';

/** The worker image's non-root user (`node` in the official Node.js images). */
export const WORKER_UID = 1000;

/** What the seeding Job and the worker Job both take: the Jobs that run the worker image. */
export interface ClientJobProps {
  /** The worker image, a tag or, better, a digest reference. */
  readonly image: string;
  /**
   * Name of the Job, a DNS-1123 label (it becomes its pods' `job-name` label).
   * @default - a name derived from the construct path, as cdk8s names objects (with a hash unless
   *   the chart disables resource name hashes)
   */
  readonly name?: string;
  /**
   * Seconds a finished Job is kept (with its pods' logs) before Kubernetes deletes it.
   * @default 86400 (one day)
   */
  readonly ttlSecondsAfterFinished?: number;
  /**
   * CPU and memory of the container.
   * @default - requests 100m CPU and 128Mi memory; limits 1 CPU and 512Mi memory
   */
  readonly resources?: kplus.ContainerResources;
  /**
   * Seconds a lost broker connection (a restart, a failover) is retried before the container gives
   * up with exit code 3 (`BROKER_RETRY_SECONDS`); 0 gives up at once.
   * @default 60
   */
  readonly brokerRetrySeconds?: number;
}

/** Everything `createClientJob` builds a Job from, defaults resolved by the construct. */
export interface ClientJobSettings extends ClientJobProps {
  readonly subcommand: string;
  /** `app.kubernetes.io/component` of the Job and its pods. */
  readonly component: string;
  readonly broker: IWorkQueueBroker;
  readonly queue: string;
  /** Further variables, after the broker's and QUEUE. */
  readonly env: Record<string, string>;
  readonly volumeMounts?: kplus.VolumeMount[];
  readonly podAnnotations?: Record<string, string>;
  readonly parallelism?: number;
  readonly completions?: number;
  readonly backoffLimit: number;
  readonly activeDeadlineSeconds?: number;
}

export const DEFAULT_TTL_SECONDS_AFTER_FINISHED = 86400;

/** Checks the props every client Job has, in the construct's own error form. */
export function checkClientJobProps(scope: IConstruct, props: ClientJobProps): void {
  checkRequired(scope, 'image', props.image, PropRules.image);
  check(scope, 'name', props.name, PropRules.dnsLabel);
  check(scope, 'ttlSecondsAfterFinished', props.ttlSecondsAfterFinished, Rules.nonNegativeInteger);
  check(scope, 'brokerRetrySeconds', props.brokerRetrySeconds, Rules.nonNegativeNumber);
}

/**
 * A Job whose pods run the worker image and meet the Pod Security Standards "restricted" profile:
 * non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp and a
 * read-only root filesystem with an emptyDir for /tmp. Its broker admits it and orders it after itself.
 */
export function createClientJob(scope: Construct, id: string, settings: ClientJobSettings): kplus.Job {
  const job = new kplus.Job(scope, id, {
    // Without a name cdk8s derives one from the construct path; an explicit `undefined` would hide it.
    metadata: settings.name !== undefined ? { name: settings.name } : undefined,
    podMetadata: { annotations: settings.podAnnotations },
    backoffLimit: settings.backoffLimit,
    activeDeadline: settings.activeDeadlineSeconds === undefined ? undefined : Duration.seconds(settings.activeDeadlineSeconds),
    ttlAfterFinished: Duration.seconds(settings.ttlSecondsAfterFinished ?? DEFAULT_TTL_SECONDS_AFTER_FINISHED),
    restartPolicy: kplus.RestartPolicy.NEVER,
    automountServiceAccountToken: false,
    securityContext: { user: WORKER_UID, group: WORKER_UID, ensureNonRoot: true },
  });
  for (const [key, value] of Object.entries(appLabels('work-queue', job.name, settings.component))) {
    job.metadata.addLabel(key, value);
    job.podMetadata.addLabel(key, value);
  }

  const envVariables: Record<string, kplus.EnvValue> = {};
  for (const { name, value } of settings.broker.clientEnv) envVariables[name] = value;
  envVariables[Env.queue] = kplus.EnvValue.fromValue(settings.queue);
  envVariables[Env.brokerRetrySeconds] = kplus.EnvValue.fromValue(String(settings.brokerRetrySeconds ?? Defaults.brokerRetrySeconds));
  for (const [name, value] of Object.entries(settings.env)) envVariables[name] = kplus.EnvValue.fromValue(value);

  job.addContainer({
    name: 'work-queue',
    image: settings.image,
    // A digest never changes, so a node may reuse it; a tag may have been pushed again.
    imagePullPolicy: settings.image.includes('@sha256:') ? kplus.ImagePullPolicy.IF_NOT_PRESENT : kplus.ImagePullPolicy.ALWAYS,
    args: [settings.subcommand],
    envVariables,
    resources: settings.resources ?? containerResources({ cpuMillis: { request: 100, limit: 1000 }, memoryMiB: { request: 128, limit: 512 } }),
    securityContext: hardenedContainer(WORKER_UID),
    volumeMounts: [{ path: SCRATCH_DIRECTORY, volume: kplus.Volume.fromEmptyDir(job, 'Scratch', 'tmp') }, ...(settings.volumeMounts ?? [])],
  });

  const spec = ApiObject.of(job);
  // A pod that exits with the "bad input" code fails the same way on every retry: fail the Job at
  // once. Evictions and preemptions are not the work's fault and do not count against backoffLimit.
  spec.addJsonPatch(
    JsonPatch.add('/spec/podFailurePolicy', {
      rules: [
        { action: 'FailJob', onExitCodes: { containerName: 'work-queue', operator: 'In', values: [ExitCode.badInput] } },
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      ],
    }),
    JsonPatch.add('/spec/template/spec/securityContext/seccompProfile', { type: 'RuntimeDefault' }),
  );
  if (settings.parallelism !== undefined) spec.addJsonPatch(JsonPatch.add('/spec/parallelism', settings.parallelism));
  if (settings.completions !== undefined) spec.addJsonPatch(JsonPatch.add('/spec/completions', settings.completions));

  settings.broker.admitClient(job);
  ensureUniqueNames(job);
  return job;
}
