import type * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { jobAwaitProvider } from './provider';

/** Seconds between two reads of the Job: a failed Job fails `pulumi up` within about this long. */
export const DEFAULT_INTERVAL_SECONDS = 2;

/** How JobAwait reaches the cluster: what the Kubernetes provider of the Job was configured with. */
export interface ClusterAccessArgs {
  readonly kubeconfig?: pulumi.Input<string | undefined>;
  readonly context?: pulumi.Input<string | undefined>;
}

export interface JobAwaitArgs {
  /** The Job, applied with `pulumi.com/skipAwait` so that pulumi-kubernetes returns once it is created. */
  readonly job: k8s.batch.v1.Job;
  /** Seconds until a Job that neither completed nor failed fails the await. */
  readonly timeoutSeconds: pulumi.Input<number>;
  readonly cluster: ClusterAccessArgs;
  /** @default DEFAULT_INTERVAL_SECONDS */
  readonly intervalSeconds?: number;
}

/**
 * Waits until a Job completes, and fails as soon as it fails, whatever the reason, naming the Job,
 * the reason and the last log lines of the failed pod. pulumi-kubernetes' own Job await fails only
 * on the reasons BackoffLimitExceeded and DeadlineExceeded (provider/pkg/await/checker/job), so a
 * Job failed by its podFailurePolicy would hold `pulumi up` for the whole timeout.
 */
export class JobAwait extends pulumi.dynamic.Resource {
  /** Pods of the Job that succeeded. */
  public readonly succeeded!: pulumi.Output<number>;

  constructor(name: string, args: JobAwaitArgs, opts?: pulumi.CustomResourceOptions) {
    const { metadata } = args.job;
    super(
      jobAwaitProvider,
      name,
      {
        namespace: metadata.namespace,
        name: metadata.name,
        uid: metadata.uid,
        timeoutSeconds: args.timeoutSeconds,
        intervalSeconds: args.intervalSeconds ?? DEFAULT_INTERVAL_SECONDS,
        kubeconfig: args.cluster.kubeconfig === undefined ? undefined : pulumi.secret(args.cluster.kubeconfig),
        context: args.cluster.context,
        succeeded: undefined,
      },
      opts,
      'work-queue',
      'JobAwait',
    ); // type token: pulumi-nodejs:dynamic/work-queue:JobAwait
  }
}

/** The settings of pulumi-kubernetes' Provider that the await reaches the cluster with. */
type ClusterSetting = keyof Pick<k8s.ProviderArgs, 'kubeconfig' | 'context'>;

/**
 * The kubeconfig and context of a Kubernetes provider, or of the default provider (the stack's
 * `kubernetes:kubeconfig` and `kubernetes:context`, else the ambient kubeconfig) when there is none.
 */
export function clusterAccessOf(provider: pulumi.ProviderResource | undefined): ClusterAccessArgs {
  if (provider === undefined) {
    const config = new pulumi.Config('kubernetes');
    return { kubeconfig: config.getSecret('kubeconfig'), context: config.get('context') };
  }
  return { kubeconfig: registeredSetting(provider, 'kubeconfig'), context: registeredSetting(provider, 'context') };
}

/**
 * A setting the provider was registered with. pulumi-kubernetes' Provider declares its settings as
 * `ProviderArgs` only, no properties; the Node.js SDK sets an Output on a custom resource for each
 * input it registers (`transferProperties` in runtime/rpc), and a provider's inputs come back as
 * its outputs. Undefined for a setting it was not given.
 */
function registeredSetting(
  provider: pulumi.ProviderResource,
  setting: ClusterSetting,
): pulumi.Output<string | undefined> | undefined {
  const registered: unknown = Reflect.get(provider, setting);
  return pulumi.Output.isInstance<string | undefined>(registered) ? registered : undefined;
}
