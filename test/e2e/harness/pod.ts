import { mkdirSync, rmSync } from 'fs';
import { join } from 'path';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import { containerLogs, docker, HARNESS_LABEL, imageExists, mustDocker } from './docker';
import { dockerRunArgs } from './docker-run-args';
import type { KubeObject, ObjectSource } from './manifests';
import { PodConfigError } from './pod-config-error';
import { expandedCommand, resolveEnv } from './pod-env';
import { prepareVolumes } from './pod-volumes';
import type { ServiceAccountUser } from './rbac';
import { admitServiceAccount, kubernetesServiceEnv, PodAdmissionError } from './service-account';
import type { HostEntry } from './service-network';
import {
  createTerminationMessageFile,
  resetTerminationMessageFile,
  type TerminatedState,
  terminatedState,
  type TerminationMessageMount,
} from './termination-message';

/** What a pod of a Job needs besides its template: the objects it references and the host names it resolves. */
export interface PodContext {
  readonly jobName: string;
  readonly template: IPodTemplateSpec;
  /** The pod's namespace. @default 'default' */
  readonly namespace?: string;
  /** Where its Secrets and ConfigMaps are looked up, each time the kubelet tries to start it. */
  readonly objects: ObjectSource;
  /** The Services' host names and the addresses the pod resolves them to (read when its container is created). */
  readonly hosts: HostEntry[] | (() => HostEntry[]);
  /** Where the pods' volumes are prepared. */
  readonly workDirectory: string;
  /**
   * The cluster's API server: with it, pods go through the ServiceAccount admission and get the
   * token volume and the KUBERNETES_SERVICE_* variables (service-account.ts).
   * @default - none: no ServiceAccount admission, token or API variables
   */
  readonly api?: PodApi;
  /** How long a pod may wait for a missing ServiceAccount, Secret or ConfigMap before the harness gives up on it (a cluster waits for ever). @default 300000 */
  readonly pendingTimeoutMs?: number;
  /** Aborted: a pod still waiting gives up at once. */
  readonly signal?: AbortSignal;
}

/** The fake API server as the pods reach it. */
export interface PodApi {
  readonly host: string;
  readonly port: number;
  serviceAccount(namespace: string, name: string): KubeObject | undefined;
  issueToken(user: ServiceAccountUser): string;
}

/** A pod of the harness: one container of the pod template, run by Docker. */
export interface Pod {
  readonly name: string;
  /** Resolves with the container's exit code once it ends. */
  wait(): Promise<number>;
  /** The container's `state.terminated` after it exited with `exitCode`, its termination message read as the kubelet reads it. */
  terminated(exitCode: number): Promise<TerminatedState>;
  /** Starts the ended container again, as the kubelet does under `restartPolicy: OnFailure`. */
  restart(): Promise<void>;
  /** SIGKILL, as when a node or the OOM killer ends the container. */
  kill(): Promise<void>;
  /**
   * A graceful delete: SIGTERM, then SIGKILL after the grace period, the pod's
   * terminationGracePeriodSeconds unless an eviction or a delete gives another one.
   */
  stop(gracePeriodSeconds?: number): Promise<void>;
  logs(): Promise<string>;
  /** Removes the container and its volumes. */
  remove(): Promise<void>;
}

/** The Docker label that names the Job of a container. */
const JOB_LABEL = `${HARNESS_LABEL}.job`;

/**
 * When a pod that cannot start yet is tried again: the Job controller requeues a Job whose pod
 * creation was refused with 1 s doubling up to 60 s (DefaultJobApiBackOff, MaxJobApiBackOff); the
 * kubelet retries a CreateContainerConfigError every 10 s (its pod workers' backOffPeriod) and a
 * failed volume mount with 0.5 s doubling up to 2 min 2 s (nestedpendingoperations).
 */
export function retryDelayMs(error: PodAdmissionError | PodConfigError, attempt: number): number {
  if (error instanceof PodConfigError && error.reason === 'CreateContainerConfigError') return 10_000;
  const [base, cap] = error instanceof PodAdmissionError ? [1000, 60_000] : [500, 122_000];
  return Math.min(base * 2 ** attempt, cap);
}

