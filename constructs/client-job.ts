import { createHash } from 'crypto';
import { ApiObject, Duration, JsonPatch, Names } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { type Construct, type IConstruct } from 'constructs';
import { Defaults, describeProblem, Env, ExitCode, PropRules, Rules, SCRATCH_DIRECTORY } from '../contract';
import { type IWorkQueueBroker } from './broker';
import { imagePullPolicy } from './image-pull-policy';
import { mountItems } from './items-config-maps';
import { appLabels } from './labels';
import { containerResources } from './resources';
import { hardenedContainer } from './security';
import { ensureUniqueNames, registerGivenName } from './unique-names';
import { secondsOf } from './seconds';
import { check, checkDuration, checkRequired, fail } from './validate';

/** The worker image's non-root user (`node` in the official Node.js images). */
export const WORKER_UID = 1000;

/** Hex digits of the hash that ends a Job's name. */
const JOB_NAME_HASH_LENGTH = 8;

/** Longest name a Job is given: `-<hash>` must still fit the 63 characters of a label (its pods' `job-name`). */
export const MAX_JOB_NAME_LENGTH = 63 - 1 - JOB_NAME_HASH_LENGTH;

/**
 * The fields of a Job's spec that Kubernetes lets `kubectl apply` change on an existing Job. Every
 * other field (the pod template, completions, the failure policy, ...) is in the hash of its name,
 * so a change of one of them is a new Job instead of a "field is immutable" error.
 */
const MUTABLE_JOB_SPEC_FIELDS: readonly string[] = [
  'parallelism',
  'backoffLimit',
  'activeDeadlineSeconds',
  'ttlSecondsAfterFinished',
  'suspend',
];

/** What every Job that runs the worker image takes: the seeding Job, the worker Jobs, the Indexed Job. */
export interface WorkerImageProps {
  /** The worker image, a tag or, better, a digest reference. */
  readonly image: string;
  /**
   * Name of the Job before its hash: the Job is `<name>-<8 hex digits>`, the hash of everything
   * Kubernetes cannot change on an existing Job (its pod template, completions), so a changed batch
   * (items, image, work settings, run) is a new Job. A DNS-1123 label of at most 54 characters; it
   * is also the `app.kubernetes.io/instance` label of the Job and its pods.
   * @default - derived from the construct path (at most 54 characters)
   */
  readonly name?: string;
  /**
   * How long a finished Job is kept (with its pods' logs) before Kubernetes deletes it; it also
   * removes the Jobs of earlier batches, which a changed batch leaves behind under other names.
   * Whole seconds.
   * @default Duration.days(1)
   */
  readonly ttlAfterFinished?: Duration;
  /**
   * CPU and memory of the container.
   * @default - requests 100m CPU and 128Mi memory; limits 1 CPU and 512Mi memory
   */
  readonly resources?: kplus.ContainerResources;
}

/** What the seeding Job and the worker Job both take: the Jobs that run the worker image against a broker. */
export interface ClientJobProps extends WorkerImageProps {
  /**
   * How long a lost broker connection (a restart, a failover) is retried before the container gives
   * up with exit code 3 (`BROKER_RETRY_SECONDS`); `Duration.seconds(0)` gives up at once.
   * @default Duration.minutes(1)
   */
  readonly brokerRetry?: Duration;
}

/** Everything `createClientJob` builds a Job from, defaults resolved by the construct. */
export interface ClientJobSettings extends ClientJobProps {
  /** Whether the Job's name ends in the hash of its immutable fields (false only for a template that is not applied as a Job). */
  readonly nameByHash: boolean;
  readonly subcommand: string;
  /** `app.kubernetes.io/component` of the Job and its pods. */
  readonly component: string;
  readonly broker: IWorkQueueBroker;
  readonly queue: string;
  /** Further variables, after the broker's and QUEUE. */
  readonly env: Record<string, string>;
  /** ConfigMaps of items (`itemsConfigMaps`), mounted at ITEMS_DIRECTORY. @default - none */
  readonly items?: readonly kplus.ConfigMap[];
  readonly podAnnotations?: Record<string, string>;
  readonly parallelism?: number;
  readonly completions?: number;
  readonly backoffLimit: number;
  readonly activeDeadline?: Duration;
}

