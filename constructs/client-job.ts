import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Env, ExitCode, SCRATCH_DIRECTORY } from '../worker/contract';
import { IWorkQueueBroker } from './broker';
import { appLabels } from './labels';
import { hardenedContainer } from './security';

/** The worker image's non-root user (`node` in the official Node.js images). */
export const WORKER_UID = 1000;

/** Options of a Job that runs the worker image against a broker: the seeding Job and the worker Job. */
export interface ClientJobOptions {
  readonly name?: string;
  readonly image: string;
  readonly subcommand: string;
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
  readonly ttlSecondsAfterFinished: number;
  readonly resources?: kplus.ContainerResources;
}

/**
 * A Job whose pods run the worker image and meet the Pod Security Standards "restricted" profile:
 * non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp and a
 * read-only root filesystem with an emptyDir for /tmp.
 */
export function createClientJob(scope: Construct, id: string, options: ClientJobOptions): kplus.Job {
  const labels = appLabels('work-queue', options.name ?? scope.node.id, options.component);
  const job = new kplus.Job(scope, id, {
    metadata: { name: options.name, labels },
    podMetadata: { labels, annotations: options.podAnnotations },
    backoffLimit: options.backoffLimit,
    activeDeadline: options.activeDeadlineSeconds === undefined ? undefined : Duration.seconds(options.activeDeadlineSeconds),
    ttlAfterFinished: Duration.seconds(options.ttlSecondsAfterFinished),
    restartPolicy: kplus.RestartPolicy.NEVER,
    automountServiceAccountToken: false,
    securityContext: { user: WORKER_UID, group: WORKER_UID, ensureNonRoot: true },
  });

  const envVariables: Record<string, kplus.EnvValue> = {};
  for (const { name, value } of options.broker.clientEnv) envVariables[name] = value;
  envVariables[Env.queue] = kplus.EnvValue.fromValue(options.queue);
  for (const [name, value] of Object.entries(options.env)) envVariables[name] = kplus.EnvValue.fromValue(value);

  job.addContainer({
    name: 'work-queue',
    image: options.image,
    // A digest never changes, so a node may reuse it; a tag may have been pushed again.
    imagePullPolicy: options.image.includes('@sha256:') ? kplus.ImagePullPolicy.IF_NOT_PRESENT : kplus.ImagePullPolicy.ALWAYS,
    args: [options.subcommand],
    envVariables,
    resources: options.resources ?? {
      cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.units(1) },
      memory: { request: Size.mebibytes(128), limit: Size.mebibytes(512) },
    },
    securityContext: hardenedContainer(WORKER_UID),
    volumeMounts: [
      { path: SCRATCH_DIRECTORY, volume: kplus.Volume.fromEmptyDir(job, 'Scratch', 'tmp') },
      ...(options.volumeMounts ?? []),
    ],
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
  if (options.parallelism !== undefined) spec.addJsonPatch(JsonPatch.add('/spec/parallelism', options.parallelism));
  if (options.completions !== undefined) spec.addJsonPatch(JsonPatch.add('/spec/completions', options.completions));

  options.broker.admitClient(job);
  return job;
}
