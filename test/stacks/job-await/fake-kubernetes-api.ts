import * as http from 'http';
import type { AddressInfo } from 'net';

/** A Job's status as the API returns it, or 'deleted': from that read on, the Job is gone (HTTP 404). */
export type JobStep = Record<string, unknown> | 'deleted';

/** A pod of a scripted Job, as the API lists it, with its log. */
export interface FakePod {
  readonly name: string;
  readonly phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  readonly exitCode?: number;
  readonly waitingReason?: string;
  /** ISO time its container ended; later pods are the ones a failure reports. */
  readonly finishedAt?: string;
  /** Its container's termination message (`state.terminated.message`), for an ended pod. @default - none */
  readonly terminationMessage?: string;
  /** Its whole log; the API serves the last `tailLines` of it. Without it, reading the log fails with HTTP 400. */
  readonly log?: string;
  /** A pod of an Indexed Job: its completion index, in the annotation and label the Job controller sets. */
  readonly index?: number;
  /** ISO time it started; the first started of the terminating pods is the one a failure reports when none failed. */
  readonly startedAt?: string;
  /** ISO time its deletion was asked for: the pod is terminating (its grace period, 30 s, in `deletionGracePeriodSeconds`). */
  readonly deletionTimestamp?: string;
}

export interface FakeJob {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly completions?: number;
  /** 'Indexed' for an Indexed Job. @default - NonIndexed, as the API server defaults it */
  readonly completionMode?: 'Indexed';
  /** @default - unset: the TTL controller leaves the Job alone */
  readonly ttlSecondsAfterFinished?: number;
  /** The status on successive reads of the Job; the last one is kept. */
  readonly steps: readonly JobStep[];
  /** The pods listed (and whose logs are served) at every step. */
  readonly pods?: readonly FakePod[];
  /** In place of `pods`: the pods listed after each read of the Job, step by step with `steps` (the last kept). */
  readonly podSteps?: readonly (readonly FakePod[])[];
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization?: string;
}

const CONTAINER = 'work-queue';
/** The bearer token the fake API accepts; any other gets HTTP 401. */
export const FAKE_TOKEN = 'fake-token';

/**
 * A Kubernetes API server on 127.0.0.1 that serves scripted Jobs: GET of a Job (each read takes
 * the next step of its script), the list of pods by `job-name` label (those of the step last read),
 * and a pod's log with `tailLines` while the pod is listed, in the shapes and status codes of the
 * real API. Anything else is a 404 Status. `jobEnd` scripts the end of a Job as a cluster shows it.
 */
export class FakeKubernetesApi {
  public readonly requests: RecordedRequest[] = [];
  private readonly jobs = new Map<string, { job: FakeJob; reads: number }>();
  private server?: http.Server;

