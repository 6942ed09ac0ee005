import * as path from 'path';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { describeProblem, Rules } from '../../contract';
import { ClusterAccessArgs, clusterAccessOf, JobAwait } from './job-await/job-await';
import { IndexedStackObjects, KubernetesObject, QueueStackObjects, renderStack, StackObjects } from './stack-objects';
import { DEFAULT_JOB_TIMEOUT_SECONDS, SEED_TIMEOUT_SECONDS, StackFields, WorkQueueStackArgs } from './work-queue-stack-args';

export * from './work-queue-stack-args';

/** The checkout this module is loaded from: the default build context, with worker/Dockerfile. */
const CHECKOUT_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Stand-ins for the image and the secrets (password, Erlang cookie) where their values do not matter: when the constructs
 * check the config (before anything is built), for the broker chart (which holds no worker image),
 * and for the seeder and worker Job (which read the password through a secretKeyRef and never
 * contain it). Neither reaches a cluster.
 */
const PLACEHOLDER_IMAGE = `placeholder.invalid/work-queue@sha256:${'0'.repeat(64)}`;
const PLACEHOLDER_PASSWORD = 'placeholder-password';
const DIGEST_REFERENCE = /@sha256:[0-9a-f]{64}$/;

/**
 * One work-queue stack on a cluster, applied in order and each step awaited: the Namespace (when
 * `stack.namespace` is set), the broker (pulumi-kubernetes awaits its StatefulSet or Pod until
 * ready; its Service passes after a 10 s settle, endpoints or not), the seeding Job, the worker
 * Job; with pattern `indexed`, the items' ConfigMaps and the Indexed Job, no broker and no seeding.
 * And the worker image, built and pushed unless `image` is given. Each Job is awaited by a
 * JobAwait, which fails `pulumi up` as soon as the Job fails.
 *
 * The Kubernetes provider comes from the resource options (`provider` or `providers`), else the
 * default one; the awaits reach the cluster with its `kubeconfig` and `context`. Children are named
 * `<name>-<part>`.
 */
export class WorkQueueStack extends pulumi.ComponentResource {
  /** The image reference both Jobs run: the given `image`, or the pushed `<registry>/<repository>@sha256:...`. */
  public readonly image: pulumi.Output<string>;
  /** The broker's client Service, the host in `BROKER_URL`; none with pattern `indexed`. */
  public readonly brokerHost?: string;
  /** None with pattern `indexed`. */
  public readonly queue?: string;
  /**
   * The worker Job's name as applied, `<stack.jobName>-<hash>` (a changed batch is a new Job), or
   * with `stack.autoscale` the ScaledJob's; known once the image is.
   */
  public readonly jobName: pulumi.Output<string>;
  /** A `kubectl` command that follows the worker pods' logs, every pod the Job can have. */
  public readonly followJob: pulumi.Output<string>;

