import * as pulumi from '@pulumi/pulumi';
import { App } from 'cdk8s';
import { WorkQueueStackConfig } from '../config';
import { addWorkQueueStack } from '../work-queue-stack';

/** A synthesized Kubernetes object, as `cdk8s synth` writes it. */
export type KubernetesObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; [key: string]: unknown };

/** The objects of the three groups, in the order they are applied and awaited. */
export interface StackManifests {
  readonly broker: KubernetesObject[];
  readonly seeder: KubernetesObject[];
  readonly job: KubernetesObject[];
}

/**
 * Annotations that pulumi-kubernetes reads on each object. They are the only way to tune the await
 * of objects applied by a `yaml.v2.ConfigGroup`: the group registers its children with nothing but
 * `parent` as resource option, so a `customTimeouts` given to the group never reaches them (and the
 * provider would read `customTimeouts` first, then this annotation, then its 10-minute Job default).
 */
export const AwaitAnnotations = {
  timeoutSeconds: 'pulumi.com/timeoutSeconds',
  skipAwait: 'pulumi.com/skipAwait',
} as const;

/** How `pulumi up` waits for the worker Job. */
export interface JobAwait {
  readonly timeoutSeconds: number;
  readonly skip: boolean;
}

/**
 * Builds the same three charts as `cdk8s synth` (broker, seeder, worker Job) with
 * `addWorkQueueStack` and returns their objects. A config the constructs reject fails here with
 * their message, as a Pulumi RunError (one line, no stack trace), before anything is deployed.
 */
export function renderManifests(config: WorkQueueStackConfig): StackManifests {
  try {
    const charts = addWorkQueueStack(new App(), config);
    return {
      broker: charts.broker.toJson() as KubernetesObject[],
      seeder: charts.seeder.toJson() as KubernetesObject[],
      job: charts.job.toJson() as KubernetesObject[],
    };
  } catch (error) {
    throw new pulumi.RunError((error as Error).message);
  }
}

/** Adds the await annotations to the worker Job `jobName` (a metadata change: the Job is updated, not replaced). */
export function withJobAwait(objects: KubernetesObject[], jobName: string, jobAwait: JobAwait): KubernetesObject[] {
  return objects.map((object) => {
    if (object.kind !== 'Job' || object.metadata.name !== jobName) return object;
    const annotations = {
      ...object.metadata.annotations,
      [AwaitAnnotations.timeoutSeconds]: String(jobAwait.timeoutSeconds),
      ...(jobAwait.skip ? { [AwaitAnnotations.skipAwait]: 'true' } : {}),
    };
    return { ...object, metadata: { ...object.metadata, annotations } };
  });
}

/** Name of the broker's client Service, the host in `BROKER_URL`. */
export function brokerHost(manifests: StackManifests): string {
  const services = manifests.broker.filter((object) => object.kind === 'Service');
  if (services.length !== 1) throw new Error(`expected one Service in the broker chart, found ${services.length}`);
  return services[0].metadata.name;
}
