import type * as pulumi from '@pulumi/pulumi';
import { type WorkQueueStackConfig } from '../config';
export type { AutoscaleConfig, BrokerKind, StackPattern, WorkQueueStackConfig } from '../config';

/**
 * The stack config less what the component takes as its own args: the image, the namespace and the
 * broker's secrets, which may come from other resources, and `createNamespace` (the component
 * applies the Namespace as a resource of its own, before the broker).
 *
 * Plain values, not `pulumi.Input`s: they decide which resources the component registers (the
 * pattern whether there is a broker and a seeding Job, `autoscale` whether there is a worker Job to
 * await, the broker kind whether a password is generated), and a resource graph cannot wait for an
 * output. They are the config of `cdk8s synth`, which a program knows when it starts.
 */
export type StackFields = Omit<
  WorkQueueStackConfig,
  'image' | 'namespace' | 'brokerPassword' | 'erlangCookie' | 'createNamespace'
>;

/** Where a built worker image is pushed; each part may come from a registry resource of the program. */
export interface RegistryConfig {
  /** Registry host, with a port when not the default: `localhost:5001`, `ghcr.io`. */
  readonly server: pulumi.Input<string>;
  /** Repository below the server: `work-queue`, `my-org/work-queue`. */
  readonly repository: pulumi.Input<string>;
  /** @default - no login (a local registry) */
  readonly username?: pulumi.Input<string>;
  /** @default - no login */
  readonly password?: pulumi.Input<string>;
}

/**
 * What a WorkQueueStack is built from. The values another resource may produce (the image, the
 * namespace, the broker's secrets) are `pulumi.Input`s; the component renders the charts once they
 * are all known. The cluster is not among them: the component takes the Kubernetes provider through
 * its resource options (`provider` or `providers`), as any component does.
 */
export interface WorkQueueStackArgs {
  /** Broker, queue, items and Jobs, checked by the constructs with the messages of `cdk8s synth`. */
  readonly stack: StackFields;
  /**
   * The namespace of every object, such as the name of a `k8s.core.v1.Namespace` applied elsewhere.
   * Whether it is given (not its value) decides whether the component applies a Namespace.
   * @default - the objects carry no namespace: the provider's default namespace holds them
   */
  readonly namespace?: pulumi.Input<string>;
  /**
   * An existing worker image that both Jobs run, best a digest reference
   * (`registry.example.com/work-queue@sha256:...`; a tag gives a warning), such as the `repoDigest`
   * of an image the program builds itself. With it nothing is built, and `pulumi preview` needs no
   * Docker daemon. Whether it is given (not its value) decides whether the component builds one.
   * @default - built from `buildContext` and pushed to `registry`; both Jobs run the pushed digest
   */
  readonly image?: pulumi.Input<string>;
  /** Where a built image is pushed, as `<server>/<repository>:<stack>`. Required without `image`. */
  readonly registry?: RegistryConfig;
  /**
   * A checkout of work-queue-stack: the image is built from its `worker/Dockerfile`, with the
   * checkout as the build context.
   * @default - the checkout this module is loaded from (an installed package holds no Dockerfile)
   */
  readonly buildContext?: string;
  /**
   * The broker password, best a secret.
   * @default - RabbitMQ: generated once and kept in the state; Redis: none
   */
  readonly brokerPassword?: pulumi.Input<string>;
  /**
   * The Erlang cookie of a RabbitMQ cluster (`stack.brokerReplicas` of 3 or more), best a secret.
   * @default - generated once and kept in the state
   */
  readonly erlangCookie?: pulumi.Input<string>;
  /**
   * Apply a Namespace named `namespace` before the broker. `false` for a namespace that exists
   * already or that another resource applies. Plain: it decides whether there is a Namespace resource.
   * @default - true when `namespace` is given
   */
  readonly createNamespace?: boolean;
  /**
   * Seconds `pulumi up` waits for the worker Job to complete.
   * @default DEFAULT_JOB_TIMEOUT_SECONDS
   */
  readonly jobTimeoutSeconds?: number;
  /**
   * Return once the worker Job is created instead of waiting for it to complete. The seeding Job
   * is awaited all the same, so that a failed seed fails `pulumi up` at once.
   * @default false
   */
  readonly skipJobAwait?: boolean;
}

/** Generous: the tutorials finish in about a minute, real work lists may take long. */
export const DEFAULT_JOB_TIMEOUT_SECONDS = 3600;
/** Seeding writes a list into the broker; ten minutes is what pulumi-kubernetes gives a Job too. */
export const SEED_TIMEOUT_SECONDS = 600;
