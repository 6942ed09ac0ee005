/**
 * The Job's pods as the controller creates them and the kubelet runs them: a pod's start, its
 * container's exits (OnFailure restarts in place), its evictions and lost node (pod-disruption.ts),
 * and its terminal phase, counted in the Job's status (job-state.ts).
 */
import type { EventQueue } from './event-queue';
import { indexedPodTemplate } from './job-indexes';
import type { JobControllerOptions, PodRecord } from './job-run';
import type { JobSettings } from './job-spec';
import type { JobEvent, JobState, PodEntry } from './job-state';
import { restartBackoffMs } from './pod-backoff';
import type { Disruption } from './pod-disruption';
import { generatedName, indexedPodName } from './pod-names';
import type { TerminatedState } from './termination-message';
import { wallClockTimeout } from './wall-clock-timer';
import { asError } from './caught';

export class JobPods {
  constructor(
    private readonly settings: JobSettings,
    private readonly state: JobState,
    private readonly events: EventQueue<JobEvent>,
    private readonly options: JobControllerOptions,
    private readonly backoffBaseMs: number,
  ) {}

  /** Creates and starts a pod for each entry: for an index, or (undefined) for a non-Indexed Job. */
  async start(indexes: (number | undefined)[]): Promise<void> {
    const { name, spec } = this.settings;
    const templates = indexes.map((index) =>
      index === undefined ? spec.template : indexedPodTemplate(name, spec.template, index),
    );
    const names = indexes.map((index) => (index === undefined ? generatedName(name) : indexedPodName(name, index)));
    const started = await Promise.all(names.map((podName, i) => this.options.startPod(podName, templates[i])));
    started.forEach((pod, i) => {
      const record: PodRecord = {
        name: pod.name,
        index: indexes[i],
        phase: 'Running',
        exitCodes: [],
        logs: '',
        startedAt: Date.now(),
        finishedAt: 0,
      };
      const entry: PodEntry = { pod, record, index: indexes[i], restarts: 0 };
      this.state.pods.push(pod);
      this.state.records.push(record);
      this.state.live.add(entry);
      this.watch(entry);
      this.options.onPodStarted?.(pod);
    });
  }

  /** The disruptions listener: takes a disruption of one of the Job's running pods into the event queue. */
  readonly onDisruption = (podName: string, disruption: Disruption): boolean => {
    const entry = [...this.state.live].find((candidate) => candidate.pod.name === podName);
    if (!entry || entry.nodeLost) return false;
    // The Eviction API and the kubelet take only a pod that is still running (not terminating).
    if (disruption.reason !== 'DeletionByPodGC' && (entry.deletedBy !== undefined || entry.evictedByKubelet))
      return false;
    this.events.push({ kind: 'disrupted', pod: entry, disruption });
    return true;
  };

  /** Applies a pod event to the Job's pods; an error event throws. */
  handle(event: JobEvent): void {
    if (event.kind === 'error') throw event.error;
    if (event.kind === 'deleted') this.state.deleted = true;
    if (event.kind === 'exit') this.onExit(event.pod, event.code, event.terminated);
    if (event.kind === 'disrupted') this.disrupt(event.pod, event.disruption);
    // markFailedAndDeletePodWithCondition: Failed, with no terminated container to match onExitCodes.
    if (event.kind === 'garbage-collected' && this.state.live.has(event.pod))
      this.settle(event.pod, 'Failed', undefined);
  }

  /** Deletes the active pods with their grace period (pod.stop()); they terminate through the event queue. */
  deleteActive(): void {
    for (const entry of this.state.active()) {
      entry.deletedBy = 'controller';
      entry.record.deletedAt = Date.now();
      if (this.settleIfWaitingRestart(entry)) continue;
      if (!entry.nodeLost)
        void entry.pod.stop().catch((error: unknown) => this.events.push({ kind: 'error', error: asError(error) }));
    }
  }

  // Not awaited: the pod's end, either way, goes into the event queue, which the loop reads.
  private watch(entry: PodEntry): void {
    void entry.pod
      .wait()
      .then(async (code) => ({ code, terminated: await entry.pod.terminated(code) }))
      .then(
        ({ code, terminated }) => this.events.push({ kind: 'exit', pod: entry, code, terminated }),
        (error: unknown) => this.events.push({ kind: 'error', error: asError(error) }),
      );
  }

