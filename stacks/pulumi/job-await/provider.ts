/**
 * The dynamic provider of JobAwait: everything that runs in Pulumi's dynamic provider process.
 *
 * Pulumi serializes the provider object with every function and value it reaches and runs the
 * text in a Node.js process of its own, in the program's working directory. A value reached
 * through another module's exports is written as `require(<its path>)`: from an installed package
 * that is a path its `exports` map does not export, and the process fails to load the provider.
 * So this module imports nothing at run time but Node.js built-ins (types are erased), its
 * functions call each other by their module-local names, and @kubernetes/client-node is imported
 * when the provider runs. test/stacks/job-await.test.ts checks all three on the serialized text.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import type * as pulumi from '@pulumi/pulumi';
import type * as ClientNodeModule from '@kubernetes/client-node';
import type { ClusterError, ClusterReader } from './cluster-reader';
import type { ContainerStatus, Job, JobCondition, JobTarget, Pod } from './job-objects';

/** The inputs of a JobAwait as its provider receives them: plain values, null where unset. */
export interface JobAwaitInputs {
  readonly namespace: string;
  readonly name: string;
  /** The Job instance to await: a replaced Job has a new uid, and is awaited again. */
  readonly uid: string;
  readonly timeoutSeconds: number;
  readonly intervalSeconds: number;
  /** Path or contents of a kubeconfig, as pulumi-kubernetes takes it. @default - the ambient kubeconfig */
  readonly kubeconfig?: string | null;
  /** @default - the kubeconfig's current context */
  readonly context?: string | null;
}

/** What a JobAwait keeps in the state: the inputs less the kubeconfig, and the count of succeeded pods. */
export interface JobAwaitOutputs extends Omit<JobAwaitInputs, 'kubeconfig'> {
  readonly succeeded: number;
}

/**
 * Create awaits the Job; a new Job uid replaces the resource, so a replaced Job is awaited again;
 * any other change is stored without waiting. Delete is left out: the Job is pulumi-kubernetes'.
 */
