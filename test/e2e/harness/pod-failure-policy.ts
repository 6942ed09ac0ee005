import type { IPodFailurePolicyRule } from 'kubernetes-models/batch/v1/PodFailurePolicyRule';
import type { PodCondition } from './pod-disruption';

/** What a podFailurePolicy does with a failed pod (batch.PodFailurePolicyAction). */
export type FailureAction = 'FailJob' | 'FailIndex' | 'Ignore' | 'Count';

/**
 * The action of the first rule matching a failed pod (matchPodFailurePolicy, pod_failure_policy.go
 * at 2b02db1b): an `onExitCodes` rule matches the container's non-zero exit code (matchOnExitCodes;
 * a pod whose node was lost has none), an `onPodConditions` rule a condition of the pod with that
 * type and status (matchOnPodConditions; status defaults to True, SetDefaults_Job); Count when none does.
 */
export function failurePolicyAction(
  rules: IPodFailurePolicyRule[],
  containerName: string,
  exitCode: number | undefined,
  podConditions: readonly PodCondition[] = [],
): FailureAction {
  for (const rule of rules) {
    const { onExitCodes, onPodConditions } = rule;
    if (onExitCodes) {
      if (exitCode === undefined || exitCode === 0) continue;
      if (onExitCodes.containerName !== undefined && onExitCodes.containerName !== containerName) continue;
      const listed = onExitCodes.values.includes(exitCode);
      if (onExitCodes.operator === 'In' ? listed : !listed) return rule.action;
    } else if (onPodConditions) {
      const matched = podConditions.some((condition) =>
        // The API server defaults a pattern's omitted status to True.
        onPodConditions.some(
          (pattern: { type: string; status?: string }) =>
            pattern.type === condition.type && (pattern.status ?? 'True') === condition.status,
        ),
      );
      if (matched) return rule.action;
    }
  }
  return 'Count';
}
