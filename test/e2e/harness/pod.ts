import { mkdirSync, rmSync } from 'fs';
import { join } from 'path';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import { containerLogs, docker, HARNESS_LABEL, imageExists, mustDocker } from './docker';
import { dockerRunArgs } from './docker-run-args';
import { ObjectSource } from './manifests';
import { expandedCommand, resolveEnv } from './pod-env';
import { prepareVolumes } from './pod-volumes';

/** What a pod of a Job needs besides its template: the objects it references and the host names it resolves. */
export interface PodContext {
  readonly jobName: string;
  readonly template: IPodTemplateSpec;
  readonly objects: ObjectSource;
  readonly hosts: string[];
  /** Where the pods' volumes are prepared. */
  readonly workDirectory: string;
}

/** A pod of the harness: one container of the pod template, run by Docker. */
export interface Pod {
  readonly name: string;
  /** Resolves with the container's exit code once it ends. */
  wait(): Promise<number>;
  /** Starts the ended container again, as the kubelet does under `restartPolicy: OnFailure`. */
  restart(): Promise<void>;
  /** SIGKILL, as when a node or the OOM killer ends the container. */
  kill(): Promise<void>;
  /** A graceful delete: SIGTERM, then SIGKILL after terminationGracePeriodSeconds. */
  stop(): Promise<void>;
  logs(): Promise<string>;
  /** Removes the container and its volumes. */
  remove(): Promise<void>;
}

/** The Docker label that names the Job of a container. */
const JOB_LABEL = `${HARNESS_LABEL}.job`;

export async function startPod(context: PodContext, name: string): Promise<Pod> {
  const spec = context.template.spec;
  if (!spec) throw new Error(`Job ${context.jobName}: the pod template has no spec`);
  if (spec.containers.length !== 1 || spec.initContainers?.length) {
    throw new Error(`Job ${context.jobName}: the e2e harness runs pods of exactly one container and no init containers`);
  }
  const container = spec.containers[0];
  await ensureImage(container);
  const env = resolveEnv(container, context.objects);
  const podDirectory = join(context.workDirectory, name);
  mkdirSync(podDirectory, { recursive: true });
  const args = dockerRunArgs({
    podName: name,
    spec,
    container,
    env,
    ...expandedCommand(container, env),
    volumes: prepareVolumes(spec, context.objects, podDirectory),
    hosts: context.hosts,
    imageUser: (await mustDocker(['image', 'inspect', '--format', '{{.Config.User}}', container.image!])).trim(),
    labels: { [HARNESS_LABEL]: 'true', [JOB_LABEL]: context.jobName },
  });
  await mustDocker(['run', '--detach', ...args]);

  return {
    name,
    wait: async () => Number((await mustDocker(['wait', name])).trim()),
    restart: async () => void (await mustDocker(['start', name])),
    kill: async () => void (await mustDocker(['kill', name])),
    stop: async () => void (await mustDocker(['stop', name])),
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
