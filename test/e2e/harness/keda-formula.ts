/**
 * KEDA's ScaledJob scaling: how many Jobs one polling interval creates, from the queue length a
 * scaler read and the Jobs that exist. Pure; the emulator feeds it what it observes.
 *
 * Read from kedacore/keda at v2.16.0 (5c52d03) and v2.19.0 (3f88d60): pkg/scaling/executor/scale_jobs.go
 * (RequestJobScale, getScalingDecision, createJobs, the ScalingStrategy implementations) and
 * pkg/scaling/scaledjob/metrics.go (CalculateQueueLengthAndMaxValue, IsScaledJobActive); the
 * documented table is keda-docs' reference/scaledjob-spec.md (`maxReplicaCount`, `scalingStrategy`).
 */

/** The strategies emulated (`eager`, `pendingPodConditions` and `minReplicaCount` are not). */
export type ScalingStrategy = 'default' | 'custom' | 'accurate';

/** A KEDA minor release, 2.16 or later: the docs promise "KEDA 2.16 or later". */
export type KedaVersion = `2.${number}`;

/** The first release whose `accurate` strategy deducts the pending Jobs in its maxReplicaCount check (kedacore/keda#7329, commit 576a714). */
const ACCURATE_PENDING_FIX: KedaVersion = '2.19';

export interface ScaledJobScaling {
  readonly kedaVersion: KedaVersion;
  readonly maxReplicaCount: number;
  readonly strategy: ScalingStrategy;
  /** `custom` only. */
  readonly customScalingQueueLengthDeduction?: number;
  /** `custom` only, from 0 to 1. */
  readonly customScalingRunningJobPercentage?: number;
}

/** What a trigger contributes: queue length per Job, and the length at or below which it is inactive. */
export interface TriggerTarget {
  /** rabbitmq: `value`; redis: `listLength`. */
  readonly targetAverageValue: number;
  /** rabbitmq: `activationValue`; redis: `activationListLength`. */
  readonly activationValue: number;
}

export interface JobCounts {
  /** getRunningJobCount: the ScaledJob's Jobs without a Complete or Failed condition (a Job at FailureTarget or SuccessCriteriaMet whose pods terminate is running). */
  readonly runningJobCount: number;
  /** getPendingJobCount: of those, the Jobs none of whose pods is Running or Succeeded (isAnyPodRunningOrCompleted). */
  readonly pendingJobCount: number;
}

/** The minor number of a KEDA version; throws for one before 2.16, whose code the emulator was not read against. */
export function kedaMinor(version: KedaVersion): number {
  const minor = Number(/^2\.(\d+)$/.exec(version)?.[1]);
  if (!Number.isInteger(minor) || minor < 16)
    throw new Error(`KEDA ${version}: the emulator models 2.16 and later (the docs' "KEDA 2.16 or later")`);
  return minor;
}

/** CalculateQueueLengthAndMaxValue and IsScaledJobActive's getMaxValue: `min(maxReplicaCount, ceil(queueLength / targetAverageValue))`, not a Job count yet. */
export function maxScale(queueLength: number, targetAverageValue: number, maxReplicaCount: number): number {
  return Math.min(maxReplicaCount, Math.ceil(queueLength / targetAverageValue));
}

/** The scaler's GetMetricsAndActivity: active (KEDA creates Jobs at all) only while the queue is longer than the activation value. */
export function isActive(queueLength: number, activationValue: number): boolean {
  return queueLength > activationValue;
}

/** The strategy's GetEffectiveMaxScale, before RequestJobScale floors it at 0. */
export function effectiveMaxScale(scaling: ScaledJobScaling, maxScaleValue: number, jobs: JobCounts): number {
  const { maxReplicaCount } = scaling;
  const { runningJobCount, pendingJobCount } = jobs;
  switch (scaling.strategy) {
    case 'default':
      return maxScaleValue - runningJobCount;
    case 'custom':
      return Math.min(
        maxScaleValue -
          (scaling.customScalingQueueLengthDeduction ?? 0) -
          Math.trunc(runningJobCount * (scaling.customScalingRunningJobPercentage ?? 1)),
        maxReplicaCount,
      );
    case 'accurate': {
      // accurateScalingStrategy: 2.16 to 2.18 compare `maxScale + running`, 2.19 and later `maxScale + running - pending`
      // (a pending Job's items are still in the queue length, so it was counted twice).
      const pendingCounted = kedaMinor(scaling.kedaVersion) >= kedaMinor(ACCURATE_PENDING_FIX) ? pendingJobCount : 0;
      return maxScaleValue + runningJobCount - pendingCounted > maxReplicaCount
        ? maxReplicaCount - runningJobCount
        : maxScaleValue - pendingJobCount;
    }
  }
}

/**
 * How many Jobs this polling interval creates (RequestJobScale, createJobs): none while inactive,
 * never fewer than none, and never more than `scaleTo`, the queue length rounded up.
 */
export function jobsToCreate(
  queueLength: number,
  trigger: TriggerTarget,
  scaling: ScaledJobScaling,
  jobs: JobCounts,
): number {
  if (!isActive(queueLength, trigger.activationValue)) return 0;
  const scale = maxScale(queueLength, trigger.targetAverageValue, scaling.maxReplicaCount);
  const effective = Math.max(0, effectiveMaxScale(scaling, scale, jobs));
  return Math.min(Math.ceil(queueLength), effective);
}
