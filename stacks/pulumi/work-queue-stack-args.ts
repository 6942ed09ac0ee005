import * as pulumi from '@pulumi/pulumi';
import { WorkQueueStackConfig } from '../config';

/**
 * The stack config less what the component supplies itself: the image, the broker's secrets, and
 * the Namespace (its own `createNamespace`, a resource it applies before the broker).
 */
export type StackFields = Omit<WorkQueueStackConfig, 'image' | 'brokerPassword' | 'erlangCookie' | 'createNamespace'>;

/** Where a built worker image is pushed. */
export interface RegistryConfig {
  /** Registry host, with a port when not the default: `localhost:5001`, `ghcr.io`. */
  readonly server: string;
  /** Repository below the server: `work-queue`, `my-org/work-queue`. */
  readonly repository: string;
  /** @default - no login (a local registry) */
  readonly username?: string;
  /** @default - no login */
  readonly password?: pulumi.Input<string>;
}

/**
 * What a WorkQueueStack is built from. The cluster is not among them: the component takes the
 * Kubernetes provider through its resource options (`provider` or `providers`), as any component does.
 */
export interface WorkQueueStackArgs {
  /** Broker, queue, items and Jobs, checked by the constructs with the messages of `cdk8s synth`. */
  readonly stack: StackFields;
  /**
   * An existing worker image that both Jobs run, best a digest reference
   * (`registry.example.com/work-queue@sha256:...`; a tag gives a warning). With it nothing is
   * built, and `pulumi preview` needs no Docker daemon.
   * @default - built from `buildContext` and pushed to `registry`; both Jobs run the pushed digest
   */
  readonly image?: string;
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
   * Apply a Namespace named `stack.namespace` before the broker. `false` for a namespace that exists already.
   * @default - true when `stack.namespace` is set
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
