/**
 * A stack of a synthesized `dist/` applied to a cluster of the harness's own (cluster.ts), chart by
 * chart as Pulumi orders them: the broker (with its credentials Job, when it has one), then the
 * seeding Job, then the worker Job, each awaited; or Jobs of a ScaledJob, created as KEDA does.
 * The local brokers of a broker generation (broker-generation.ts) stand in for the broker chart's.
 */
import { mkdirSync, mkdtempSync } from 'fs';
import { join } from 'path';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { BrokerGeneration } from './broker-generation';
import { Brokers } from './brokers';
import { type AppliedObject, Cluster } from './cluster';
import type { JobRun, PodRecord } from './job-controller';
import type { JobHooks, ScaledJobObject } from './keda-emulator';
import { type KubeObject, loadStack, onlyJob, onlyObject, type StackManifests } from './manifests';
import { type Manifest, mountedItems } from '../../manifests';
import type { Pod } from './pod';
import { serviceHostNames } from './service-hosts';
import type { E2eState } from './state';

export class StackScenario {
  readonly manifests: StackManifests;
  /** The generation's brokers, administered from the host (queue resets and checks). */
  readonly brokers: Brokers;
  private started?: Promise<Cluster>;

  /** `outdir`: where `npm run synth` wrote the stack, the global setup's synth unless given. */
  constructor(
    private readonly state: E2eState,
    stack: string,
    readonly generation: BrokerGeneration,
    outdir = state.outdir,
  ) {
    this.manifests = loadStack(outdir, stack);
    this.brokers = new Brokers(generation);
  }

  /** The cluster the stack is applied to, started on first use. */
  cluster(): Promise<Cluster> {
    mkdirSync(this.state.workDirectory, { recursive: true });
    this.started ??= Cluster.start({
      workDirectory: mkdtempSync(join(this.state.workDirectory, `${this.manifests.stack}-${this.generation.name}-`)),
      generation: this.generation,
    });
    return this.started;
  }

  /**
   * Applies the broker chart and waits until it is ready for clients: every Job in it (the
   * credentials Job) complete, the RabbitMQ user created by the broker's first boot and the
   * broker's Service accepting connections.
   */
  async deployBroker(): Promise<void> {
    const cluster = await this.cluster();
    const runs = await Promise.all(
      this.createdJobs(cluster, cluster.apply(this.manifests.broker)).map((handle) => handle.run),
    );
    for (const run of runs)
      if (run.condition !== 'Complete')
        throw new Error(
          `a Job of the broker chart ended ${run.condition} (${String(run.reason)}):\n${run.pods.map((pod) => pod.logs).join('\n')}`,
        );
    await cluster.brokersBooted();
  }

  /** Applies the seeder chart (`seeder`) or the worker chart (`job`) and runs its Job until it completes or fails. */
  async run(chart: 'seeder' | 'job', onPodStarted?: (pod: Pod) => void): Promise<JobRun> {
    const cluster = await this.cluster();
    const name = onlyJob(this.manifests[chart]).metadata!.name!;
    cluster.apply(this.manifests[chart], { hooks: () => ({ onPodStarted }) });
    return cluster.job(name).run;
  }

  /** Creates a Job in the stack's namespace, as KEDA creates a ScaledJob's Jobs, and runs it until it completes or fails. */
  async runJob(job: IJob, hooks: JobHooks = {}): Promise<JobRun> {
    const cluster = await this.cluster();
    const results = cluster.apply([{ ...job, apiVersion: 'batch/v1', kind: 'Job' } as KubeObject], {
      hooks: () => hooks,
    });
    const handle = this.createdJobs(cluster, results).at(0);
    if (!handle) throw new Error(`Job ${String(job.metadata?.name)} was not created: ${JSON.stringify(results)}`);
    return handle.run;
  }

  /** Every object of the stack's cluster, the Secrets created in it included. */
  async objects(): Promise<KubeObject[]> {
    return (await this.cluster()).store.all();
  }

  /** Deletes what still runs and removes the broker's user. */
  async close(): Promise<void> {
    if (this.started) await (await this.started).close();
  }

  /** The ScaledJob that `AUTOSCALE_MAX_JOBS` puts in the job chart instead of the worker Job. */
  scaledJob(): ScaledJobObject {
    return onlyObject(this.manifests.job, 'ScaledJob') as ScaledJobObject;
  }

  /**
   * The names of the stack's Services as a pod in `namespace` resolves them (the bare name only in
   * the Service's own namespace; the stack's pods run there). In the cluster each leads to its Service's gate (service-network.ts).
   */
  serviceHostNames(namespace?: string): string[] {
    return [...this.manifests.broker, ...this.manifests.seeder, ...this.manifests.job]
      .filter((object) => object.kind === 'Service')
      .flatMap((service) => serviceHostNames(service as never, namespace));
  }

  /** The items of the seeder's ConfigMap: what the queue is filled with. */
  items(): string[] {
    return seededItems(this.manifests);
  }

  private createdJobs(cluster: Cluster, results: AppliedObject[]) {
    return results
      .filter((result) => result.kind === 'Job' && result.action === 'created')
      .map((result) => cluster.job(result.name));
  }
}

/** The items a stack's seeding Job reads from its ConfigMaps, in order. */
export function seededItems(manifests: StackManifests): string[] {
  const items = mountedItems(onlyJob(manifests.seeder) as Manifest, manifests.seeder as Manifest[]);
  if (typeof items === 'string') throw new Error(`the seeding Job ${items}`);
  return items;
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
