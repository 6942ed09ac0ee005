import * as path from 'path';
import * as docker from '@pulumi/docker';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { WorkQueueProgramConfig } from './config';
import { brokerHost, renderManifests, withJobAwait } from './manifests';

/** The repository root: the image's build context, since the worker imports the shared contract module. */
const REPO_ROOT = path.resolve(__dirname, '..', '..');

/**
 * Stand-ins for the digest and the password where their values do not matter: when the program
 * checks the config at start (so a bad value fails `pulumi preview` before any image is built), for
 * the broker chart (which holds no worker image), and for the seeder and worker Job charts (which
 * read the password through a secretKeyRef and never contain it). Neither reaches a cluster.
 */
const PLACEHOLDER_IMAGE = `placeholder.invalid/work-queue@sha256:${'0'.repeat(64)}`;
const PLACEHOLDER_PASSWORD = 'placeholder-password';

/**
 * One work-queue stack on a cluster: the worker image built and pushed, then the broker, the
 * seeding Job and the worker Job applied as three `yaml.v2.ConfigGroup`s, each awaited before the
 * next starts.
 */
export class WorkQueueStack extends pulumi.ComponentResource {
  /** `<registry>/<repository>@sha256:...`, the reference both Jobs run. */
  public readonly imageDigest: pulumi.Output<string>;
  /** The broker's client Service, the host in `BROKER_URL`. */
  public readonly brokerHost: string;
  public readonly queue: string;
  public readonly jobName: string;
  /** A `kubectl` command that follows the worker pods' logs. */
  public readonly followJob: string;
  /** The three groups, in the order they are applied. */
  public readonly groups: { readonly broker: k8s.yaml.v2.ConfigGroup; readonly seeder: k8s.yaml.v2.ConfigGroup; readonly job: k8s.yaml.v2.ConfigGroup };

  constructor(name: string, args: WorkQueueProgramConfig, opts?: pulumi.ComponentResourceOptions) {
    const { stack } = args;
    const passwordKind = brokerPasswordKind(args);
    const render = (image: string) => renderManifests(passwordKind === 'none' ? { ...stack, image } : { ...stack, image, brokerPassword: PLACEHOLDER_PASSWORD });
    // The constructs check every field now, with the same messages as `cdk8s synth`.
    const checked = render(PLACEHOLDER_IMAGE);

    super('work-queue:index:WorkQueueStack', name, {}, opts);
    this.brokerHost = brokerHost(checked);
    this.queue = stack.queue;
    this.jobName = stack.jobName;
    this.followJob = followJobCommand(stack, args.context);

    const image = new docker.Image(`${name}-worker`, {
      imageName: `${args.registry.server}/${args.registry.repository}:${pulumi.getStack()}`,
      build: buildContext(),
      registry: { server: args.registry.server, username: args.registry.username, password: args.registry.password },
    }, { parent: this });
    this.imageDigest = image.repoDigest;

    // The Job templates change only when the digest or the items do, so an unchanged re-run leaves
    // both Jobs alone. The password must be as stable: RabbitMQ creates its user on first boot only.
    const password = passwordKind === 'config' ? args.brokerPassword : passwordKind === 'generated' ? this.generatedPassword(name) : undefined;
    // The broker's Secret is rendered inside an apply on the password: the whole group is a secret.
    const brokerObjects = password ? password.apply((secret) => renderManifests({ ...stack, image: PLACEHOLDER_IMAGE, brokerPassword: secret }).broker) : checked.broker;
    const jobAwait = { timeoutSeconds: args.jobTimeoutSeconds, skip: args.skipJobAwait };
    const clients = image.repoDigest.apply((digest) => {
      const manifests = render(digest);
      return { seeder: manifests.seeder, job: withJobAwait(manifests.job, stack.jobName, jobAwait) };
    });

    const provider = new k8s.Provider(`${name}-cluster`, {
      kubeconfig: args.kubeconfig,
      context: args.context,
      namespace: stack.namespace,
    }, { parent: this });

    // Depending on a remote component such as a v2 ConfigGroup waits for all of its children, each
    // awaited by pulumi-kubernetes: the broker's StatefulSet or Pod until ready, then the seeding
    // Job until complete, then the worker Job until complete (or its timeout annotation runs out).
    const broker = new k8s.yaml.v2.ConfigGroup(`${stack.name}-broker`, { objs: brokerObjects }, { parent: this, provider });
    const seeder = new k8s.yaml.v2.ConfigGroup(`${stack.name}-seeder`, { objs: clients.seeder }, { parent: this, provider, dependsOn: [broker] });
    const job = new k8s.yaml.v2.ConfigGroup(`${stack.name}-job`, { objs: clients.job }, { parent: this, provider, dependsOn: [seeder] });
    this.groups = { broker, seeder, job };

    this.registerOutputs({
      imageDigest: this.imageDigest,
      brokerHost: this.brokerHost,
      queue: this.queue,
      jobName: this.jobName,
      followJob: this.followJob,
    });
  }

  private generatedPassword(name: string): pulumi.Output<string> {
    // Generated once, then kept in the state: stable across runs. URL-unreserved characters only,
    // since it is expanded into BROKER_URL as it is.
    const generated = new random.RandomPassword(`${name}-broker-password`, { length: 32, special: false }, { parent: this });
    return pulumi.secret(generated.result);
  }
}

type PasswordKind = 'config' | 'generated' | 'none';

/** Where the broker password comes from: the config, a generated one (RabbitMQ needs one), or none. */
function brokerPasswordKind(args: WorkQueueProgramConfig): PasswordKind {
  if (args.brokerPassword !== undefined) return 'config';
  if (args.stack.broker === 'rabbitmq' && args.stack.brokerSecretName === undefined) return 'generated';
  return 'none';
}

/** The build context and Dockerfile, relative to the working directory (the project root under `pulumi up`) so the state is the same on every machine. */
function buildContext(): docker.types.input.DockerBuild {
  const context = path.relative(process.cwd(), REPO_ROOT) || '.';
  return { context, dockerfile: path.join(context, 'worker', 'Dockerfile') };
}

function followJobCommand(stack: WorkQueueProgramConfig['stack'], context: string | undefined): string {
  const target = [...(context ? ['--context', context] : []), ...(stack.namespace ? ['--namespace', stack.namespace] : [])];
  return ['kubectl', ...target, 'logs', '--follow', '--prefix', '--selector', `job-name=${stack.jobName}`, '--max-log-requests', String(stack.parallelism ?? 2)].join(' ');
}
