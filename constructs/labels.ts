import { Chart } from 'cdk8s';
import { type IConstruct } from 'constructs';

/** `app.kubernetes.io/part-of` of every object unless the chart sets its own. */
export const DEFAULT_PART_OF = 'work-queue-stack';

/** `app.kubernetes.io/managed-by` of every object: the tool that wrote it. */
export const MANAGED_BY = 'work-queue-stack';

export const LabelKeys = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/**
 * The recommended `app.kubernetes.io` labels of an object (and its pods) that this library writes.
 * `part-of` is the chart's own `app.kubernetes.io/part-of` label when it has one, so that
 * `kubectl apply --prune -l app.kubernetes.io/part-of=<value>` selects every object of the chart.
 */
export function appLabels(
  scope: IConstruct,
  name: string,
  instance: string,
  component: string,
): Record<string, string> {
  return {
    [LabelKeys.name]: name,
    [LabelKeys.instance]: instance,
    [LabelKeys.component]: component,
    [LabelKeys.partOf]: Chart.of(scope).labels[LabelKeys.partOf] ?? DEFAULT_PART_OF,
    [LabelKeys.managedBy]: MANAGED_BY,
  };
}
