/**
 * KEDA's documented ScaledJob scaling (keda-docs, content/docs/2.16/reference/scaledjob-spec.md:
 * `maxReplicaCount` and `scalingStrategy`): how many Jobs one polling interval creates, from the
 * queue length a scaler read and the Jobs that exist. Pure; the emulator feeds it what it observes.
 */

/** The strategies whose formula the documentation gives (`eager` and `pendingPodConditions` are not modelled). */
export type ScalingStrategy = 'default' | 'custom' | 'accurate';

export interface ScaledJobScaling {
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
  /** Jobs not finished (no Complete or Failed condition). */
  readonly runningJobCount: number;
  /** Jobs not finished none of whose pods is Running or Succeeded. */
  readonly pendingJobCount: number;
}

/** `min(maxReplicaCount, ceil(queueLength / targetAverageValue))`: not a Job count yet, see jobsToCreate. */
export function maxScale(queueLength: number, targetAverageValue: number, maxReplicaCount: number): number {
  return Math.min(maxReplicaCount, Math.ceil(queueLength / targetAverageValue));
}

/** The trigger is active (KEDA creates Jobs at all) only while the queue is longer than the activation value. */
export function isActive(queueLength: number, activationValue: number): boolean {
  return queueLength > activationValue;
}

/** The strategy's number of the scale, before it is floored at 0. */
export function effectiveMaxScale(scaling: ScaledJobScaling, maxScaleValue: number, jobs: JobCounts): number {
  const { maxReplicaCount } = scaling;
  const { runningJobCount, pendingJobCount } = jobs;
  switch (scaling.strategy) {
    case 'default':
      return maxScaleValue - runningJobCount;
    case 'custom':
      return Math.min(
        maxScaleValue - (scaling.customScalingQueueLengthDeduction ?? 0) - Math.trunc(runningJobCount * (scaling.customScalingRunningJobPercentage ?? 1)),
        maxReplicaCount,
      );
    case 'accurate':
      return maxScaleValue + runningJobCount > maxReplicaCount ? maxReplicaCount - runningJobCount : maxScaleValue - pendingJobCount;
  }
}

/** How many Jobs this polling interval creates: none while inactive, never fewer than none. */
export function jobsToCreate(queueLength: number, trigger: TriggerTarget, scaling: ScaledJobScaling, jobs: JobCounts): number {
  if (!isActive(queueLength, trigger.activationValue)) return 0;
  const scale = maxScale(queueLength, trigger.targetAverageValue, scaling.maxReplicaCount);
  return Math.max(0, effectiveMaxScale(scaling, scale, jobs));
}