/** Everything a Job running the worker image is built from: a client Job's, or the credentials Job's. */
export interface WorkerImageJobSettings {
  /** The Job's name, or with `nameByHash` the name its hash is appended to. */
  readonly name: string;
  readonly nameByHash: boolean;
  /** Labels of the Job and its pods. */
  readonly labels: Record<string, string>;
  readonly image: string;
  readonly args: string[];
  /** The container's variables, in order: a later one may expand an earlier one with `$(VAR)`. */
  readonly env: Record<string, kplus.EnvValue>;
  /** ConfigMaps of items (`itemsConfigMaps`), mounted at ITEMS_DIRECTORY. @default - none */
  readonly items?: readonly kplus.ConfigMap[];
  readonly podAnnotations?: Record<string, string>;
  readonly parallelism?: number;
  readonly completions?: number;
  /** @default - none: only with `indexed`, whose default Kubernetes sets to 2147483647 */
  readonly backoffLimit?: number;
  /** Makes it an Indexed Job, with per-index retries. @default - not indexed */
  readonly indexed?: IndexedCompletion;
  readonly activeDeadline?: Duration;
  readonly ttlAfterFinished: Duration;
  readonly resources: kplus.ContainerResources;
  /** The pods' service account, whose token is then mounted. @default - none, and no token */
  readonly serviceAccount?: kplus.IServiceAccount;
  /** Completes the Job before its name is derived from it, e.g. admits it to its broker. */
  readonly configure?: (job: kplus.Job) => void;
}

/**
 * What makes a Job Indexed (`completionMode: Indexed`): each pod gets its index, failures are counted
 * per index, and the bad-input exit code fails the pod's index instead of the Job.
 */
export interface IndexedCompletion {
  /** Failed pods of an index before the index fails (`backoffLimitPerIndex`). */
  readonly backoffLimitPerIndex: number;
  /** Failed indexes before the Job fails (`maxFailedIndexes`). @default - none: every index runs */
  readonly maxFailedIndexes?: number;
  /** Succeeded indexes that complete the Job (a `successPolicy` rule). @default - none: every index must succeed */
  readonly succeededCount?: number;
}

export const DEFAULT_TTL_AFTER_FINISHED = Duration.days(1);

/** A worker container's resources unless given: requests 100m CPU and 128Mi memory; limits 1 CPU and 512Mi memory. */
export function defaultWorkerResources(): kplus.ContainerResources {
  return containerResources({ cpuMillis: { request: 100, limit: 1000 }, memoryMiB: { request: 128, limit: 512 } });
}

/** Checks the props every Job of the worker image has, in the construct's own error form. */
export function checkWorkerImageProps(scope: IConstruct, props: WorkerImageProps): void {
  checkRequired(scope, 'image', props.image, PropRules.image);
  check(scope, 'name', props.name, PropRules.dnsLabel);
  checkDuration(scope, 'ttlAfterFinished', props.ttlAfterFinished, Rules.nonNegativeInteger);
}

/** Checks the props every client Job has, in the construct's own error form. */
export function checkClientJobProps(scope: IConstruct, props: ClientJobProps): void {
  checkWorkerImageProps(scope, props);
  checkDuration(scope, 'brokerRetry', props.brokerRetry, Rules.nonNegativeNumber);
}

/** The name of an unnamed Job of `scope`: its construct path as a DNS label, short enough for the hash. */
export function derivedJobName(scope: Construct): string {
  return Names.toDnsLabel(scope, { includeHash: false, maxLen: MAX_JOB_NAME_LENGTH });
}

/**
 * A Job whose pods run the worker image against a broker: the broker's client environment, then
 * QUEUE, BROKER_RETRY_SECONDS and the settings' own variables. Its broker admits it and orders it
 * after itself.
 */