  public get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  public async start(): Promise<void> {
    this.server = http.createServer((request, response) => this.handle(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  public async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  public script(job: FakeJob): void {
    this.jobs.set(`${job.namespace}/${job.name}`, { job, reads: 0 });
  }

  /**
   * A kubeconfig whose context `fake` reaches this server with the accepted token (or `token`), and
   * whose current context is `elsewhere`, a cluster nobody listens at, unless `currentContext` says otherwise.
   */
  public kubeconfig(options: { token?: string; currentContext?: string; server?: string } = {}): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: fake\n  cluster: { server: "${options.server ?? this.url}", insecure-skip-tls-verify: true }`,
      '- name: elsewhere\n  cluster: { server: "http://127.0.0.1:9", insecure-skip-tls-verify: true }',
      'users:',
      `- name: tester\n  user: { token: ${options.token ?? FAKE_TOKEN} }`,
      'contexts:',
      '- name: fake\n  context: { cluster: fake, user: tester }',
      '- name: elsewhere\n  context: { cluster: elsewhere, user: tester }',
      `current-context: ${options.currentContext ?? 'elsewhere'}`,
      '',
    ].join('\n');
  }

  /** How often a Job was read. */
  public readsOf(namespace: string, name: string): number {
    return this.jobs.get(`${namespace}/${name}`)?.reads ?? 0;
  }

  private handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    this.requests.push({
      method: request.method ?? '',
      url: request.url ?? '',
      authorization: request.headers.authorization,
    });
    const url = new URL(request.url ?? '/', 'http://fake');
    const jobPath = url.pathname.match(/^\/apis\/batch\/v1\/namespaces\/([^/]+)\/jobs\/([^/]+)$/);
    const podsPath = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods$/);
    const logPath = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/);
    if (request.headers.authorization !== `Bearer ${FAKE_TOKEN}`) status(response, 401, 'Unauthorized', 'Unauthorized');
    else if (request.method !== 'GET')
      status(response, 405, 'MethodNotAllowed', `${String(request.method)} is not served`);
    else if (jobPath) this.readJob(response, jobPath[1], jobPath[2]);
    else if (podsPath) this.listPods(response, podsPath[1], url.searchParams.get('labelSelector') ?? '');
    else if (logPath) this.readLog(response, logPath[1], logPath[2], url.searchParams);
    else status(response, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
  }

  private readJob(response: http.ServerResponse, namespace: string, name: string): void {
    const entry = this.jobs.get(`${namespace}/${name}`);
    if (!entry) {
      status(response, 404, 'NotFound', `jobs.batch "${name}" not found`);
      return;
    }
    const step = entry.job.steps[Math.min(entry.reads, entry.job.steps.length - 1)];
    entry.reads += 1;
    if (step === 'deleted') {
      status(response, 404, 'NotFound', `jobs.batch "${name}" not found`);
      return;
    }
    const { job } = entry;
    const ttl =
      job.ttlSecondsAfterFinished === undefined ? {} : { ttlSecondsAfterFinished: job.ttlSecondsAfterFinished };
    json(response, 200, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: job.name, namespace: job.namespace, uid: job.uid },
      spec: {
        ...(job.completions !== undefined ? { completions: job.completions } : {}),
        parallelism: 2,
        completionMode: job.completionMode ?? 'NonIndexed',
        ...ttl,
      },
      status: step,
    });
  }

  private listPods(response: http.ServerResponse, namespace: string, labelSelector: string): void {
    const jobName = labelSelector.match(/^job-name=(.+)$/)?.[1];
    const entry = [...this.jobs.values()].find((e) => e.job.namespace === namespace && e.job.name === jobName);
    const items = entry ? listedPods(entry).map((pod) => podObject(entry.job, pod)) : [];
    json(response, 200, { apiVersion: 'v1', kind: 'PodList', metadata: {}, items });
  }

  private readLog(response: http.ServerResponse, namespace: string, podName: string, query: URLSearchParams): void {
    const pod = [...this.jobs.values()]
      .filter((e) => e.job.namespace === namespace)
      .flatMap(listedPods)
      .find((p) => p.name === podName);
    if (!pod) {
      status(response, 404, 'NotFound', `pods "${podName}" not found`);
      return;
    }
    if (query.get('container') !== CONTAINER) {
      status(
        response,
        400,
        'BadRequest',
        `container ${String(query.get('container'))} is not valid for pod ${podName}`,
      );
      return;
    }
    if (pod.log === undefined) {
      status(
        response,
        400,
        'BadRequest',
        `container "${CONTAINER}" in pod "${podName}" is waiting to start: image can't be pulled`,
      );
      return;
    }
    const lines = pod.log.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const tail = query.has('tailLines') ? lines.slice(-Number(query.get('tailLines'))) : lines;
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end(tail.map((line) => `${line}\n`).join(''));
  }
}

/** The pods a Job has at the step of its last read (the first before any). */
function listedPods(entry: { job: FakeJob; reads: number }): readonly FakePod[] {
  const { podSteps, pods = [] } = entry.job;
  if (!podSteps) return pods;
  return podSteps[Math.min(Math.max(entry.reads - 1, 0), podSteps.length - 1)] ?? [];
}

