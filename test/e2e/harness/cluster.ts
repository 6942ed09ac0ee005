/**
 * A stand-in for a cluster that `kubectl apply -f dist/` (or Argo CD, Flux) is pointed at: an
 * ObjectStore with the API server's apply rules, a fake API server over HTTPS for the pods'
 * ServiceAccounts, the Job controller (job-controller.ts) for every Job applied, pods that the
 * kubelet would start (pod.ts: ServiceAccount admission, token volume, waits for missing Secrets
 * and ConfigMaps), the local RabbitMQ's first boot from the broker's Secret, and the broker
 * Services (service-network.ts): each Service's names lead to an address of its own, which
 * accepts connections only once the StatefulSet behind it has booted (RabbitMQ: applied, its
 * Secret present and its user created; any other: applied). The local brokers are those of the
 * cluster's broker generation (broker-generation.ts).
 *
 * Pods can be evicted and nodes lost (`disruptions`, pod-disruption.ts); a finished Job with
 * `ttlSecondsAfterFinished` is deleted when it expires (ttl-after-finished.ts), which its handle shows.
 *
 * Every Job created by an apply starts at once, all concurrently, once the whole apply is done
 * (the controller sees it a moment after kubectl's requests); a Job that is unchanged or updated
 * in place is not started again. Redis boots as soon as its StatefulSet is applied: the stacks run
 * it without a password.
 */
import { mkdirSync, readdirSync } from 'fs';
import { join } from 'path';
import { Yaml } from 'cdk8s';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IService } from 'kubernetes-models/v1/Service';
import { makeApiCertificate } from './api-certificate';
import { ApiError } from './api-status';
import { type ApplyOrder, describeOrder, ordered } from './apply-order';
import type { BrokerGeneration } from './broker-generation';
import { FakeApiServer } from './fake-api-server';
import { type JobObserver, type JobRun, type JobStatus, runJob } from './job-controller';
import type { KubeObject } from './manifests';
import { type ApplyAction, ObjectStore } from './object-store';
import { type Pod, type PodContext, startPod } from './pod';
import { PodDisruptions } from './pod-disruption';
import { type BrokerUser, defaultUser, deleteBrokerUser, firstBoot, isRabbitMq } from './rabbitmq-first-boot';
import { type HostEntry, ServiceNetwork } from './service-network';
import { type JobDeletion, ttlExpiresAt } from './ttl-after-finished';
import { type WallClockTimer, wallClockTimeout } from './wall-clock-timer';

export interface ClusterOptions {
  /** Where the pods' volumes and the API server's certificates go. */
  readonly workDirectory: string;
  /** The local brokers that stand in for the broker StatefulSets: their ports behind the Services' gates, their rabbitmqctl for first boots. */
  readonly generation: BrokerGeneration;
  /** The namespace of objects that name none (`kubectl apply -n`). @default 'default' */
  readonly namespace?: string;
  /** How long a pod may wait for what it references before the harness gives up. @default 300000 */
  readonly pendingTimeoutMs?: number;
}

/** What `kubectl apply` printed for one object: `job.batch/x created`, or its error. */
export interface AppliedObject {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly action?: ApplyAction;
  readonly error?: string;
}

export interface ApplyOptions {
  /** @default 'forward' */
  readonly order?: ApplyOrder;
  /** Hooks for the Jobs this apply creates (the fault scenarios pick a pod to kill). @default none */
  readonly hooks?: (job: IJob) => ClusterJobHooks;
}

/** The Job controller's hooks, and the Job object's deletion (by its TTL or on demand). */
export interface ClusterJobHooks extends JobObserver {
  onDeleted?(deletion: JobDeletion): void;
}

/** A Job the cluster runs: the controller's run and the pods it started. */
export interface JobHandle {
  readonly name: string;
  readonly namespace: string;
  readonly job: IJob;
  readonly createdAt: number;
  readonly pods: Pod[];
  readonly run: Promise<JobRun>;
  /** Its status counters after each sync that changed them (status.active, status.terminating, ...). */
  readonly statuses: JobStatus[];
  /** Resolves once the Job object is gone: deleted by the TTL-after-finished controller, or on demand. */
  readonly deleted: Promise<JobDeletion>;
  /** Its deletion, once it happened. */
  deletion(): JobDeletion | undefined;
  /** Deletes the Job (`kubectl delete job`): its pods are deleted, its run resolves as Deleted if it had not finished. */
  delete(): void;
}

export class Cluster {
  readonly jobs: JobHandle[] = [];
  /** The RabbitMQ users created by first boots, one per RabbitMQ StatefulSet. */
  readonly brokerUsers: BrokerUser[] = [];
  /** The Services' addresses and gates. */
  readonly network: ServiceNetwork;
  /** StatefulSets (namespace/name) whose boot has begun, and its end. */
  private readonly booting = new Map<string, Promise<void>>();
  private readonly booted = new Set<string>();
  private readonly closing = new AbortController();
  private readonly ttlTimers = new Set<WallClockTimer>();
  /** Evictions and lost nodes of any Job's pods, by pod name. */
  readonly disruptions = new PodDisruptions();

