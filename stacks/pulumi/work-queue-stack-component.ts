import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { describeProblem, Rules } from '../../contract';
import { type ClusterAccessArgs, clusterAccessOf, JobAwait } from './job-await/job-await';
import type * as BrokerPassword from './broker-password';
import { defined } from './defined';
import { PROJECT_ROOT } from './project-root';
import {
  checkStack,
  indexedStackObjects,
  type IndexedStackObjects,
  type KubernetesObject,
  queueStackObjects,
  type QueueStackObjects,
  renderStack,
  type StackObjects,
  workerJobOf,
} from './stack-objects';
import {
  DEFAULT_JOB_TIMEOUT_SECONDS,
  SEED_TIMEOUT_SECONDS,
  type StackFields,
  type WorkQueueStackArgs,
} from './work-queue-stack-args';
import type * as WorkerImage from './worker-image';

export * from './work-queue-stack-args';

/** A reference by digest, which pins what every node runs. */
const DIGEST_REFERENCE = /@sha256:[0-9a-f]{64}$/;
/**
 * Stand-ins for the image and the secrets (password, Erlang cookie) while the constructs check the
 * config before anything is built or generated. They only stand where such a value will be: the
 * constructs' checks depend on whether it is given, not on what it is. Neither reaches a cluster.
 */
const STAND_IN_IMAGE = `placeholder.invalid/work-queue@sha256:${'0'.repeat(64)}`;
const STAND_IN_SECRET = 'placeholder-secret';

/**
 * One work-queue stack on a cluster, applied in order and each step awaited: the Namespace (when
 * `namespace` is given), the broker (pulumi-kubernetes awaits its StatefulSet or Pod until ready;
 * its Service passes after a 10 s settle, endpoints or not), the seeding Job, the worker Job; with
 * pattern `indexed`, the items' ConfigMaps and the Indexed Job, no broker and no seeding. And the
 * worker image, built and pushed unless `image` is given. Each Job is awaited by a JobAwait, which
 * fails `pulumi up` as soon as the Job fails.
 *
 * The component registers itself first; then the constructs check the config, with stand-ins for
 * what is not known yet, before any child is registered (a config they reject fails with their
 * message, building and applying nothing). The charts are rendered once, when the image, the
 * namespace and the broker's secrets are known, and every object applied comes from that one render.
 *
 * The Kubernetes provider comes from the resource options (`provider` or `providers`), else the
 * default one; the awaits reach the cluster with its `kubeconfig` and `context`. Children are named
 * `<name>-<part>`.
 */
export class WorkQueueStack extends pulumi.ComponentResource {
  /** The image reference both Jobs run: the given `image`, or the pushed `<registry>/<repository>@sha256:...`. */
  public readonly image: pulumi.Output<string>;
  /** The broker's client Service, the host in `BROKER_URL`; none with pattern `indexed`. */
  public readonly brokerHost?: pulumi.Output<string>;
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
    super('work-queue:index:WorkQueueStack', name, {}, opts);
    const { stack } = args;
    checkArgs(args);
    checkBeforeRender(args);
    this.queue = stack.queue;

    this.image = args.image === undefined ? this.builtImage(name, args) : givenImage(args.image, this);
    const rendered = this.render(name, args, this.image);
    const clients = clientObjects(rendered, this.image, args.namespace);
    const namespace =
      (args.createNamespace ?? args.namespace !== undefined)
        ? [new k8s.core.v1.Namespace(`${name}-namespace`, { metadata: { name: args.namespace } }, { parent: this })]
        : [];
    const cluster = clusterAccessOf(this.getProvider('kubernetes:batch/v1:Job'));
    const awaited = {
      cluster,
      timeoutSeconds: args.jobTimeoutSeconds ?? DEFAULT_JOB_TIMEOUT_SECONDS,
      skip: args.skipJobAwait ?? false,
    };

    if (stack.pattern === 'indexed') {
      this.applyIndexed(name, clients.apply(indexedStackObjects), namespace, awaited);
    } else {
      // The broker's Secrets hold its password and a cluster's Erlang cookie: its group is secret when they are.
      const broker = rendered.apply((objects) => queueStackObjects(objects).broker);
      this.applyQueue(name, stack, clients.apply(queueStackObjects), broker, namespace, awaited);
      this.brokerHost = clients.apply((objects) => queueStackObjects(objects).brokerHost);
    }
    this.jobName = clients.apply((objects) => objects.jobName);
    this.followJob = followJobCommand(cluster, args.namespace, clients);