  /** The pod is terminal: out of the live pods, its phase and end recorded, counted unless it was already. */
  private settle(entry: PodEntry, phase: 'Succeeded' | 'Failed', exitCode: number | undefined): void {
    this.state.live.delete(entry);
    entry.restartTimer?.cancel();
    const now = Date.now();
    entry.record.finishedAt = now;
    // A pod the controller deleted at the Job's end keeps the harness's 'Deleted'; an evicted one its kubelet phase.
    entry.record.phase = entry.deletedBy === 'controller' ? 'Deleted' : phase;
    if (!entry.counted && phase === 'Succeeded') {
      this.state.countSuccess(entry);
    } else if (!entry.counted) {
      this.state.countFailure(entry, exitCode, now);
    }
    if (entry.deletedBy !== 'controller') this.options.onPodExited?.(entry.record);
  }

  /** A pod whose container has ended and waits for its OnFailure restart: a delete or an eviction ends it at once, Failed. */
  private settleIfWaitingRestart(entry: PodEntry): boolean {
    if (!entry.waitingRestart) return false;
    this.settle(entry, 'Failed', entry.record.exitCodes.at(-1));
    return true;
  }

  private onExit(entry: PodEntry, code: number, terminated: TerminatedState): void {
    if (!this.state.live.has(entry)) return;
    // A lost node's kubelet reports nothing: the pod keeps its last status until the pod garbage collector.
    if (entry.nodeLost) return;
    entry.record.exitCodes.push(code);
    entry.record.terminated = terminated;
    // evictPod: the kubelet sets a pod it evicted Failed, whatever the container's exit code.
    if (entry.evictedByKubelet) {
      this.settle(entry, 'Failed', code);
      return;
    }
    if (code === 0) {
      this.settle(entry, 'Succeeded', code);
      return;
    }
    if (this.settings.restartPolicy === 'OnFailure' && entry.deletedBy === undefined) {
      // The kubelet restarts the container in place after its CrashLoopBackOff delay; the pod stays
      // Running, so status.failed does not grow (the restarts count in pastBackoffLimitOnFailure).
      const delay = restartBackoffMs(this.backoffBaseMs, entry.restarts);
      entry.waitingRestart = true;
      entry.restartTimer = wallClockTimeout(() => {
        entry.pod.restart().then(
          () => {
            entry.waitingRestart = false;
            entry.restarts++;
            this.watch(entry);
            this.events.push({ kind: 'restarted' });
          },
          (error: unknown) => this.events.push({ kind: 'error', error: asError(error) }),
        );
      }, delay);
      return;
    }
    this.settle(entry, 'Failed', code);
  }

  private disrupt(entry: PodEntry, disruption: Disruption): void {
    if (!this.state.live.has(entry)) return;
    const now = Date.now();
    (entry.record.conditions ??= []).push({
      type: 'DisruptionTarget',
      status: 'True',
      reason: disruption.reason,
      at: now,
    });
    const stop = (gracePeriodSeconds?: number) =>
      void entry.pod
        .stop(gracePeriodSeconds)
        .catch((error: unknown) => this.events.push({ kind: 'error', error: asError(error) }));
    if (disruption.reason !== 'DeletionByPodGC' && this.settleIfWaitingRestart(entry)) return;
    if (disruption.reason === 'EvictionByEvictionAPI') {
      entry.deletedBy = 'eviction';
      entry.record.deletedAt = now;
      stop(disruption.gracePeriodSeconds);
      // isPodFailed: without onlyReplaceFailedPods a deleted pod that has not succeeded counts as failed
      // at once, from its deletion (getFinishTimeFromDeletionTimestamp); its end counts nothing more.
      if (!this.settings.onlyReplaceFailed) this.state.countFailure(entry, undefined, now);
    } else if (disruption.reason === 'TerminationByKubelet') {
      entry.evictedByKubelet = true;
      stop(disruption.gracePeriodSeconds);
    } else {
      entry.nodeLost = true;
      void entry.pod.kill().catch(() => undefined); // the node and its containers are gone
      wallClockTimeout(() => this.events.push({ kind: 'garbage-collected', pod: entry }), disruption.podGcAfterMs ?? 0);
    }
  }
}
