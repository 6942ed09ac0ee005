/**
 * An emulation of what KEDA's operator does with one ScaledJob, not KEDA itself. Every polling
 * interval it reads the queue length through the trigger's scaler (keda-scalers.ts), counts the
 * ScaledJob's Jobs as KEDA lists them, creates as many Jobs from `spec.jobTargetRef` as the
 * formula of the given KEDA version says (keda-formula.ts), then deletes finished Jobs beyond the
 * history limits; each Job is run to its end by the harness's Job controller.
 *
 * Read from kedacore/keda at v2.16.0 (5c52d03) and v2.19.0 (3f88d60): pkg/scaling/executor/scale_jobs.go
 * (RequestJobScale, generateJobs, getRunningJobCount, getPendingJobCount, isAnyPodRunningOrCompleted,
 * cleanUp, deleteJobsWithHistoryLimit), pkg/scaling/scale_handler.go (startScaleLoop, checkScalers,
 * getScaledJobMetrics), pkg/scaling/cache/scalers_cache.go (GetMetricsAndActivityForScaler,
 * refreshScaler) and controllers/keda/scaledjob_controller.go (deletePreviousVersionScaleJobs).
 * Not modelled: minReplicaCount, several triggers, `eager`, pendingPodConditions (refused), the
 * Jobs' ownerReferences and a paused ScaledJob.
 */
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IJobSpec } from 'kubernetes-models/batch/v1/JobSpec';
import { generatedName, type JobControllerOptions, type JobRun } from './job-controller';
import { jobsToCreate, kedaMinor, type KedaVersion, type ScaledJobScaling } from './keda-formula';
import type { Scaler, ScaleTrigger } from './keda-scalers';
import type { KubeObject } from './manifests';
import { wallClockTimeout } from './wall-clock-timer';
import { asError } from './caught';

/** A ScaledJob (keda.sh/v1alpha1), as far as the emulation reads it. */
export interface ScaledJobObject extends KubeObject {
  readonly spec: {
    readonly jobTargetRef: IJobSpec;
    readonly pollingInterval?: number;
    readonly minReplicaCount?: number;
    readonly maxReplicaCount?: number;
    readonly successfulJobsHistoryLimit?: number;
    readonly failedJobsHistoryLimit?: number;
    /** Deprecated in favour of `rollout.strategy`, still read first by KEDA. */
    readonly rolloutStrategy?: string;
    readonly rollout?: { readonly strategy?: string; readonly propagationPolicy?: string };
    readonly scalingStrategy?: {
      readonly strategy?: string;
      readonly customScalingQueueLengthDeduction?: number;
      readonly customScalingRunningJobPercentage?: string;
      readonly pendingPodConditions?: string[];
    };
    readonly triggers: ScaleTrigger[];
  };
}

export type JobHooks = Pick<JobControllerOptions, 'onPodStarted' | 'onPodExited' | 'onFinished'>;

export interface KedaEmulatorOptions {
  /** Which KEDA's `accurate` formula applies (2.16 to 2.18, or 2.19 and later). */
  readonly kedaVersion: KedaVersion;
  /** Replaces `spec.pollingInterval` (KEDA's default is 30 s), so that a test need not wait that long. */
  readonly pollingIntervalMs: number;
  /** The scaler of the ScaledJob's one trigger (see openScaler); the emulator closes it when stopped. */
  readonly scaler: Scaler;
  /** Builds the scaler anew, as KEDA's refreshScaler does after a failed read. @default - the failed read is not retried */
  readonly reopenScaler?: () => Promise<Scaler>;
  /** Runs a Job to its end as the harness's Job controller does (StackScenario.runJob). */
  runJob(job: IJob, hooks: JobHooks): Promise<JobRun>;
  /** Deletes a Job (`kubectl delete job`): its pods are deleted with their grace period. */
  deleteJob(name: string): void;
}

/** A Job the emulator created. */
export interface ScaledJobRun {
  readonly name: string;
  /** The ScaledJob's generation it was created from (its `scaledjob.keda.sh/generation` annotation). */
  readonly generation: number;
  /** When the poll created it (ms since the epoch). */
  readonly startedAt: number;
  /** When it got its Complete or Failed condition, or was deleted and its pods were gone (0 until then). */
  finishedAt: number;
  condition?: JobRun['condition'];
  /** When it stopped being listed: deleted by KEDA (history limit, rollout) in the background, or, in the foreground, once its pods were gone (0 until then). */
  deletedAt: number;
  /** How KEDA deleted it, if it did. */
  deletion?: 'background' | 'foreground';
  /** Its pods that are Running or Succeeded (a terminating pod is still Running): with none, the Job is pending. */
  readonly podsUp: Set<string>;
  /** How it ended, with its pods and their logs. */
  run?: JobRun;
}