function podObject(job: FakeJob, pod: FakePod): Record<string, unknown> {
  const state = pod.waitingReason
    ? { waiting: { reason: pod.waitingReason } }
    : pod.exitCode !== undefined
      ? {
          terminated: {
            exitCode: pod.exitCode,
            reason: pod.exitCode === 0 ? 'Completed' : 'Error',
            ...(pod.terminationMessage === undefined ? {} : { message: pod.terminationMessage }),
            finishedAt: pod.finishedAt ?? '2025-01-01T00:00:00Z',
          },
        }
      : { running: { startedAt: '2025-01-01T00:00:00Z' } };
  const index = pod.index === undefined ? {} : { 'batch.kubernetes.io/job-completion-index': String(pod.index) };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: pod.name,
      namespace: job.namespace,
      labels: { 'job-name': job.name, 'batch.kubernetes.io/job-name': job.name, 'controller-uid': job.uid, ...index },
      annotations: index,
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'Job', name: job.name, uid: job.uid, controller: true }],
      // The Job controller's finalizer, which keeps a pod listed until the controller has counted it.
      finalizers: ['batch.kubernetes.io/job-tracking'],
      ...(pod.deletionTimestamp ? { deletionTimestamp: pod.deletionTimestamp, deletionGracePeriodSeconds: 30 } : {}),
    },
    spec: { containers: [{ name: CONTAINER, image: 'registry.example.com/work-queue@sha256:0' }] },
    status: {
      phase: pod.phase,
      startTime: pod.startedAt ?? '2025-01-01T00:00:00Z',
      containerStatuses: [
        { name: CONTAINER, ready: pod.phase === 'Running', restartCount: 0, image: '', imageID: '', state },
      ],
    },
  };
}

function json(response: http.ServerResponse, code: number, body: unknown): void {
  response.writeHead(code, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

function status(response: http.ServerResponse, code: number, reason: string, message: string): void {
  json(response, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

/** The end a Job is scripted to: the interim condition, then the terminal one, with their reason and message. */
export interface JobEnd {
  readonly outcome: 'failure' | 'success';
  readonly reason: string;
  readonly message?: string;
  /** The Job's status before the end: counts, indexes. */
  readonly status: Record<string, unknown>;
  /** Its pods still running when it ends: the Job controller deletes them. */
  readonly running: readonly FakePod[];
  /** Its pods that ended before: they stay listed (the controller deletes only running ones). */
  readonly ended?: readonly FakePod[];
  /** ISO time the controller asked for the running pods' deletion. */
  readonly deletedAt?: string;
}

/**
 * The reads of a Job as its end shows on a cluster since Kubernetes 1.31, for `steps` and `podSteps`
 * (kubernetes pkg/controller/job/job_controller.go at commit 6ae037f1: syncJob, deleteActivePods,
 * trackJobStatusAndRemoveFinalizers, enactJobFinished; the Job docs, "Termination of Job pods"):
 *
 * 1. FailureTarget or SuccessCriteriaMet; the running pods are deleted: listed Running with a
 *    deletionTimestamp, counted in `status.terminating`, no longer in `active` or `ready`;
 * 2. the pods gone (a failure counts each in `failed`; a success policy's deleted pods count
 *    nothing), the interim condition alone: Failed and Complete wait for none to be terminating
 *    and every pod to be counted;
 * 3. Failed or Complete added, with the interim condition's reason and message.
 */
export function jobEnd(end: JobEnd): { steps: JobStep[]; podSteps: FakePod[][] } {
  const [interim, terminal] =
    end.outcome === 'failure' ? ['FailureTarget', 'Failed'] : ['SuccessCriteriaMet', 'Complete'];
  const condition = (type: string) => ({
    type,
    status: 'True',
    reason: end.reason,
    ...(end.message ? { message: end.message } : {}),
  });
  const ended = [...(end.ended ?? [])];
  const deletionTimestamp = end.deletedAt ?? '2025-01-01T00:10:00Z';
  const failedBefore = typeof end.status.failed === 'number' ? end.status.failed : 0;
  const counted = {
    ...end.status,
    active: 0,
    ready: 0,
    terminating: 0,
    ...(end.outcome === 'failure' ? { failed: failedBefore + end.running.length } : {}),
  };
  return {
    steps: [
      { ...end.status, active: 0, ready: 0, terminating: end.running.length, conditions: [condition(interim)] },
      { ...counted, conditions: [condition(interim)] },
      { ...counted, conditions: [condition(interim), condition(terminal)] },
    ],
    podSteps: [[...ended, ...end.running.map((pod) => ({ ...pod, deletionTimestamp }))], ended, ended],
  };
}