  private constructor(
    readonly store: ObjectStore,
    readonly api: FakeApiServer,
    private readonly options: ClusterOptions,
  ) {
    this.network = new ServiceNetwork({ backendPort: options.generation.backendPort });
    store.watch((object) => this.onChange(object));
  }

  static async start(options: ClusterOptions): Promise<Cluster> {
    const certificates = join(options.workDirectory, 'api-server');
    mkdirSync(certificates, { recursive: true });
    const certificate = makeApiCertificate(certificates);
    const store = new ObjectStore({ rootCa: certificate.ca, defaultNamespace: options.namespace });
    const api = new FakeApiServer(store, certificate);
    await api.start();
    return new Cluster(store, api, options);
  }

  /** `kubectl apply -f` of the objects, in the given order; an object refused is reported, the others still applied, as kubectl does. */
  apply(objects: readonly KubeObject[], options: ApplyOptions = {}): AppliedObject[] {
    const created: IJob[] = [];
    const results = ordered(objects, options.order ?? 'forward').map((manifest): AppliedObject => {
      const where = {
        kind: manifest.kind,
        namespace: manifest.metadata?.namespace,
        name: manifest.metadata?.name ?? '',
      };
      try {
        const { object, action } = this.store.apply(manifest);
        if (object.kind === 'Job' && action === 'created') created.push(object as unknown as IJob);
        return { ...where, action };
      } catch (error) {
        if (error instanceof ApiError) return { ...where, error: error.message };
        throw error;
      }
    });
    for (const job of created) this.startJob(job, options.hooks?.(job) ?? {});
    return results;
  }

  /** `kubectl apply -f dir/`: the directory's YAML files in lexical order, each file's objects in order, then reordered by `options.order`. */
  applyDirectory(directory: string, options: ApplyOptions = {}): AppliedObject[] {
    return this.apply(readDirectory(directory), options);
  }

  /** The Job of that name (the last created), or of the only Job whose name starts with `<prefix>-` followed by a hash. */
  job(nameOrPrefix: string): JobHandle {
    const exact = this.jobs.filter((handle) => handle.name === nameOrPrefix);
    if (exact.length > 0) return exact[exact.length - 1];
    const hashed = this.jobs.filter((handle) => new RegExp(`^${nameOrPrefix}-[0-9a-f]{8}$`).test(handle.name));
    if (hashed.length !== 1)
      throw new Error(
        `expected one Job named ${nameOrPrefix} or ${nameOrPrefix}-<hash>, found ${hashed.map((h) => h.name).join(', ') || 'none'}`,
      );
    return hashed[0];
  }

  /** Resolves once every StatefulSet applied so far has booted (RabbitMQ: created its user) and its Services accept connections. */
  async brokersBooted(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.pendingBrokers().length > 0) {
      if (Date.now() > deadline)
        throw new Error(
          `RabbitMQ StatefulSet ${this.pendingBrokers().join(', ')} did not boot within ${timeoutMs / 1000} s: its credentials Secret never appeared`,
        );
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await Promise.all(this.booting.values());
    await this.network.opened();
  }

  /** The address a pod of `namespace` (or a controller running there, as KEDA's operator) reaches `host` at, when it names a Service. */
  serviceAddress(host: string, namespace = this.store.defaultNamespace): string | undefined {
    return this.network.resolve(host, namespace);
  }

  /** Deletes every Job (their pods with them), waits for them, removes the brokers' users and stops the API server. */
  async close(): Promise<void> {
    this.closing.abort();
    for (const timer of this.ttlTimers) timer.cancel();
    for (const handle of this.jobs) handle.delete();
    await Promise.allSettled(this.jobs.map((handle) => handle.run));
    await Promise.allSettled(this.booting.values());
    await this.network.close();
    for (const user of this.brokerUsers) await deleteBrokerUser(user.username, this.options.generation.rabbitmqctl);
    await this.api.stop();
  }