/** The ScaledJob's Ready condition as RequestJobScale sets it. */
export interface ReadyCondition {
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
}

/** One look at the queue and what came of it. */
export interface Poll {
  readonly at: number;
  /** Undefined when the scaler failed (twice: once more after refreshScaler). */
  readonly queueLength?: number;
  readonly error?: string;
  readonly ready: ReadyCondition;
  readonly runningJobCount: number;
  readonly pendingJobCount: number;
  readonly created: number;
  /** Finished Jobs deleted by the history limits after this poll. */
  readonly deleted: string[];
}

interface Settings {
  readonly scaling: ScaledJobScaling;
  readonly jobTargetRef: IJobSpec;
  readonly successfulJobsHistoryLimit: number;
  readonly failedJobsHistoryLimit: number;
  readonly rolloutStrategy: string;
  readonly propagationPolicy: string;
}

/** scale_jobs.go: defaultSuccessfulJobsHistoryLimit, defaultFailedJobsHistoryLimit. */
const DEFAULT_HISTORY_LIMIT = 100;

export class KedaEmulator {
  readonly jobs: ScaledJobRun[] = [];
  readonly polls: Poll[] = [];
  private settings: Settings;
  private generation: number;
  private scaler: Scaler;
  private readonly name: string;
  /** Where KEDA creates the Jobs: the ScaledJob's namespace. */
  private readonly namespace?: string;
  private readonly labels: Record<string, string>;
  private readonly triggers: string;
  private readonly runs: Promise<void>[] = [];
  private failure?: Error;
  private stopping = false;
  private wake?: () => void;
  private loop?: Promise<void>;

  constructor(
    scaledJob: ScaledJobObject,
    private readonly options: KedaEmulatorOptions,
  ) {
    kedaMinor(options.kedaVersion);
    this.name = scaledJob.metadata?.name ?? 'scaledjob';
    this.namespace = scaledJob.metadata?.namespace;
    this.labels = scaledJob.metadata?.labels ?? {};
    this.triggers = JSON.stringify(scaledJob.spec.triggers);
    this.generation = Number(scaledJob.metadata?.generation ?? 1);
    this.settings = this.read(scaledJob);
    this.scaler = options.scaler;
  }

  get scaling(): ScaledJobScaling {
    return this.settings.scaling;
  }

  start(): void {
    this.loop ??= this.pollEvery(this.options.pollingIntervalMs);
  }

  /** Throws what has gone wrong so far: a Job the harness could not run. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** Jobs created whose run has not ended. */
  unfinishedJobs(): number {
    return this.jobs.filter((job) => job.finishedAt === 0).length;
  }

  /** The Jobs KEDA lists (label `scaledjob.keda.sh/name`): those not deleted. */
  listedJobs(): ScaledJobRun[] {
    return this.jobs.filter((job) => job.deletedAt === 0);
  }

  /**
   * `kubectl apply` of a changed ScaledJob: a new generation, whose Jobs get the new jobTargetRef.
   * deletePreviousVersionScaleJobs: with `rollout.strategy: gradual` the Jobs of older generations
   * are kept (and still counted, getRunningJobCount lists them all); otherwise every Job of another
   * generation is deleted, finished or not, in the background unless `propagationPolicy: foreground`.
   * The ScaledJob controller then restarts the scale loop, which checks at once.
   */
  update(scaledJob: ScaledJobObject): void {
    if (JSON.stringify(scaledJob.spec.triggers) !== this.triggers)
      throw new Error(`ScaledJob ${this.name}: a change of triggers is not emulated`);
    this.settings = this.read(scaledJob);
    this.generation++;
    if (this.settings.rolloutStrategy !== 'gradual') {
      for (const job of this.listedJobs().filter((job) => job.generation !== this.generation))
        this.deleteJob(job, this.settings.propagationPolicy);
    }
    this.wake?.();
  }