export const jobAwaitProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: JobAwaitInputs) {
    const cluster = await connectToCluster(inputs.kubeconfig, inputs.context).catch((error: unknown) => {
      throw new Error(
        `${describeJob(inputs)} cannot be awaited: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
    const succeeded = await awaitJob(cluster, inputs, inputs.timeoutSeconds, inputs.intervalSeconds, (line) =>
      console.log(line),
    );
    return { id: inputs.uid, outs: { ...withoutKubeconfig(inputs), succeeded } };
  },

  diff(_id: string, olds: JobAwaitOutputs, news: JobAwaitInputs) {
    const replaces = olds.uid === news.uid ? [] : ['uid'];
    // Changing these awaits nothing: the Job's run is the same.
    const changed = (['namespace', 'name', 'timeoutSeconds', 'intervalSeconds', 'context'] as const).some(
      (key) => olds[key] !== news[key],
    );
    return Promise.resolve({ changes: replaces.length > 0 || changed, replaces, deleteBeforeReplace: false });
  },

  update(_id: string, olds: JobAwaitOutputs, news: JobAwaitInputs) {
    return Promise.resolve({ outs: { ...withoutKubeconfig(news), succeeded: olds.succeeded } });
  },
};

/** The inputs as the state keeps them: the kubeconfig may be a secret's contents, and is left out. */
function withoutKubeconfig(inputs: JobAwaitInputs): Omit<JobAwaitInputs, 'kubeconfig'> {
  const { kubeconfig, ...kept } = inputs;
  return kept;
}

// ---------------------------------------------------------------------------------------------
// Awaiting

/** How long the API may fail to answer before the await gives up (or less, when the timeout comes first). */
const UNREACHABLE_SECONDS = 30;
/** Log lines of the failed pod that go into the message. */
const LOG_TAIL_LINES = 20;

/**
 * Reads the Job every `intervalSeconds` until it completes (resolves with its succeeded pods) or
 * fails, is deleted or replaced, outlasts `timeoutSeconds`, or the API cannot be read (rejects with
 * one message that says which, naming the Job; for a failed Job also the reason and the last log
 * lines of its failed pod, or of a pod the Job controller is deleting). `report` gets a line
 * whenever the progress changes.
 *
 * Once a read shows SuccessCriteriaMet, the Job has succeeded: since Kubernetes 1.31 the Job
 * controller sets it first, deletes the pods still running, and adds Complete once none is left
 * (syncJob and enactJobFinished in pkg/controller/job/job_controller.go, kubernetes commit
 * 6ae037f1; the Job docs, "Termination of Job pods"), and the API server refuses to remove it
 * ("cannot disable the SuccessCriteriaMet=True condition", ValidateJobUpdateStatus in
 * pkg/apis/batch/validation/validation.go). The await goes on to Complete, for the final count,
 * but from then on a Job deleted (by the TTL controller: pkg/controller/ttlafterfinished deletes a
 * Job ttlSecondsAfterFinished after Complete or Failed), replaced, still terminating pods at the
 * timeout or no longer readable has succeeded all the same. pulumi-kubernetes' own Job await waits
 * for Complete only (provider/pkg/await/checker/job/check.go), from a watch that sees every change.
 */
async function awaitJob(
  cluster: ClusterReader,
  target: JobTarget,
  timeoutSeconds: number,
  intervalSeconds: number,
  report: (line: string) => void,
): Promise<number> {
  const job = describeJob(target);
  const deadline = Date.now() + timeoutSeconds * 1000;
  const pause = () =>
    new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(intervalSeconds * 1000, deadline - Date.now()))));
  let failingSince: number | undefined;
  let lastProgress: string | undefined;
  /** The Job as last read. */
  let last: Job | undefined;
  /** Its succeeded pods when a read showed SuccessCriteriaMet: then the Job has succeeded, whatever comes after. */
  let succeeded: number | undefined;
  /** Ends the await without Complete: succeeded when SuccessCriteriaMet was read (saying why it stops), else the error. */
  const endWithout = (error: Error, since: string): number => {
    if (succeeded === undefined) throw error;
    report(`${job}: succeeded (SuccessCriteriaMet); ${since}`);
    return succeeded;
  };

  for (;;) {
    let current: Job | undefined;
    try {
      current = await cluster.readJob(target.namespace, target.name);
      failingSince = undefined;
    } catch (error) {
      const reason = (error as Error).message;
      if (!(isClusterError(error) && error.transient)) {
        return endWithout(
          new Error(`${job}: cannot be read from ${cluster.server}: ${reason}`, { cause: error }),
          `it cannot be read any more: ${reason}`,
        );
      }
      failingSince ??= Date.now();
      if (Date.now() - failingSince >= UNREACHABLE_SECONDS * 1000 || Date.now() >= deadline) {
        const seconds = Math.round((Date.now() - failingSince) / 1000);
        const unreachable = `the Kubernetes API at ${cluster.server} has not answered for ${seconds} s: ${reason}`;
        return endWithout(new Error(`${job}: ${unreachable}`, { cause: error }), unreachable);
      }
      await pause();
      continue;
    }

    if (current === undefined) {
      return endWithout(
        new Error(`${job} was deleted while pulumi waited for it to complete${ttlHint(last, intervalSeconds)}`),
        'it was deleted before its Complete was read',
      );
    }
    if (current.metadata?.uid !== target.uid) {
      const uids = `uid ${String(current.metadata?.uid)}, expected ${target.uid}`;
      return endWithout(
        new Error(`${job} was replaced by another Job of the same name (${uids}) while pulumi waited for it`),
        `another Job of the same name (${uids}) has taken its place since`,
      );
    }
    last = current;
    const failed = failure(current);
    if (failed) throw new Error(await failureReport(cluster, target, current, failed));
    if (trueCondition(current, 'Complete')) return current.status?.succeeded ?? 0;
    if (trueCondition(current, 'SuccessCriteriaMet')) succeeded = current.status?.succeeded ?? 0;

    const progress = progressOf(current, hasUnreadyPods(current) ? await podsIfReadable(cluster, target) : []);
    if (progress !== lastProgress) report(`${job}: ${progress}`);
    lastProgress = progress;
    if (Date.now() >= deadline) {
      return endWithout(
        new Error(
          `${job} did not complete within ${timeoutSeconds} s (${progress}); it goes on running in the cluster`,
        ),
        `its pods were still terminating after ${timeoutSeconds} s (${progress})`,
      );
    }
    await pause();
  }
}

/**
 * Why a Job may be gone that was not seen to end: the TTL controller deletes a finished Job
 * ttlSecondsAfterFinished after its Complete or Failed (processJob and needsCleanup in
 * pkg/controller/ttlafterfinished/ttlafterfinished_controller.go), which can fall between two reads.
 */
function ttlHint(last: Job | undefined, intervalSeconds: number): string {
  const ttl = last?.spec?.ttlSecondsAfterFinished;
  if (ttl === undefined || ttl === null || ttl >= intervalSeconds) return '';
  return ` (its ttlSecondsAfterFinished, ${ttl} s, is shorter than the ${intervalSeconds} s between two reads: it may have ended and been deleted by the TTL controller in between)`;
}

function describeJob(target: JobTarget): string {
  return `Job ${target.namespace}/${target.name}`;
}

// ---------------------------------------------------------------------------------------------
// What a Job and its pods say

function trueCondition(job: Job, type: string): JobCondition | undefined {
  return job.status?.conditions?.find((condition) => condition.type === type && condition.status === 'True');
}

/**
 * The condition that says the Job has failed, whatever the reason (BackoffLimitExceeded,
 * DeadlineExceeded, PodFailurePolicy; for an Indexed Job with backoffLimitPerIndex
 * MaxFailedIndexesExceeded, once more indexes failed than maxFailedIndexes, and FailedIndexes,
 * once every index succeeded or failed and some failed). Since Kubernetes 1.31 the controller
 * first adds FailureTarget (newFailureCondition, when delayTerminalCondition: JobPodReplacementPolicy
 * or JobManagedBy on) and adds Failed, with the same reason and message, once the pods are gone
 * (newFailedConditionForFailureTarget, enactJobFinished; job_controller.go at 6ae037f1); either is final.
 */
function failure(job: Job): JobCondition | undefined {
  return trueCondition(job, 'Failed') ?? trueCondition(job, 'FailureTarget');
}

/** Whether some of the Job's running pods are not ready yet (pending, pulling their image, ...). */
function hasUnreadyPods(job: Job): boolean {
  const { active = 0, ready } = job.status ?? {};
  return ready !== undefined && active > ready;
}

/**
 * `3/8 succeeded, 2 running, 1 failed, waiting: ImagePullBackOff (2)`; without `completions` (the
 * fine pattern), the count alone; an Indexed Job's failed indexes (`status.failedIndexes`) as
 * `failed indexes 1,3-4`. Failed counts pods, so an index retried twice counts twice there.
 * Pods being deleted (`status.terminating`) and SuccessCriteriaMet, while the Job controller waits
 * for them to end before it adds Complete, are said too.
 */
function progressOf(job: Job, pods: readonly Pod[]): string {
  const { active = 0, succeeded = 0, failed = 0, failedIndexes, terminating } = job.status ?? {};
  const completions = job.spec?.completions;
  const parts = [completions ? `${succeeded}/${completions} succeeded` : `${succeeded} succeeded`, `${active} running`];
  if (failed > 0) parts.push(`${failed} failed`);
  if (failedIndexes) parts.push(`failed indexes ${describeIndexes(failedIndexes)}`);
  if (terminating) parts.push(`${terminating} terminating`);
  if (trueCondition(job, 'SuccessCriteriaMet')) parts.push('success criteria met, waiting for its pods to end');
  const waiting = new Map<string, number>();
  for (const status of pods.flatMap((pod) => pod.status?.containerStatuses ?? [])) {
    const reason = status.state?.waiting?.reason;
    if (reason) waiting.set(reason, (waiting.get(reason) ?? 0) + 1);
  }
  if (waiting.size > 0)
    parts.push(
      `waiting: ${[...waiting].map(([reason, count]) => (count > 1 ? `${reason} (${count})` : reason)).join(', ')}`,
    );
  return parts.join(', ');
}

/** The pods of this Job instance: a Job of the same name created later has another uid. */
async function podsOf(cluster: ClusterReader, target: JobTarget): Promise<Pod[]> {
  const pods = await cluster.listPods(target.namespace, `job-name=${target.name}`);
  return pods.filter((pod) => pod.metadata?.ownerReferences?.some((owner) => owner.uid === target.uid));
}

/** The Job's pods for the progress line; a failed read only leaves the waiting reasons out. */
async function podsIfReadable(cluster: ClusterReader, target: JobTarget): Promise<Pod[]> {
  return podsOf(cluster, target).catch(() => []);
}

/** The container of a failed pod that ended last, and when, or undefined for a pod that has not failed. */
function failedContainer(pod: Pod): { status: ContainerStatus; finishedAt: number } | undefined {
  if (pod.status?.phase !== 'Failed') return undefined;
  const ended = (pod.status.containerStatuses ?? [])
    .map((status) => ({ status, finishedAt: new Date(status.state?.terminated?.finishedAt ?? 0).getTime() }))
    .filter(({ status }) => status.state?.terminated);
  return ended.sort((a, b) => b.finishedAt - a.finishedAt)[0];
}

/**
 * A pod being deleted that had not succeeded. At FailureTarget (and SuccessCriteriaMet) the Job
 * controller deletes the pods still running (deleteActivePods in syncJob, job_controller.go): they
 * are listed Running with a deletionTimestamp for their grace period, then Failed, then gone once
 * the controller has counted them and removed its finalizer; Failed follows (enactJobFinished).
 */
function isTerminating(pod: Pod): boolean {
  return Boolean(pod.metadata?.deletionTimestamp) && pod.status?.phase !== 'Succeeded';
}

/** The pod whose log a failure shows, the container to read, and what is said of them. */
interface Culprit {
  readonly pod: Pod;
  readonly container: string;
  readonly exitCode?: number;
  /** Its termination message, when the container ended with one. */
  readonly message?: string;
  readonly terminating: boolean;
}

/**
 * The pod that failed last (of a failed index, when the Job has some; a pod of an index retried
 * later may not say why the index failed); when no pod failed but by being deleted (DeadlineExceeded
 * ends with every pod running, and a FailJob or maxFailedIndexes end may find the failed pod gone),
 * a terminating pod, of a failed index if one is, else the one that started first: it has run the longest.
 */
function culpritOf(pods: readonly Pod[], failedIndexes: string | undefined): Culprit | undefined {
  const intervals = failedIndexes ? indexIntervals(failedIndexes) : [];
  const ofFailedIndexFirst = <T extends { pod: Pod }>(entries: T[]) =>
    entries.find((entry) => isAmong(intervals, completionIndex(entry.pod))) ?? entries.at(0);
  const ended = pods
    .filter((pod) => !isTerminating(pod))
    .map((pod) => ({ pod, container: failedContainer(pod) }))
    .filter(
      (entry): entry is { pod: Pod; container: { status: ContainerStatus; finishedAt: number } } =>
        entry.container !== undefined,
    )
    .sort((a, b) => b.container.finishedAt - a.container.finishedAt);
  const failed = ofFailedIndexFirst(ended);
  if (failed) {
    const { status } = failed.container;
    const { exitCode, message } = status.state?.terminated ?? {};
    return { pod: failed.pod, container: status.name, exitCode, message, terminating: false };
  }
  const startedAt = (pod: Pod) => new Date(pod.status?.startTime ?? 0).getTime();
  const terminating = ofFailedIndexFirst(
    pods
      .filter(isTerminating)
      .sort((a, b) => startedAt(a) - startedAt(b))
      .map((pod) => ({ pod })),
  );
  if (!terminating) return undefined;
  const { pod } = terminating;
  const status = failedContainer(pod)?.status ?? pod.status?.containerStatuses?.[0];
  const container = status?.name ?? pod.spec?.containers?.[0]?.name;
  const { exitCode, message } = status?.state?.terminated ?? {};
  return container === undefined ? undefined : { pod, container, exitCode, message, terminating: true };
}

/**
 * One message for a failed Job: the Job, the condition's reason and message, an Indexed Job's
 * failed indexes, and the termination message and last log lines of the pod that failed last, or of a pod being deleted
 * when none failed (culpritOf), or why they could not be read. The await reads this at the first
 * FailureTarget it sees, while the pods being deleted still exist; a Job first read Failed may
 * have none left, and the message is the headline alone.
 */
async function failureReport(
  cluster: ClusterReader,
  target: JobTarget,
  job: Job,
  failed: JobCondition,
): Promise<string> {
  const failedIndexes = job.status?.failedIndexes || undefined;
  const headline =
    `${describeJob(target)} failed (${failed.reason ?? 'no reason given'})${failed.message ? `: ${failed.message}` : ''}` +
    (failedIndexes ? `; failed indexes ${describeIndexes(failedIndexes)}` : '');
  let pods: Pod[];
  try {
    pods = await podsOf(cluster, target);
  } catch (error) {
    return `${headline}\n(its pods could not be listed: ${(error as Error).message})`;
  }
  const culprit = culpritOf(pods, failedIndexes);
  if (!culprit) return headline;

  const podName = culprit.pod.metadata?.name ?? '(unnamed)';
  const index = completionIndex(culprit.pod);
  const about =
    `pod ${podName}${index === undefined ? '' : `, index ${index}`}, container ${culprit.container}` +
    (culprit.terminating ? ', terminating' : '') +
    (culprit.exitCode === undefined ? '' : `, exit code ${culprit.exitCode}`);
  let log: string;
  try {
    log = (await cluster.readLog(target.namespace, podName, culprit.container, LOG_TAIL_LINES)).trimEnd();
  } catch (error) {
    return `${headline}${quoteMessage(culprit, about)}\n(${about}: its log could not be read: ${(error as Error).message})`;
  }
  if (log === '') return `${headline}${quoteMessage(culprit, about)}\n(${about}: its log is empty)`;
  return `${headline}${quoteMessage(culprit, about, log)}\nlast lines of ${about}:\n${indent(log)}`;
}

/**
 * The culprit's termination message as a line of the report (the worker's says which item, its
 * outcome and attempts, and why it exited); none when it has none, or when it is the end of the
 * log shown below it (FallbackToLogsOnError made it from the log).
 */
function quoteMessage(culprit: Culprit, about: string, log?: string): string {
  const message = culprit.message?.trimEnd();
  if (!message || (log !== undefined && (log.endsWith(message) || message.endsWith(log)))) return '';
  return message.includes('\n')
    ? `\ntermination message of ${about}:\n${indent(message)}`
    : `\ntermination message of ${about}: ${message}`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

/** The annotation of an Indexed Job's pod that holds its index (and that its JOB_COMPLETION_INDEX comes from). */
const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';
/** Characters of an index list that go into a line; longer lists are cut at an interval and counted. */
const INDEXES_SHOWN = 100;

/** An Indexed Job's pod's index, or undefined for a pod of another Job. */
function completionIndex(pod: Pod): number | undefined {
  const text = pod.metadata?.annotations?.[COMPLETION_INDEX_ANNOTATION];
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/** The intervals of an index list as the Job's status writes it: "1,3-4" is [[1, 1], [3, 4]]. */
function indexIntervals(text: string): [number, number][] {
  return text
    .split(',')
    .map((part) => part.trim().split('-').map(Number))
    .filter((bounds) => bounds.every(Number.isInteger))
    .map((bounds) => [bounds[0], bounds.at(1) ?? bounds[0]]);
}

function isAmong(intervals: readonly [number, number][], index: number | undefined): boolean {
  return index !== undefined && intervals.some(([first, last]) => index >= first && index <= last);
}

/** An index list for one line: as it is, or cut after whole intervals with their count, `0-2,5,... (120 in all)`. */
function describeIndexes(text: string): string {
  if (text.length <= INDEXES_SHOWN) return text;
  const count = indexIntervals(text).reduce((sum, [first, last]) => sum + last - first + 1, 0);
  return `${text.slice(0, text.lastIndexOf(',', INDEXES_SHOWN))},... (${count} in all)`;
}

// ---------------------------------------------------------------------------------------------
// The Kubernetes API, through @kubernetes/client-node

type ClientNode = typeof ClientNodeModule;

/** Seconds one request may take before it counts as a transient failure. */
const REQUEST_SECONDS = 10;

/** A ClusterReader over @kubernetes/client-node, configured as pulumi-kubernetes configures its client. */
async function connectToCluster(
  kubeconfig: string | null | undefined,
  context: string | null | undefined,
): Promise<ClusterReader> {
  const k8s = await importClientNode();
  const config = new k8s.KubeConfig();
  try {
    loadKubeconfig(config, kubeconfig);
  } catch (error) {
    throw clusterError(`the kubeconfig cannot be loaded: ${(error as Error).message}`, false);
  }
  if (context) {
    if (!config.getContextObject(context)) {
      const names = config
        .getContexts()
        .map((known) => JSON.stringify(known.name))
        .join(', ');
      throw clusterError(
        `context: got ${JSON.stringify(context)}, expected one of the kubeconfig's contexts (${names || 'none'})`,
        false,
      );
    }
    config.setCurrentContext(context);
  }
  const server = config.getCurrentCluster()?.server;
  if (!server)
    throw clusterError(
      `the kubeconfig's context ${JSON.stringify(config.getCurrentContext())} names no cluster`,
      false,
    );

  const batch = config.makeApiClient(k8s.BatchV1Api);
  const core = config.makeApiClient(k8s.CoreV1Api);
  const request = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await withinSeconds(REQUEST_SECONDS, call());
    } catch (error) {
      throw asClusterError(error);
    }
  };
  return {
    server,
    readJob: async (namespace, name) => {
      try {
        return await request(() => batch.readNamespacedJob({ namespace, name }));
      } catch (error) {
        if (isClusterError(error) && error.status === 404) return undefined;
        throw error;
      }
    },
    listPods: async (namespace, labelSelector) =>
      (await request(() => core.listNamespacedPod({ namespace, labelSelector }))).items,
    readLog: (namespace, pod, container, tailLines) =>
      request(() => core.readNamespacedPodLog({ namespace, name: pod, container, tailLines })),
  };
}

