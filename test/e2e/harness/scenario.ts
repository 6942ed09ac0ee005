/** Runs a synthesized Job of a stack the way a cluster would, and reads what its pods did. */
import type { IService } from 'kubernetes-models/v1/Service';
import { Env } from '../../../worker/contract';
import { runJob, JobRun, PodRecord } from './job-controller';
import { allObjects, loadStack, objectSource, onlyJob, services, StackManifests } from './manifests';
import { Pod, startPod } from './pod';
import { resolveEnv } from './pod-env';
import { E2eState } from './state';

export class StackScenario {
  readonly manifests: StackManifests;

  constructor(
    private readonly state: E2eState,
    stack: string,
  ) {
    this.manifests = loadStack(state.outdir, stack);
  }

  /** Runs the seeding Job (`seeder`) or the worker Job (`job`) until it completes or fails. */
  run(chart: 'seeder' | 'job', onPodStarted?: (pod: Pod) => void): Promise<JobRun> {
    const objects = allObjects(this.manifests);
    const job = onlyJob(this.manifests[chart]);
    const jobName = job.metadata!.name!;
    const context = {
      jobName,
      template: job.spec!.template,
      objects: objectSource(objects),
      hosts: services(objects).flatMap(serviceHostNames),
      workDirectory: this.state.workDirectory,
    };
    return runJob(job, { startPod: (name) => startPod(context, name), onPodStarted });
  }

  /** The items of the seeder's ConfigMap: what the queue is filled with. */
  items(): string[] {
    const volume = onlyJob(this.manifests.seeder).spec!.template.spec!.volumes?.find((candidate) => candidate.configMap);
    const data = objectSource(this.manifests.seeder).configMap(volume?.configMap?.name ?? '')?.data ?? {};
    const values = Object.values(data);
    if (values.length !== 1) throw new Error(`the seeder's items ConfigMap should hold one file, holds ${values.length}`);
    return JSON.parse(values[0]) as string[];
  }

  /** BROKER_URL as the worker pods get it, credentials from the Secret expanded in. */
  brokerUrl(): string {
    const container = onlyJob(this.manifests.job).spec!.template.spec!.containers[0];
    const url = resolveEnv(container, objectSource(allObjects(this.manifests))).get(Env.brokerUrl);
    if (!url) throw new Error(`the worker Job's container has no ${Env.brokerUrl}`);
    return url;
  }
}

/** The names a pod in the cluster resolves a Service by; in the harness they all lead to 127.0.0.1. */
export function serviceHostNames(service: IService): string[] {
  const name = service.metadata!.name!;
  const namespace = service.metadata!.namespace ?? 'default';
  return [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`];
}

/** The items a pod's built-in handler started, from its `Processing <item>` lines, in order. */
export function processedItems(pod: PodRecord): string[] {
  return [...pod.logs.matchAll(/^Processing (.*)$/gm)].map((match) => match[1]);
}

/** Waits until the pod prints its next `Processing <item>` line, then SIGKILLs it; returns that item. */
export async function killDuringItem(pod: Pod, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const item = /^Processing (.*)$/m.exec(await pod.logs())?.[1];
    if (item !== undefined) {
      await pod.kill();
      return item;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`pod ${pod.name} printed no Processing line within ${timeoutMs / 1000} s`);
}

export function sorted(items: string[]): string[] {
  return [...items].sort();
}
