/**
 * An emulation of what KEDA's operator does with one ScaledJob, by KEDA's documented formula
 * (keda-formula.ts), not KEDA itself: every polling interval it reads the queue length through the
 * trigger's scaler (keda-scalers.ts), counts the Jobs it created that are running (not finished) and
 * pending (no pod Running or Succeeded yet), and creates as many new Jobs from `spec.jobTargetRef`
 * as the formula says; each Job is then run to its end by the harness's Job controller.
 * Not modelled: minReplicaCount, several triggers, `eager`, pendingPodConditions, history cleanup.
 */
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IJobSpec } from 'kubernetes-models/batch/v1/JobSpec';
import { generatedName, JobControllerOptions, JobRun } from './job-controller';
import { jobsToCreate, ScaledJobScaling } from './keda-formula';
import type { Scaler, ScaleTrigger } from './keda-scalers';
import type { KubeObject } from './manifests';

/** A ScaledJob (keda.sh/v1alpha1), as far as the emulation reads it. */
export interface ScaledJobObject extends KubeObject {
  readonly spec: {
    readonly jobTargetRef: IJobSpec;
    readonly pollingInterval?: number;
    readonly minReplicaCount?: number;
    readonly maxReplicaCount?: number;
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
  /** Replaces `spec.pollingInterval` (KEDA's default is 30 s), so that a test need not wait that long. */
  readonly pollingIntervalMs: number;
  /** The scaler of the ScaledJob's one trigger (see openScaler); the emulator closes it when stopped. */
  readonly scaler: Scaler;
  /** Runs a Job to its end as the harness's Job controller does (StackScenario.runJob). */
  runJob(job: IJob, hooks: JobHooks): Promise<JobRun>;
}

/** A Job the emulator created. */
export interface ScaledJobRun {
  readonly name: string;
  /** When the poll created it (ms since the epoch). */
  readonly startedAt: number;
  /** When it got its Complete or Failed condition (0 until then). */
  finishedAt: number;
  /** Its pods that are Running or Succeeded: with none, the Job is pending. */
  podsUp: number;
  /** How it ended, with its pods and their logs. */
  run?: JobRun;
}

/** One look at the queue and what came of it. */
export interface Poll {
  readonly at: number;
  readonly queueLength: number;
  readonly runningJobCount: number;
  readonly pendingJobCount: number;
  readonly created: number;
}

export class KedaEmulator {
  readonly jobs: ScaledJobRun[] = [];
  readonly polls: Poll[] = [];
  readonly scaling: ScaledJobScaling;
  private readonly name: string;
  /** Where KEDA creates the Jobs: the ScaledJob's namespace. */
  private readonly namespace?: string;
  private readonly jobTargetRef: IJobSpec;
  private readonly runs: Promise<void>[] = [];
  private failure?: Error;
  private stopping = false;
  private wake?: () => void;
  private loop?: Promise<void>;

  constructor(
    scaledJob: ScaledJobObject,
    private readonly options: KedaEmulatorOptions,
  ) {
    this.name = scaledJob.metadata?.name ?? 'scaledjob';
    this.namespace = scaledJob.metadata?.namespace;
    const { spec } = scaledJob;
    if (spec.triggers.length !== 1) throw new Error(`ScaledJob ${this.name}: one trigger is emulated, it has ${spec.triggers.length}`);
    if (spec.minReplicaCount) throw new Error(`ScaledJob ${this.name}: minReplicaCount is not emulated`);
    const strategy = spec.scalingStrategy?.strategy ?? 'default';
    if (strategy !== 'default' && strategy !== 'custom' && strategy !== 'accurate')
      throw new Error(`ScaledJob ${this.name}: scaling strategy ${strategy} is not emulated`);
    if (spec.scalingStrategy?.pendingPodConditions?.length) throw new Error(`ScaledJob ${this.name}: pendingPodConditions are not emulated`);
    this.scaling = {
      maxReplicaCount: spec.maxReplicaCount ?? 100,
      strategy,
      customScalingQueueLengthDeduction: spec.scalingStrategy?.customScalingQueueLengthDeduction,
      customScalingRunningJobPercentage:
        spec.scalingStrategy?.customScalingRunningJobPercentage === undefined ? undefined : Number(spec.scalingStrategy.customScalingRunningJobPercentage),
    };
    this.jobTargetRef = spec.jobTargetRef;
  }

  start(): void {
    this.loop ??= this.pollEvery(this.options.pollingIntervalMs);
  }

  /** Throws what has gone wrong so far: a failed look at the queue, or a Job the harness could not run. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  /** Jobs created and not finished. */
  unfinishedJobs(): number {
    return this.jobs.filter((job) => job.finishedAt === 0).length;
  }

  /** Stops polling, waits until every Job created has ended, closes the scaler. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    await Promise.all(this.runs);
    await this.options.scaler.close();
    this.check();
  }

  private async pollEvery(intervalMs: number): Promise<void> {
    while (!this.stopping && !this.failure) {
      const at = Date.now();
      try {
        await this.poll(at);
      } catch (error) {
        this.failure = error as Error;
        return;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, at + intervalMs - Date.now()));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** One look at the queue, and the Jobs it creates. KEDA's order: the scaler's metrics first, then the Jobs are counted. */
  async poll(at = Date.now()): Promise<void> {
    const queueLength = await this.options.scaler.queueLength();
    const unfinished = this.jobs.filter((job) => job.finishedAt === 0);
    const counts = { runningJobCount: unfinished.length, pendingJobCount: unfinished.filter((job) => job.podsUp === 0).length };
    const created = jobsToCreate(queueLength, this.options.scaler.target, this.scaling, counts);
    this.polls.push({ at, queueLength, ...counts, created });
    for (let i = 0; i < created; i++) this.createJob();
  }

  private createJob(): void {
    // KEDA names each Job by generateName `<ScaledJob name>-`, creates it in the ScaledJob's namespace and copies jobTargetRef as its spec.
    const name = generatedName(this.name);
    const record: ScaledJobRun = { name, startedAt: Date.now(), finishedAt: 0, podsUp: 0 };
    this.jobs.push(record);
    const job: IJob = { apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: this.namespace }, spec: structuredClone(this.jobTargetRef) };
    const hooks: JobHooks = {
      onPodStarted: () => void record.podsUp++,
      onPodExited: ({ phase }) => void (phase === 'Failed' && record.podsUp--),
      onFinished: () => void (record.finishedAt = Date.now()),
    };
    this.runs.push(
      this.options.runJob(job, hooks).then(
        (run) => void (record.run = run),
        (error: Error) => {
          this.failure ??= error;
          record.finishedAt ||= Date.now();
        },
      ),
    );
  }
}