/**
 * As pulumi-kubernetes reads its `kubeconfig` (parseKubeconfigString in provider/pkg/provider/util.go):
 * `~` expanded, an existing file read, anything else taken as the contents; unset, the ambient one.
 */
function loadKubeconfig(
  config: InstanceType<ClientNode['KubeConfig']>,
  pathOrContents: string | null | undefined,
): void {
  if (!pathOrContents) {
    config.loadFromDefault();
    return;
  }
  const file =
    pathOrContents === '~'
      ? os.homedir()
      : pathOrContents.startsWith('~/')
        ? path.join(os.homedir(), pathOrContents.slice(2))
        : pathOrContents;
  if (fs.existsSync(file)) config.loadFromFile(file);
  else config.loadFromString(pathOrContents);
}

/**
 * @kubernetes/client-node is an ES module. It is imported rather than required so that this runs
 * from CommonJS on every Node.js 20 (TypeScript would compile a literal `import()` to `require`),
 * and resolved from the working directory's node_modules, where the dynamic provider runs.
 */
async function importClientNode(): Promise<ClientNode> {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- deliberate: a literal import() would be compiled to require()
  const importModule = new Function('url', 'return import(url)') as (url: string) => Promise<ClientNode>;
  try {
    return await importModule(pathToFileURL(require.resolve('@kubernetes/client-node')).href);
  } catch (error) {
    throw clusterError(
      `@kubernetes/client-node cannot be loaded, install it beside @pulumi/kubernetes: ${(error as Error).message}`,
      false,
    );
  }
}