  /** Stops polling, waits until every Job created has ended, closes the scaler. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    await Promise.all(this.runs);
    await this.scaler.close();
    this.check();
  }

  /**
   * One check of the scale loop (checkScalers, then RequestJobScale): the scaler's metrics first,
   * then the Jobs are counted, created, and the finished ones beyond the history limits deleted.
   */
  async poll(at = Date.now()): Promise<void> {
    let queueLength: number | undefined;
    let error: string | undefined;
    try {
      queueLength = await this.readQueueLength();
    } catch (failure) {
      error = (failure as Error).message;
    }
    const listed = this.listedJobs();
    const running = listed.filter((job) => !finished(job));
    const counts = {
      runningJobCount: running.length,
      pendingJobCount: running.filter((job) => job.podsUp.size === 0).length,
    };
    // getScaledJobMetrics: a trigger whose scaler failed is skipped ("but continue"), so with one trigger
    // the ScaledJob is inactive and no Job is created; RequestJobScale still counts, sets conditions and cleans up.
    const created =
      queueLength === undefined ? 0 : jobsToCreate(queueLength, this.scaler.target, this.settings.scaling, counts);
    for (let i = 0; i < created; i++) this.createJob();
    const deleted = this.cleanUp();
    this.polls.push({
      at,
      queueLength,
      error,
      ready: this.readyCondition(error !== undefined),
      ...counts,
      created,
      deleted,
    });
  }

  private read(scaledJob: ScaledJobObject): Settings {
    const { spec } = scaledJob;
    const fail = (problem: string) => {
      throw new Error(`ScaledJob ${this.name}: ${problem}`);
    };
    if (spec.triggers.length !== 1) fail(`one trigger is emulated, it has ${spec.triggers.length}`);
    if (spec.minReplicaCount) fail('minReplicaCount is not emulated');
    const strategy = spec.scalingStrategy?.strategy ?? 'default';
    if (strategy !== 'default' && strategy !== 'custom' && strategy !== 'accurate')
      fail(`scaling strategy ${strategy} is not emulated`);
    if (spec.scalingStrategy?.pendingPodConditions?.length) fail('pendingPodConditions are not emulated');
    const percentage = spec.scalingStrategy?.customScalingRunningJobPercentage;
    return {
      scaling: {
        kedaVersion: this.options.kedaVersion,
        maxReplicaCount: spec.maxReplicaCount ?? 100,
        strategy: strategy as ScaledJobScaling['strategy'],
        customScalingQueueLengthDeduction: spec.scalingStrategy?.customScalingQueueLengthDeduction,
        customScalingRunningJobPercentage: percentage === undefined ? undefined : Number(percentage),
      },
      jobTargetRef: spec.jobTargetRef,
      successfulJobsHistoryLimit: spec.successfulJobsHistoryLimit ?? DEFAULT_HISTORY_LIMIT,
      failedJobsHistoryLimit: spec.failedJobsHistoryLimit ?? DEFAULT_HISTORY_LIMIT,
      // deletePreviousVersionScaleJobs reads the deprecated rolloutStrategy first; anything but gradual is immediate.
      rolloutStrategy: spec.rolloutStrategy || (spec.rollout?.strategy ?? 'immediate'),
      propagationPolicy: spec.rollout?.propagationPolicy ?? 'background',
    };
  }

  /** GetMetricsAndActivityForScaler: a failed read is retried once on a scaler built anew (refreshScaler); a failed rebuild keeps the old one. */
  private async readQueueLength(): Promise<number> {
    try {
      return await this.scaler.queueLength();
    } catch (error) {
      if (!this.options.reopenScaler) throw error;
      const fresh = await this.options.reopenScaler();
      await this.scaler.close().catch(() => undefined);
      this.scaler = fresh;
      return this.scaler.queueLength();
    }
  }

  /** RequestJobScale's Ready condition with one trigger: a failed trigger leaves none active, Unknown (PartialTriggerError) in 2.16 to 2.18, False (TriggerError) since 2.19. */
  private readyCondition(isError: boolean): ReadyCondition {
    if (!isError) return { status: 'True', reason: 'ScaledJobReady' };
    return kedaMinor(this.options.kedaVersion) >= 19
      ? { status: 'False', reason: 'TriggerError' }
      : { status: 'Unknown', reason: 'PartialTriggerError' };
  }