  constructor(name: string, args: WorkQueueStackArgs, opts?: pulumi.ComponentResourceOptions) {
    const { stack } = args;
    const password = passwordSource(args);
    // The component applies the Namespace itself; the broker chart writes none. The secrets are
    // always given where the broker needs them, so the constructs never add a credentials Job:
    // the state is the one source of truth for them.
    const render = (image: string, brokerPassword?: string, erlangCookie?: string) =>
      renderStack({
        ...stack,
        image,
        createNamespace: false,
        ...(brokerPassword === undefined ? {} : { brokerPassword }),
        ...(erlangCookie === undefined ? {} : { erlangCookie }),
      });
    const clientPassword = password === 'none' ? undefined : PLACEHOLDER_PASSWORD;
    const cookieGiven = args.erlangCookie !== undefined || isCluster(stack);
    // Everything is checked before anything is registered, with the messages of `cdk8s synth`.
    const checked = render(args.image ?? PLACEHOLDER_IMAGE, clientPassword, cookieGiven ? PLACEHOLDER_PASSWORD : undefined);
    checkArgs(args);

    super('work-queue:index:WorkQueueStack', name, {}, opts);
    if (args.image !== undefined && !DIGEST_REFERENCE.test(args.image)) {
      // Not awaited: a constructor cannot, and the engine shows the warning whenever it arrives.
      void pulumi.log.warn(
        describeProblem(
          'image',
          args.image,
          'a digest reference (<repository>@sha256:...): with a tag each node runs ' +
            'whatever the tag named when it pulled it, and pushing it again re-runs nothing',
        ),
        this,
      );
    }
    this.queue = stack.queue;

    const image = args.image !== undefined ? pulumi.output(args.image) : this.builtImage(name, args);
    this.image = image;
    // With a given image the checked objects are the ones applied; a built one is known once pushed.
    // The config is the same, so the objects are of the checked pattern.
    const rendered = <T extends StackObjects>(): pulumi.Output<T> =>
      image.apply((reference) => (args.image !== undefined ? checked : render(reference, clientPassword)) as T);
    const namespace =
      (args.createNamespace ?? stack.namespace !== undefined)
        ? [new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: stack.namespace } }, { parent: this })]
        : [];
    const cluster = clusterAccessOf(this.getProvider('kubernetes:batch/v1:Job'));
    const awaited = { cluster, timeoutSeconds: args.jobTimeoutSeconds ?? DEFAULT_JOB_TIMEOUT_SECONDS, skip: args.skipJobAwait ?? false };

    let clients: pulumi.Output<StackObjects>;
    if (checked.pattern === 'indexed') {
      const objects = rendered<IndexedStackObjects>();
      this.applyIndexed(name, objects, namespace, awaited);
      clients = objects;
    } else {
      this.brokerHost = checked.brokerHost;
      // The broker's Secrets hold the password and a cluster's Erlang cookie: that group is rendered
      // inside an apply on the secrets.
      const brokerPassword = password === 'config' ? pulumi.secret(args.brokerPassword!) : password === 'generated' ? this.generatedPassword(name) : undefined;
      const erlangCookie = args.erlangCookie !== undefined ? pulumi.secret(args.erlangCookie) : isCluster(stack) ? this.generatedCookie(name) : undefined;
      const brokerObjects =
        brokerPassword || erlangCookie
          ? pulumi.all([brokerPassword, erlangCookie]).apply(([secret, cookie]) => (render(PLACEHOLDER_IMAGE, secret, cookie) as QueueStackObjects).broker)
          : checked.broker;
      const objects = rendered<QueueStackObjects>();
      this.applyQueue(name, checked, objects, brokerObjects, namespace, awaited);
      clients = objects;
    }
    this.jobName = clients.apply((objects) => objects.jobName);
    this.followJob = followJobCommand(stack, cluster, clients);

    this.registerOutputs({
      image: this.image,
      brokerHost: this.brokerHost,
      queue: this.queue,
      jobName: this.jobName,
      followJob: this.followJob,
    });
  }

  /** Broker, then the items ConfigMap and the seeding Job (awaited), then the worker Job (awaited) or KEDA's ScaledJob. */
  private applyQueue(
    name: string,
    checked: QueueStackObjects,
    clients: pulumi.Output<QueueStackObjects>,
    brokerObjects: pulumi.Input<KubernetesObject[]>,
    namespace: pulumi.Resource[],
    awaited: WorkerJobAwait,
  ): void {
    const broker = new k8s.yaml.v2.ConfigGroup(`${name}-broker`, { objs: brokerObjects }, { parent: this, dependsOn: namespace });
    const seeder = new k8s.yaml.v2.ConfigGroup(`${name}-seeder`, { objs: clients.seeder }, { parent: this, dependsOn: [broker] });
    const seedJob = new k8s.batch.v1.Job(`${name}-seed-job`, jobArgs(clients.seedJob), { parent: this, dependsOn: [seeder] });
    const seeded = new JobAwait(`${name}-seed-job-await`, { job: seedJob, timeoutSeconds: SEED_TIMEOUT_SECONDS, cluster: awaited.cluster }, { parent: this });
    if (checked.workerJob) {
      const workerJob = new k8s.batch.v1.Job(`${name}-job`, jobArgs(clients.apply((objects) => objects.workerJob!)), { parent: this, dependsOn: [seeded] });
      this.awaitWorkerJob(name, workerJob, awaited);
    }
    if (checked.workers.length > 0) {
      // With autoscale: KEDA's ScaledJob, which creates worker Jobs while the queue has items.
      new k8s.yaml.v2.ConfigGroup(`${name}-workers`, { objs: clients.workers }, { parent: this, dependsOn: [seeded] });
    }
  }

  /** The items' ConfigMaps, then the Indexed Job that mounts them (awaited): no broker, no password, nothing seeded. */
  private applyIndexed(name: string, clients: pulumi.Output<IndexedStackObjects>, namespace: pulumi.Resource[], awaited: WorkerJobAwait): void {
    const items = new k8s.yaml.v2.ConfigGroup(`${name}-items`, { objs: clients.items }, { parent: this, dependsOn: namespace });
    const job = new k8s.batch.v1.Job(`${name}-job`, jobArgs(clients.workerJob), { parent: this, dependsOn: [items] });
    this.awaitWorkerJob(name, job, awaited);
  }

  private awaitWorkerJob(name: string, job: k8s.batch.v1.Job, awaited: WorkerJobAwait): void {
    if (awaited.skip) return;
    new JobAwait(`${name}-job-await`, { job, timeoutSeconds: awaited.timeoutSeconds, cluster: awaited.cluster }, { parent: this });
  }

  private builtImage(name: string, args: WorkQueueStackArgs): pulumi.Output<string> {
    const { buildWorkerImage } = workerImageModule();
    return buildWorkerImage(name, args.registry!, args.buildContext ?? CHECKOUT_ROOT, this);
  }

  private generatedPassword(name: string): pulumi.Output<string> {
    const { generatedBrokerPassword } = brokerPasswordModule();
    return generatedBrokerPassword(name, this);
  }

  private generatedCookie(name: string): pulumi.Output<string> {
    const { generatedErlangCookie } = brokerPasswordModule();
    return generatedErlangCookie(name, this);
  }
}