export function createClientJob(scope: Construct, id: string, settings: ClientJobSettings): kplus.Job {
  const name = settings.name ?? derivedJobName(scope);
  const env: Record<string, kplus.EnvValue> = {};
  for (const { name: variable, value } of settings.broker.clientEnv) env[variable] = value;
  env[Env.queue] = kplus.EnvValue.fromValue(settings.queue);
  env[Env.brokerRetrySeconds] = kplus.EnvValue.fromValue(
    String(secondsOf(settings.brokerRetry) ?? Defaults.brokerRetrySeconds),
  );
  for (const [variable, value] of Object.entries(settings.env)) env[variable] = kplus.EnvValue.fromValue(value);

  return createWorkerImageJob(scope, id, {
    name,
    nameByHash: settings.nameByHash,
    labels: appLabels(scope, 'work-queue', name, settings.component),
    image: settings.image,
    args: [settings.subcommand],
    env,
    items: settings.items,
    podAnnotations: settings.podAnnotations,
    parallelism: settings.parallelism,
    completions: settings.completions,
    backoffLimit: settings.backoffLimit,
    activeDeadline: settings.activeDeadline,
    ttlAfterFinished: settings.ttlAfterFinished ?? DEFAULT_TTL_AFTER_FINISHED,
    resources: settings.resources ?? defaultWorkerResources(),
    configure: (job) => settings.broker.admitClient(job),
  });
}

/**
 * A Job whose pods run the worker image and meet the Pod Security Standards "restricted" profile:
 * non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp and a
 * read-only root filesystem with an emptyDir for /tmp.
 *
 * With `nameByHash` it is named `<name>-<hash>`, the hash of its synthesized spec less the fields
 * Kubernetes lets an update change (`MUTABLE_JOB_SPEC_FIELDS`). The Job is built once to hash what
 * it synthesizes, then again under that name (its pod template does not contain its name: the
 * `instance` label is the name before the hash); a synth-time check fails if the Job was changed
 * after it was named.
 */
export function createWorkerImageJob(scope: Construct, id: string, settings: WorkerImageJobSettings): kplus.Job {
  if (!settings.nameByHash) return buildJob(scope, id, settings.name, settings);
  if (settings.name.length > MAX_JOB_NAME_LENGTH) {
    fail(
      scope,
      'name',
      settings.name,
      `at most ${MAX_JOB_NAME_LENGTH} characters: the Job's name is "<name>-<8 hex digits>", which must fit a 63-character label`,
    );
  }
  const hash = immutableSpecHash(buildJob(scope, id, settings.name, settings));
  scope.node.tryRemoveChild(id);
  const job = buildJob(scope, id, `${settings.name}-${hash}`, settings);
  registerGivenName(ApiObject.of(job), settings.name);
  job.node.addValidation({
    validate: () => {
      const now = immutableSpecHash(job);
      if (now === hash) return [];
      const expected =
        `"${settings.name}-${now}", the hash of what Kubernetes cannot change on an existing Job: the Job was changed after ` +
        `${scope.node.path} named it; change it through the construct's props, so that its name follows`;
      return [`${scope.node.path}: ${describeProblem('name', job.name, expected)}`];
    },
  });
  return job;
}