  /**
   * cleanUp and deleteJobsWithHistoryLimit: of the listed Jobs with a Complete condition, those beyond
   * successfulJobsHistoryLimit in order of status.completionTime, oldest first; of the Failed ones,
   * those beyond failedJobsHistoryLimit. A failed Job has no completionTime (it is set for Complete
   * only), so byCompletedTime finds no order among them and KEDA deletes whichever the informer
   * cache lists first: here a random pick. Deleted in the background.
   */
  private cleanUp(): string[] {
    const listed = this.listedJobs();
    const completed = listed.filter((job) => job.condition === 'Complete').sort((a, b) => a.finishedAt - b.finishedAt);
    const failed = shuffle(listed.filter((job) => job.condition === 'Failed'));
    const excess = [
      ...completed.slice(0, Math.max(0, completed.length - this.settings.successfulJobsHistoryLimit)),
      ...failed.slice(0, Math.max(0, failed.length - this.settings.failedJobsHistoryLimit)),
    ];
    for (const job of excess) this.deleteJob(job, 'background');
    return excess.map((job) => job.name);
  }

  /** Background: the Job is gone from the list at once (the garbage collector deletes its pods after); foreground: listed until its pods are gone. */
  private deleteJob(job: ScaledJobRun, propagationPolicy: string): void {
    job.deletion = propagationPolicy === 'foreground' ? 'foreground' : 'background';
    if (job.deletion === 'background' || job.finishedAt !== 0) job.deletedAt = Date.now();
    this.options.deleteJob(job.name);
  }

  private async pollEvery(intervalMs: number): Promise<void> {
    while (!this.stopping && !this.failure) {
      const at = Date.now();
      await this.poll(at);
      // startScaleLoop: the next check one pollingInterval after this one began (or at once after an update).
      await new Promise<void>((resolve) => {
        const timer = wallClockTimeout(resolve, at + intervalMs - Date.now());
        this.wake = () => {
          timer.cancel();
          resolve();
        };
      });
    }
  }

  private createJob(): void {
    const { jobTargetRef } = this.settings;
    // generateJobs: generateName `<ScaledJob name>-` in the ScaledJob's namespace, KEDA's labels and the
    // ScaledJob's, the generation annotation, jobTargetRef as the spec (restartPolicy OnFailure when unset).
    const name = generatedName(this.name);
    const record: ScaledJobRun = {
      name,
      generation: this.generation,
      startedAt: Date.now(),
      finishedAt: 0,
      deletedAt: 0,
      podsUp: new Set(),
    };
    this.jobs.push(record);
    const spec = structuredClone(jobTargetRef);
    spec.template.metadata = {
      ...spec.template.metadata,
      labels: { ...spec.template.metadata?.labels, 'scaledjob.keda.sh/name': this.name },
    };
    spec.template.spec!.restartPolicy ??= 'OnFailure';
    const labels = {
      'app.kubernetes.io/name': this.name,
      'app.kubernetes.io/version': `${this.options.kedaVersion}.0`,
      'app.kubernetes.io/part-of': this.name,
      'app.kubernetes.io/managed-by': 'keda-operator',
      'scaledjob.keda.sh/name': this.name,
      ...this.labels,
    };
    const job: IJob = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace: this.namespace,
        labels,
        annotations: { 'scaledjob.keda.sh/generation': String(this.generation) },
      },
      spec,
    };
    // isAnyPodRunningOrCompleted lists the Job's pods: one that failed is not up; one deleted and gone is no longer listed.
    const hooks: JobHooks = {
      onPodStarted: (pod) => void record.podsUp.add(pod.name),
      onPodExited: (pod) => {
        if (pod.phase === 'Succeeded') record.podsUp.add(pod.name);
        else record.podsUp.delete(pod.name);
      },
      onFinished: (condition) => {
        record.finishedAt = Date.now();
        record.condition = condition;
        if (record.deletion === 'foreground') record.deletedAt = record.finishedAt;
      },
    };
    this.runs.push(
      this.options.runJob(job, hooks).then(
        (run) => void (record.run = run),
        (error: unknown) => {
          this.failure ??= asError(error);
          record.finishedAt ||= Date.now();
        },
      ),
    );
  }
}

/** isJobFinished: a Complete or Failed condition; a Job at FailureTarget or SuccessCriteriaMet whose pods still terminate is running. */
function finished(job: ScaledJobRun): boolean {
  return job.condition === 'Complete' || job.condition === 'Failed';
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}