    this.registerOutputs({
      image: this.image,
      brokerHost: this.brokerHost,
      queue: this.queue,
      jobName: this.jobName,
      followJob: this.followJob,
    });
  }

  /**
   * The stack's objects, rendered once the image, the namespace and the broker's secrets are known.
   * The component applies the Namespace itself (the charts write none), and gives the broker its
   * secrets, so the constructs never add a credentials Job: the state is the one source of truth for them.
   */
  private render(name: string, args: WorkQueueStackArgs, image: pulumi.Output<string>): pulumi.Output<StackObjects> {
    const { stack } = args;
    const brokerPassword =
      args.brokerPassword !== undefined
        ? pulumi.secret(args.brokerPassword)
        : needsGeneratedPassword(stack)
          ? this.generatedPassword(name)
          : undefined;
    const erlangCookie =
      args.erlangCookie !== undefined
        ? pulumi.secret(args.erlangCookie)
        : isCluster(stack)
          ? this.generatedCookie(name)
          : undefined;
    return pulumi
      .all([image, args.namespace, brokerPassword, erlangCookie])
      .apply(([reference, namespace, password, cookie]) =>
        renderStack({
          ...stack,
          image: reference,
          createNamespace: false,
          ...defined({ namespace, brokerPassword: password, erlangCookie: cookie }),
        }),
      );
  }

  /** Broker, then the items ConfigMap and the seeding Job (awaited), then the worker Job (awaited) or KEDA's ScaledJob. */
  private applyQueue(
    name: string,
    stack: StackFields,
    clients: pulumi.Output<QueueStackObjects>,
    brokerObjects: pulumi.Output<KubernetesObject[]>,
    namespace: pulumi.Resource[],
    awaited: WorkerJobAwait,
  ): void {
    const broker = new k8s.yaml.v2.ConfigGroup(
      `${name}-broker`,
      { objs: brokerObjects },
      { parent: this, dependsOn: namespace },
    );
    const seeder = new k8s.yaml.v2.ConfigGroup(
      `${name}-seeder`,
      { objs: clients.seeder },
      { parent: this, dependsOn: [broker] },
    );
    const seedJob = new k8s.batch.v1.Job(`${name}-seed-job`, jobArgs(clients.seedJob), {
      parent: this,
      dependsOn: [seeder],
    });
    const seeded = new JobAwait(
      `${name}-seed-job-await`,
      { job: seedJob, timeoutSeconds: SEED_TIMEOUT_SECONDS, cluster: awaited.cluster },
      { parent: this },
    );
    if (stack.autoscale) {
      // KEDA's ScaledJob, which creates worker Jobs while the queue has items: nothing to await.
      new k8s.yaml.v2.ConfigGroup(`${name}-workers`, { objs: clients.workers }, { parent: this, dependsOn: [seeded] });
    } else {
      const workerJob = new k8s.batch.v1.Job(`${name}-job`, jobArgs(clients.apply(workerJobOf)), {
        parent: this,
        dependsOn: [seeded],
      });
      this.awaitWorkerJob(name, workerJob, awaited);
    }
  }

  /** The items' ConfigMaps, then the Indexed Job that mounts them (awaited): no broker, no password, nothing seeded. */
  private applyIndexed(
    name: string,
    clients: pulumi.Output<IndexedStackObjects>,
    namespace: pulumi.Resource[],
    awaited: WorkerJobAwait,
  ): void {
    const items = new k8s.yaml.v2.ConfigGroup(
      `${name}-items`,
      { objs: clients.items },
      { parent: this, dependsOn: namespace },
    );
    const job = new k8s.batch.v1.Job(`${name}-job`, jobArgs(clients.workerJob), { parent: this, dependsOn: [items] });
    this.awaitWorkerJob(name, job, awaited);
  }

  private awaitWorkerJob(name: string, job: k8s.batch.v1.Job, awaited: WorkerJobAwait): void {
    if (awaited.skip) return;
    new JobAwait(
      `${name}-job-await`,
      { job, timeoutSeconds: awaited.timeoutSeconds, cluster: awaited.cluster },
      { parent: this },
    );
  }

  /** Checks where the image would be pushed and built from before anything is built. */
  private builtImage(name: string, args: WorkQueueStackArgs): pulumi.Output<string> {
    if (args.registry === undefined)
      throw problem('registry', undefined, 'where to push the built image ({ server, repository }), or an image');
    const context = args.buildContext ?? PROJECT_ROOT;
    const { buildWorkerImage, checkBuildContext } = workerImageModule();
    checkBuildContext(context);
    return buildWorkerImage(name, args.registry, context, this);
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
function workerImageModule(): typeof WorkerImage {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose: an optional peer dependency, loaded where a constructor cannot await import()
  return require('./worker-image') as typeof WorkerImage;
}

/** Loaded only to generate: with a configured password or Redis, @pulumi/random need not be installed. */
function brokerPasswordModule(): typeof BrokerPassword {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose: an optional peer dependency, loaded where a constructor cannot await import()
  return require('./broker-password') as typeof BrokerPassword;
}

/** A RabbitMQ cluster, whose nodes share an Erlang cookie. */
function isCluster(stack: StackFields): boolean {
  return stack.broker === 'rabbitmq' && (stack.brokerReplicas ?? 1) > 1;
}

/**
 * Has the constructs check the config before the component registers any child, with the messages
 * of `cdk8s synth`: a bad config builds no image and applies nothing, and `pulumi preview` shows it
 * even where the image or a secret is not known yet. Each value that is not known yet (an output,
 * or still to be built or generated) has a stand-in; the render checks it once it is known.
 */
function checkBeforeRender(args: WorkQueueStackArgs): void {
  const { stack } = args;
  const known = (value: pulumi.Input<string> | undefined, standIn: string) =>
    typeof value === 'string' ? value : standIn;
  const password = args.brokerPassword ?? (needsGeneratedPassword(stack) ? STAND_IN_SECRET : undefined);
  const cookie = args.erlangCookie ?? (isCluster(stack) ? STAND_IN_SECRET : undefined);
  checkStack({
    ...stack,
    image: known(args.image, STAND_IN_IMAGE),
    createNamespace: false,
    ...defined({
      namespace: typeof args.namespace === 'string' ? args.namespace : undefined,
      brokerPassword: password === undefined ? undefined : known(password, STAND_IN_SECRET),
      erlangCookie: cookie === undefined ? undefined : known(cookie, STAND_IN_SECRET),
    }),
  });
}

/** RabbitMQ needs a password; without one or a Secret of the user's, the component generates it. */
function needsGeneratedPassword(stack: StackFields): boolean {
  return stack.broker === 'rabbitmq' && stack.brokerSecretName === undefined;
}

/** Checks the plain args the constructs do not see, before the component registers any child. */
function checkArgs(args: WorkQueueStackArgs): void {
  const timeout = Rules.positiveInteger(args.jobTimeoutSeconds);
  if (args.jobTimeoutSeconds !== undefined && timeout !== undefined)
    throw problem('jobTimeoutSeconds', args.jobTimeoutSeconds, timeout);
  if (args.createNamespace && args.namespace === undefined) {
    throw problem(
      'createNamespace',
      true,
      'false or nothing when there is no namespace (give namespace, the one to create)',
    );
  }
}

function problem(field: string, value: unknown, expected: string): pulumi.RunError {
  return new pulumi.RunError(describeProblem(field, value, expected));
}

/**
 * The given image. A reference by tag gives a warning once it is known: each node runs whatever
 * the tag named when it pulled it, and pushing it again re-runs nothing.
 */
function givenImage(image: pulumi.Input<string>, component: pulumi.Resource): pulumi.Output<string> {
  return pulumi.output(image).apply((reference) => {
    if (!DIGEST_REFERENCE.test(reference)) {
      // Not awaited: the engine shows the warning whenever it arrives.
      void pulumi.log.warn(
        describeProblem(
          'image',
          reference,
          'a digest reference (<repository>@sha256:...): with a tag each node runs ' +
            'whatever the tag named when it pulled it, and pushing it again re-runs nothing',
        ),
        component,
      );
    }
    return reference;
  });
}

/**
 * The objects the clients apply: everything but the broker. They hold the image and the namespace
 * but never the broker's secrets, which they read through a secretKeyRef, so they are secret only
 * when the image or the namespace is.
 */
function clientObjects(
  rendered: pulumi.Output<StackObjects>,
  image: pulumi.Output<string>,
  namespace: pulumi.Input<string> | undefined,
): pulumi.Output<StackObjects> {
  return pulumi.all([image, namespace]).apply(() => pulumi.unsecret(rendered));
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
function followJobCommand(
  cluster: ClusterAccessArgs,
  namespace: pulumi.Input<string> | undefined,
  clients: pulumi.Output<StackObjects>,
): pulumi.Output<string> {
  return pulumi.all([cluster.context, namespace, clients]).apply(([context, namespaceName, objects]) => {
    const target = [
      ...(context ? ['--context', context] : []),
      ...(namespaceName ? ['--namespace', namespaceName] : []),
    ];
    const workerJob: KubernetesObject | undefined = objects.workerJob;
    const spec = (workerJob?.spec ?? {}) as {
      completions?: number;
      parallelism?: number;
      backoffLimit?: number;
      backoffLimitPerIndex?: number;
    };
    // The constructs set these where they apply; the fallbacks are Kubernetes' defaults.
    const pods =
      spec.backoffLimitPerIndex !== undefined
        ? (spec.completions ?? 1) * (spec.backoffLimitPerIndex + 1)
        : (spec.completions ?? spec.parallelism ?? 1) + (spec.backoffLimit ?? 6);
    return [
      'kubectl',
      ...target,
      'logs',
      '--follow',
      '--prefix',
      '--selector',
      `job-name=${objects.jobName}`,
      '--max-log-requests',
      String(pods),
    ].join(' ');
  });
}
