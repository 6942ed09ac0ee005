/** Runs a synthesized Job of a stack the way a cluster would, and reads what its pods did. */
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { IService } from 'kubernetes-models/v1/Service';
import { Env } from '../../../worker/contract';
import { runJob, JobRun, PodRecord } from './job-controller';
import type { JobHooks, ScaledJobObject } from './keda-emulator';
import { allObjects, loadStack, objectSource, onlyJob, onlyObject, services, StackManifests } from './manifests';
import { Pod, startPod } from './pod';
import { resolveEnv } from './pod-env';
import { E2eState } from './state';

export class StackScenario {
  readonly manifests: StackManifests;

  /** `outdir`: where `npm run synth` wrote the stack, the global setup's synth unless given. */
  constructor(
    private readonly state: E2eState,
    stack: string,
    outdir = state.outdir,
  ) {
    this.manifests = loadStack(outdir, stack);
  }

  /** Runs the seeding Job (`seeder`) or the worker Job (`job`) until it completes or fails. */
  run(chart: 'seeder' | 'job', onPodStarted?: (pod: Pod) => void): Promise<JobRun> {
    return this.runJob(onlyJob(this.manifests[chart]), { onPodStarted });
  }

  /** Runs a Job among the stack's objects (its pods get the stack's Secrets, ConfigMaps and Services) until it completes or fails. */
  runJob(job: IJob, hooks: JobHooks = {}): Promise<JobRun> {
    const context = {
      jobName: job.metadata!.name!,
      template: job.spec!.template,
      objects: objectSource(allObjects(this.manifests)),
      hosts: this.serviceHostNames(),
      workDirectory: this.state.workDirectory,
    };
    return runJob(job, { startPod: (name) => startPod(context, name), ...hooks });
  }

  /** The ScaledJob that `AUTOSCALE_MAX_JOBS` puts in the job chart instead of the worker Job. */
  scaledJob(): ScaledJobObject {
    return onlyObject(this.manifests.job, 'ScaledJob') as ScaledJobObject;
  }

  /**
   * The names of the stack's Services as a pod in `namespace` resolves them (the bare name only in
   * the Service's own namespace; the stack's pods run there). In the harness they all lead to 127.0.0.1.
   */
  serviceHostNames(namespace?: string): string[] {
    return services(allObjects(this.manifests)).flatMap((service) => serviceHostNames(service, namespace));
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
    const container = this.workerTemplate().spec!.containers[0];
    const url = resolveEnv(container, objectSource(allObjects(this.manifests))).get(Env.brokerUrl);
    if (!url) throw new Error(`the worker Job's container has no ${Env.brokerUrl}`);
    return url;
  }

  /** The worker pods' template: the worker Job's, or that of the ScaledJob's `jobTargetRef`. */
  private workerTemplate(): IPodTemplateSpec {
    const autoscaled = this.manifests.job.some((object) => object.kind === 'ScaledJob');
    return autoscaled ? this.scaledJob().spec.jobTargetRef.template : onlyJob(this.manifests.job).spec!.template;
  }
}

/** The names a pod in `namespace` (default: the Service's own) resolves a Service by. */
export function serviceHostNames(service: IService, namespace?: string): string[] {
  const name = service.metadata!.name!;
  const own = service.metadata!.namespace ?? 'default';
  const qualified = [`${name}.${own}`, `${name}.${own}.svc`, `${name}.${own}.svc.cluster.local`];
  return namespace === undefined || namespace === own ? [name, ...qualified] : qualified;
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