/** Starts the pod `name` from `podTemplate`: the Job's template, or the one the Job controller made for the pod (an Indexed Job's index). */
export async function startPod(
  context: PodContext,
  name: string,
  podTemplate: IPodTemplateSpec = context.template,
): Promise<Pod> {
  if (!podTemplate.spec) throw new Error(`Job ${context.jobName}: the pod template has no spec`);
  const template = podTemplate.spec;
  if (template.containers.length !== 1 || template.initContainers?.length) {
    throw new Error(
      `Job ${context.jobName}: the e2e harness runs pods of exactly one container and no init containers`,
    );
  }
  await ensureImage(template.containers[0]);
  const namespace = context.namespace ?? 'default';
  const podDirectory = join(context.workDirectory, name);
  const waitingSince = Date.now();
  const timeoutMs = context.pendingTimeoutMs ?? 300_000;
  let run: PodRun | undefined;
  for (let attempt = 0; !run; attempt++) {
    try {
      run = await podRunArgs(context, podTemplate, name, namespace, podDirectory);
    } catch (error) {
      if (!(error instanceof PodAdmissionError || error instanceof PodConfigError)) throw error;
      if (context.signal?.aborted)
        throw new Error(
          `pod ${name} of Job ${context.jobName} was still waiting when the cluster was closed: ${error.message}`,
          { cause: error },
        );
      if (Date.now() - waitingSince > timeoutMs) {
        throw new Error(
          `pod ${name} of Job ${context.jobName} waited ${Math.round(timeoutMs / 1000)} s in vain, the last time: ${error.message}`,
          {
            cause: error,
          },
        );
      }
      await sleep(retryDelayMs(error, attempt), context.signal);
    }
  }
  const { args, terminationMessage } = run;
  await mustDocker(['run', '--detach', ...args]);

  return {
    name,
    wait: async () => Number((await mustDocker(['wait', name])).trim()),
    terminated: (exitCode) =>
      terminatedState(terminationMessage, template.containers[0], exitCode, () => containerLogs(name)),
    restart: async () => {
      resetTerminationMessageFile(terminationMessage);
      await mustDocker(['start', name]);
    },
    kill: async () => {
      await mustDocker(['kill', name]);
    },
    // docker stop's own timeout is the pod's grace period (docker run --stop-timeout, docker-run-args.ts).
    stop: async (gracePeriodSeconds) => {
      await mustDocker([
        'stop',
        ...(gracePeriodSeconds === undefined ? [] : ['--time', String(gracePeriodSeconds)]),
        name,
      ]);
    },
    logs: () => containerLogs(name),
    remove: async () => {
      await docker(['rm', '--force', '--volumes', name]);
      rmSync(podDirectory, { recursive: true, force: true });
    },
  };
}

/** The kubelet's image pull policy, with its defaults: Always for `:latest` or no tag, else IfNotPresent. */
export function pullPolicy(container: IContainer): 'Always' | 'IfNotPresent' | 'Never' {
  if (container.imagePullPolicy) return container.imagePullPolicy;
  const image = container.image ?? '';
  if (image.includes('@')) return 'IfNotPresent';
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  return tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

/** A pod ready to run: its `docker run` arguments and its container's termination message file. */
interface PodRun {
  readonly args: string[];
  readonly terminationMessage: TerminationMessageMount;
}

/** The pod as the API server admits it and the kubelet prepares it, as `docker run` arguments; throws what makes the kubelet wait. */
async function podRunArgs(
  context: PodContext,
  template: IPodTemplateSpec,
  name: string,
  namespace: string,
  podDirectory: string,
): Promise<PodRun> {
  const { api } = context;
  const admitted = api
    ? admitServiceAccount(
        name,
        template.spec!,
        namespace,
        (account) => api.serviceAccount(namespace, account),
        name.slice(-5),
      )
    : { spec: template.spec!, serviceAccountName: 'default', automount: false };
  const { spec } = admitted;
  const container = spec.containers[0];
  const fields = { name, namespace, labels: template.metadata?.labels, annotations: template.metadata?.annotations };
  const env = resolveEnv(
    container,
    context.objects,
    api ? kubernetesServiceEnv(api.host, api.port) : new Map(),
    fields,
  );
  rmSync(podDirectory, { recursive: true, force: true });
  mkdirSync(podDirectory, { recursive: true });
  const identity = api && {
    namespace,
    serviceAccountToken: () => api.issueToken({ namespace, name: admitted.serviceAccountName }),
  };
  const volumes = prepareVolumes(spec, context.objects, podDirectory, identity);
  const terminationMessage = createTerminationMessageFile(podDirectory, container);
  const args = dockerRunArgs({
    podName: name,
    spec,
    container,
    env,
    ...expandedCommand(container, env),
    volumes,
    hosts: typeof context.hosts === 'function' ? context.hosts() : context.hosts,
    imageUser: (await mustDocker(['image', 'inspect', '--format', '{{.Config.User}}', container.image!])).trim(),
    labels: { [HARNESS_LABEL]: 'true', [JOB_LABEL]: context.jobName },
    terminationMessage,
  });
  return { args, terminationMessage };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function ensureImage(container: IContainer): Promise<void> {
  const image = container.image;
  if (!image) throw new Error(`container ${container.name} has no image`);
  const policy = pullPolicy(container);
  if (policy === 'Always' || (policy === 'IfNotPresent' && !(await imageExists(image)))) {
    await mustDocker(['pull', '--quiet', image]);
  } else if (policy === 'Never' && !(await imageExists(image))) {
    throw new Error(`container ${container.name}: image ${image} is not present and imagePullPolicy is Never`);
  }
}