  private startJob(job: IJob, hooks: ClusterJobHooks): void {
    const name = job.metadata!.name!;
    const namespace = job.metadata!.namespace ?? this.store.defaultNamespace;
    const deletion = new AbortController();
    // Closing the cluster deletes a running Job; a finished one lets go of the shared signal, which
    // would otherwise gather a listener per Job (MaxListenersExceededWarning in a long autoscale run).
    const deleteOnClose = () => deletion.abort();
    this.closing.signal.addEventListener('abort', deleteOnClose, { once: true });
    const finished = () => this.closing.signal.removeEventListener('abort', deleteOnClose);
    const pods: Pod[] = [];
    const context: PodContext = {
      jobName: name,
      namespace,
      template: job.spec!.template,
      objects: this.store.source(namespace),
      hosts: () => this.hostNames(namespace),
      workDirectory: this.options.workDirectory,
      api: {
        host: '127.0.0.1',
        port: this.api.port,
        serviceAccount: (ns, account) => this.store.get('ServiceAccount', ns, account),
        issueToken: (user) => this.api.issueToken(user),
      },
      pendingTimeoutMs: this.options.pendingTimeoutMs,
      signal: deletion.signal,
    };
    const statuses: JobStatus[] = [];
    let deleted: JobDeletion | undefined;
    let resolveDeleted: (deletion: JobDeletion) => void = () => undefined;
    const markDeleted = (by: JobDeletion['by']): void => {
      if (deleted) return;
      deleted = { at: Date.now(), by };
      resolveDeleted(deleted);
      hooks.onDeleted?.(deleted);
    };
    const run = runJob(job, {
      ...hooks,
      startPod: (podName, template) => startPod(context, podName, template),
      onPodStarted: (pod) => {
        pods.push(pod);
        hooks.onPodStarted?.(pod);
      },
      onStatus: (status) => {
        statuses.push(status);
        hooks.onStatus?.(status);
      },
      signal: deletion.signal,
      disruptions: this.disruptions,
    });
    run.then(
      (result) => {
        finished();
        // processJob: deleted once the TTL after the Complete or Failed condition has passed; its pods
        // have terminated by then (the 1.31+ end) and are deleted first (Foreground).
        const expiresAt = ttlExpiresAt(job, result);
        if (expiresAt === undefined || this.closing.signal.aborted) return;
        const timer = wallClockTimeout(() => {
          this.ttlTimers.delete(timer);
          markDeleted('TTLAfterFinished');
        }, expiresAt - Date.now());
        this.ttlTimers.add(timer);
      },
      () => finished(), // the error is awaited by whoever asks for the Job; not unhandled meanwhile
    );
    this.jobs.push({
      name,
      namespace,
      job,
      createdAt: Date.now(),
      pods,
      run,
      statuses,
      deleted: new Promise((resolve) => (resolveDeleted = resolve)),
      deletion: () => deleted,
      delete: () => {
        deletion.abort();
        markDeleted('kubectl');
      },
    });
  }

  /** The names of every Service in the store as a pod of `namespace` resolves them, each with its Service's address. */
  private hostNames(namespace: string): HostEntry[] {
    return this.network.hosts(namespace);
  }

  private onChange(object: KubeObject): void {
    if (this.closing.signal.aborted) return;
    if (object.kind === 'Service') {
      this.network.add(object as unknown as IService);
      this.openGates();
    }
    if (object.kind === 'StatefulSet' || object.kind === 'Secret')
      for (const key of this.pendingBrokers()) this.tryBoot(key);
  }

  private pendingBrokers(): string[] {
    return (this.store.list('StatefulSet') as unknown as IStatefulSet[])
      .map((set) => `${String(set.metadata!.namespace)}/${String(set.metadata!.name)}`)
      .filter((key) => !this.booting.has(key));
  }

  /** Boots the broker (RabbitMQ once its Secret resolves), never again for the same StatefulSet, then opens its Services. */
  private tryBoot(key: string): void {
    const [namespace, name] = key.split('/');
    const set = this.store.get('StatefulSet', namespace, name) as unknown as IStatefulSet;
    let boot: Promise<void> = Promise.resolve();
    if (isRabbitMq(set)) {
      const user = defaultUser(set, this.store.source(namespace));
      if (!user) return;
      boot = firstBoot(user, this.options.generation.rabbitmqctl).then((booted) => void this.brokerUsers.push(booted));
    }
    const booting = boot.then(() => {
      this.booted.add(key);
      this.openGates();
      return this.network.opened();
    });
    booting.catch(() => undefined); // awaited by brokersBooted; not unhandled meanwhile
    this.booting.set(key, booting);
  }

  private openGates(): void {
    if (this.closing.signal.aborted) return;
    const booted = [...this.booted].map((key) => {
      const [namespace, name] = key.split('/');
      return this.store.get('StatefulSet', namespace, name) as unknown as IStatefulSet;
    });
    this.network.open(booted.filter(Boolean));
  }
}

/** The objects of a directory's `.yaml`, `.yml` and `.json` files, in kubectl's order. */
export function readDirectory(directory: string): KubeObject[] {
  return readdirSync(directory)
    .filter((file) => /\.(ya?ml|json)$/.test(file))
    .sort()
    .flatMap((file) => (Yaml.load(join(directory, file)) as KubeObject[]).filter(Boolean));
}

export function describeApply(results: AppliedObject[], order: ApplyOrder): string {
  const lines = results.map(
    (r) => `${r.kind.toLowerCase()}/${r.name} ${String(r.error ? `error: ${r.error}` : r.action)}`,
  );
  return `kubectl apply, ${describeOrder(order)}:\n  ${lines.join('\n  ')}`;
}