/** How the worker Job is awaited: the cluster, the timeout, or not at all (`skipJobAwait`). */
interface WorkerJobAwait {
  readonly cluster: ClusterAccessArgs;
  readonly timeoutSeconds: number;
  readonly skip: boolean;
}

/** Loaded only to build or check a build context: with a given image, @pulumi/docker need not be installed. */
function workerImageModule(): typeof import('./worker-image') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose: an optional peer dependency, loaded where a constructor cannot await import()
  return require('./worker-image') as typeof import('./worker-image');
}

/** Loaded only to generate: with a configured password or Redis, @pulumi/random need not be installed. */
function brokerPasswordModule(): typeof import('./broker-password') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose: an optional peer dependency, loaded where a constructor cannot await import()
  return require('./broker-password') as typeof import('./broker-password');
}

/** A RabbitMQ cluster, whose nodes share an Erlang cookie. */
function isCluster(stack: StackFields): boolean {
  return stack.broker === 'rabbitmq' && (stack.brokerReplicas ?? 1) > 1;
}

type PasswordSource = 'config' | 'generated' | 'none';

/** Where the broker password comes from: the args, a generated one (RabbitMQ needs one), or none. */
function passwordSource(args: WorkQueueStackArgs): PasswordSource {
  if (args.brokerPassword !== undefined) return 'config';
  if (args.stack.broker === 'rabbitmq' && args.stack.brokerSecretName === undefined) return 'generated';
  return 'none';
}

/** Checks the args the constructs do not see. */
function checkArgs(args: WorkQueueStackArgs): void {
  const problem = (field: string, value: unknown, expected: string) => new pulumi.RunError(describeProblem(field, value, expected));
  if (args.image === undefined) {
    if (args.registry === undefined) throw problem('registry', undefined, 'where to push the built image ({ server, repository }), or an image');
    const { checkBuildContext } = workerImageModule();
    checkBuildContext(args.buildContext ?? CHECKOUT_ROOT);
  }
  const timeout = Rules.positiveInteger(args.jobTimeoutSeconds);
  if (args.jobTimeoutSeconds !== undefined && timeout !== undefined) throw problem('jobTimeoutSeconds', args.jobTimeoutSeconds, timeout);
  if (args.createNamespace && args.stack.namespace === undefined) {
    throw problem('createNamespace', true, 'false or nothing when there is no namespace (set stack.namespace to the one to create)');
  }
}

/** A Job's args from its synthesized object. */
function jobArgs(job: pulumi.Output<KubernetesObject>): k8s.batch.v1.JobArgs {
  return {
    metadata: job.apply((object) => object.metadata),
    spec: job.apply((object) => object.spec as k8s.types.input.batch.v1.JobSpec),
  };
}

/**
 * `kubectl logs --follow` of the worker Job's pods. kubectl refuses a selector that matches more
 * pods than `--max-log-requests`, finished ones included, so it is every pod the Job can have:
 * one per completion (coarse) or per parallel worker (fine: once one has drained the queue no
 * other starts), plus the failed pods the Job retries (`backoffLimit`); for an Indexed Job, each
 * index's pods (`backoffLimitPerIndex` retries of each).
 */
function followJobCommand(stack: StackFields, cluster: ClusterAccessArgs, clients: pulumi.Output<StackObjects>): pulumi.Output<string> {
  return pulumi.all([cluster.context, clients]).apply(([context, objects]) => {
    const target = [...(context ? ['--context', context] : []), ...(stack.namespace ? ['--namespace', stack.namespace] : [])];
    const spec = (objects.workerJob?.spec ?? {}) as { completions?: number; parallelism?: number; backoffLimit?: number; backoffLimitPerIndex?: number };
    // The constructs set these where they apply; the fallbacks are Kubernetes' defaults.
    const pods =
      spec.backoffLimitPerIndex !== undefined
        ? (spec.completions ?? 1) * (spec.backoffLimitPerIndex + 1)
        : (spec.completions ?? spec.parallelism ?? 1) + (spec.backoffLimit ?? 6);
    return ['kubectl', ...target, 'logs', '--follow', '--prefix', '--selector', `job-name=${objects.jobName}`, '--max-log-requests', String(pods)].join(' ');
  });
}
