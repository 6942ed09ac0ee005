import { App, type Chart } from 'cdk8s';
import type * as kplus from 'cdk8s-plus-28';
import * as pulumi from '@pulumi/pulumi';
import { describeProblem } from '../../contract';
import { WorkQueueJob, type WorkQueuePattern } from '../../constructs';
import { type WorkQueueStackConfig } from '../config';
import {
  buildWorkQueueStack,
  type IndexedStackTree,
  type QueueStackTree,
  type WorkQueueStackTree,
} from '../work-queue-stack';

/** A synthesized Kubernetes object, as `cdk8s synth` writes it. */
export type KubernetesObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  [key: string]: unknown;
};

/**
 * Annotations of pulumi-kubernetes (provider/pkg/metadata/annotations.go) that the component puts
 * on the Jobs it awaits. Object metadata: changing them updates a Job in place.
 */
const JOB_ANNOTATIONS: Readonly<Record<string, string>> = {
  // A JobAwait awaits the Job; pulumi-kubernetes returns once it is created.
  'pulumi.com/skipAwait': 'true',
  // skipAwait also skips awaiting a Job's deletion (allowsSkipAwaitWithDelete, metadata/overrides.go),
  // and a Job deleted in the foreground outlives the call until its pods are gone: its replacement,
  // of the same name, would be refused with AlreadyExists. Deleted in the background, it is gone at once.
  'pulumi.com/deletionPropagationPolicy': 'background',
};

/** A queue stack's objects as the component applies them, in this order. */
export interface QueueStackObjects {
  readonly pattern: WorkQueuePattern;
  /** The broker's client Service, the host in `BROKER_URL`. */
  readonly brokerHost: string;
  readonly broker: KubernetesObject[];
  /** The seeder chart less its Job: the items ConfigMap. */
  readonly seeder: KubernetesObject[];
  readonly seedJob: KubernetesObject;
  /** The worker Job; none with `autoscale`. */
  readonly workerJob?: KubernetesObject;
  /** The worker Job's name as rendered (`<jobName>-<hash>`), or with `autoscale` the ScaledJob's. */
  readonly jobName: string;
  /** The job chart less the worker Job: with `autoscale`, KEDA's ScaledJob and TriggerAuthentication. */
  readonly workers: KubernetesObject[];
}

/** An indexed stack's objects as the component applies them, in this order: no broker, nothing seeded. */
export interface IndexedStackObjects {
  readonly pattern: 'indexed';
  /** The job chart less its Job: the ConfigMaps of the items, which the Job's pods mount. */
  readonly items: KubernetesObject[];
  /** The Indexed Job. */
  readonly workerJob: KubernetesObject;
  /** The Job's name as rendered (`<jobName>-<hash>`). */
  readonly jobName: string;
}

/** A stack's objects, told apart by `pattern`. */
export type StackObjects = QueueStackObjects | IndexedStackObjects;

/** The objects of a queue stack: what the component renders for a `stack.pattern` other than `indexed`. */
export function queueStackObjects(objects: StackObjects): QueueStackObjects {
  if (objects.pattern === 'indexed')
    throw new pulumi.RunError(
      describeProblem('stack.pattern', objects.pattern, '"coarse" or "fine" for a queue stack'),
    );
  return objects;
}

/** The worker Job of a queue stack: there is one unless `stack.autoscale` has KEDA create the Jobs. */
export function workerJobOf(objects: QueueStackObjects): KubernetesObject {
  if (objects.workerJob === undefined)
    throw new pulumi.RunError(describeProblem('stack.autoscale', 'set', 'no autoscale for a worker Job of its own'));
  return objects.workerJob;
}

/** The objects of an indexed stack: what the component renders for `stack.pattern` `indexed`. */
export function indexedStackObjects(objects: StackObjects): IndexedStackObjects {
  if (objects.pattern !== 'indexed')
    throw new pulumi.RunError(describeProblem('stack.pattern', objects.pattern, '"indexed" for an indexed stack'));
  return objects;
}

/**
 * Builds the same charts as `cdk8s synth` (`buildWorkQueueStack`) and returns their objects,
 * reading from the constructs which object is which. A config the constructs reject fails here
 * with their message, as a Pulumi RunError (one line, no stack trace).
 */
export function renderStack(config: WorkQueueStackConfig): StackObjects {
  const tree = buildChecked(config);
  return tree.pattern === 'indexed' ? indexedObjects(tree) : queueObjects(tree);
}

/**
 * Has the constructs check a config as `renderStack` does, synthesizing nothing: for a component
 * to fail before it registers any child, with stand-ins for the values that are not known yet
 * (an image still to be built, secrets still to be generated).
 */
export function checkStack(config: WorkQueueStackConfig): void {
  buildChecked(config);
}

function buildChecked(config: WorkQueueStackConfig): WorkQueueStackTree {
  try {
    return buildWorkQueueStack(new App(), config);
  } catch (error) {
    throw new pulumi.RunError((error as Error).message);
  }
}

function queueObjects(tree: QueueStackTree): QueueStackObjects {
  const workerJob = tree.job instanceof WorkQueueJob ? tree.job.job : undefined;
  annotate(tree.seeder.job, workerJob);
  const seeder = splitOff(tree.charts.seeder, tree.seeder.job);
  const workers = splitOff(tree.charts.job, workerJob);
  return {
    pattern: tree.pattern,
    brokerHost: tree.broker.connection.host,
    broker: objectsOf(tree.charts.broker),
    seeder: seeder.others,
    seedJob: synthesizedOf(seeder.job, tree.seeder.job),
    workerJob: workers.job,
    jobName: tree.job instanceof WorkQueueJob ? tree.job.job.name : tree.job.name,
    workers: workers.others,
  };
}

function indexedObjects(tree: IndexedStackTree): IndexedStackObjects {
  annotate(tree.job.job);
  const chart = splitOff(tree.charts.job, tree.job.job);
  return {
    pattern: 'indexed',
    items: chart.others,
    workerJob: synthesizedOf(chart.job, tree.job.job),
    jobName: tree.job.job.name,
  };
}

/** Puts JOB_ANNOTATIONS on the Jobs that the component awaits itself. */
function annotate(...jobs: (kplus.Job | undefined)[]): void {
  for (const job of jobs) {
    for (const [key, value] of Object.entries(JOB_ANNOTATIONS)) job?.metadata.addAnnotation(key, value);
  }
}

/** A chart's objects, with the one `job` synthesizes apart (a chart's names are unique). */
function splitOff(chart: Chart, job: kplus.Job | undefined): { job?: KubernetesObject; others: KubernetesObject[] } {
  const objects = objectsOf(chart);
  const isJob = (object: KubernetesObject) =>
    job !== undefined && object.kind === 'Job' && object.metadata.name === job.name;
  return { job: objects.find(isJob), others: objects.filter((object) => !isJob(object)) };
}

/** The object a chart synthesized for a Job of the stack: every such Job is in its chart. */
function synthesizedOf(object: KubernetesObject | undefined, job: kplus.Job): KubernetesObject {
  if (object === undefined) throw new Error(`the synthesized charts hold no Job named "${job.name}"`);
  return object;
}

/** A chart's synthesized objects (cdk8s types them as `any[]`). */
function objectsOf(chart: Chart): KubernetesObject[] {
  return chart.toJson() as KubernetesObject[];
}