function clusterError(message: string, transient: boolean, status?: number): ClusterError {
  return Object.assign(new Error(message), { transient, status });
}

function isClusterError(error: unknown): error is ClusterError {
  return typeof (error as ClusterError | undefined)?.transient === 'boolean';
}

/** The promise's value, or a transient failure after `seconds`: a hung connection must not hold the await past its timeout. */
function withinSeconds<T>(seconds: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(clusterError(`no answer within ${seconds} s`, true)), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** HTTP 429 and 5xx, and failures without an HTTP status (no connection, a timeout), are worth another try. */
function asClusterError(error: unknown): ClusterError {
  if (isClusterError(error)) return error;
  const { code, body, message } = error as { code?: unknown; body?: unknown; message?: string };
  if (typeof code !== 'number') return clusterError(message ?? String(error), true);
  return clusterError(
    `HTTP ${code}: ${statusMessage(body) ?? clientMessage(message) ?? 'no message'}`,
    code === 429 || code >= 500,
    code,
  );
}

/** The `message` of the Kubernetes Status in a response body. */
function statusMessage(body: unknown): string | undefined {
  try {
    const status: unknown = typeof body === 'string' ? JSON.parse(body) : body;
    return typeof status === 'object' && status !== null && 'message' in status && typeof status.message === 'string'
      ? status.message
      : undefined;
  } catch {
    return typeof body === 'string' && body !== '' ? body.slice(0, 200) : undefined;
  }
}

/**
 * What client-node says of a response whose body it did not keep: its ApiException message has a
 * `Message:` line, the API's description of the status code (HTTP 401: `Unauthorized`).
 */
function clientMessage(message: string | undefined): string | undefined {
  const line = message?.match(/^Message: (.*)$/m)?.[1];
  return line && line !== 'Unknown API Status Code!' ? line : undefined;
}