function buildJob(scope: Construct, id: string, name: string, settings: WorkerImageJobSettings): kplus.Job {
  const job = new kplus.Job(scope, id, {
    metadata: { name, labels: settings.labels },
    podMetadata: { labels: settings.labels, annotations: settings.podAnnotations },
    backoffLimit: settings.backoffLimit,
    activeDeadline: settings.activeDeadline,
    ttlAfterFinished: settings.ttlAfterFinished,
    restartPolicy: kplus.RestartPolicy.NEVER,
    serviceAccount: settings.serviceAccount,
    automountServiceAccountToken: settings.serviceAccount !== undefined,
    securityContext: { user: WORKER_UID, group: WORKER_UID, ensureNonRoot: true },
  });
  job.addContainer({
    name: 'work-queue',
    image: settings.image,
    imagePullPolicy: imagePullPolicy(settings.image),
    args: settings.args,
    envVariables: settings.env,
    resources: settings.resources,
    securityContext: hardenedContainer(WORKER_UID),
    volumeMounts: [{ path: SCRATCH_DIRECTORY, volume: kplus.Volume.fromEmptyDir(job, 'Scratch', 'tmp') }],
  });

  const spec = ApiObject.of(job);
  const { indexed } = settings;
  // A pod that exits with the "bad input" code fails the same way on every retry: fail the Job (an
  // Indexed Job: that index) at once. Evictions and preemptions are not the work's fault and do
  // not count against backoffLimit (backoffLimitPerIndex).
  spec.addJsonPatch(
    JsonPatch.add('/spec/podFailurePolicy', {
      rules: [
        {
          action: indexed ? 'FailIndex' : 'FailJob',
          onExitCodes: { containerName: 'work-queue', operator: 'In', values: [ExitCode.badInput] },
        },
        { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
      ],
    }),
    JsonPatch.add('/spec/template/spec/securityContext/seccompProfile', { type: 'RuntimeDefault' }),
    // The worker writes a termination message; a pod that failed before it could (a crash, an
    // unexpected error) shows the last lines of its log there instead (cdk8s-plus-28 has no prop for it).
    JsonPatch.add('/spec/template/spec/containers/0/terminationMessagePolicy', 'FallbackToLogsOnError'),
  );
  if (settings.parallelism !== undefined) spec.addJsonPatch(JsonPatch.add('/spec/parallelism', settings.parallelism));
  if (settings.completions !== undefined) spec.addJsonPatch(JsonPatch.add('/spec/completions', settings.completions));
  if (indexed) {
    spec.addJsonPatch(
      JsonPatch.add('/spec/completionMode', 'Indexed'),
      JsonPatch.add('/spec/backoffLimitPerIndex', indexed.backoffLimitPerIndex),
    );
    if (indexed.maxFailedIndexes !== undefined)
      spec.addJsonPatch(JsonPatch.add('/spec/maxFailedIndexes', indexed.maxFailedIndexes));
    if (indexed.succeededCount !== undefined)
      addNewerSpecFields(job, { successPolicy: { rules: [{ succeededCount: indexed.succeededCount }] } });
  }

  if (settings.items) mountItems(job, settings.items);
  settings.configure?.(job);
  ensureUniqueNames(job);
  return job;
}

/**
 * Adds spec fields newer than the Kubernetes 1.28 API. cdk8s-plus-28's Job object serializes only
 * the fields 1.28 knows and drops every other one, JSON patches included, so these are added to
 * what it serializes, keys sorted as cdk8s sorts them.
 */
function addNewerSpecFields(job: kplus.Job, fields: Record<string, unknown>): void {
  const apiObject = ApiObject.of(job);
  const serialize = apiObject.toJson.bind(apiObject);
  apiObject.toJson = () => {
    const json = serialize() as { spec: Record<string, unknown> };
    const spec = { ...json.spec, ...fields };
    return {
      ...json,
      spec: Object.fromEntries(
        Object.keys(spec)
          .sort()
          .map((key) => [key, spec[key]]),
      ),
    };
  };
}

/** The hash of a Job's synthesized spec without its mutable fields, over JSON with sorted keys. */
function immutableSpecHash(job: kplus.Job): string {
  const { spec } = ApiObject.of(job).toJson() as { spec: Record<string, unknown> };
  const immutable = Object.fromEntries(
    Object.entries(spec).filter(([field]) => !MUTABLE_JOB_SPEC_FIELDS.includes(field)),
  );
  return createHash('sha256').update(canonicalJson(immutable)).digest('hex').slice(0, JOB_NAME_HASH_LENGTH);
}

/** JSON with the keys of every object sorted, so that the same value always gives the same text. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
