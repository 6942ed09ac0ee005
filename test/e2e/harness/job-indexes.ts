/**
 * What the Job controller does for an Indexed Job's pods and index sets, read from
 * kubernetes/kubernetes pkg/controller/job (indexed_job_utils.go, success_policy.go; commit
 * 6ae037f1 of job_controller.go, the 1.31/1.32 line) and the Job docs' "Completion mode" and
 * "Success policy" sections. job-controller.ts runs the Job; this file holds the pieces it reuses.
 */
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { ISuccessPolicy } from 'kubernetes-models/batch/v1/SuccessPolicy';

/** batch.JobCompletionIndexAnnotation: the annotation, and (PodIndexLabel, on by default since 1.28) the label, with a pod's index. */
export const COMPLETION_INDEX_KEY = 'batch.kubernetes.io/job-completion-index';
/** completionIndexEnvName in indexed_job_utils.go. */
export const COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';

/**
 * The template of the pod for `index`, as manageJob builds it: addCompletionIndexEnvVariables (every
 * container and init container that does not define JOB_COMPLETION_INDEX gets it appended last, from
 * the downward API: `metadata.labels['batch.kubernetes.io/job-completion-index']` with PodIndexLabel),
 * addCompletionIndexAnnotation, addCompletionIndexLabel, and `spec.hostname = <job name>-<index>`.
 */
export function indexedPodTemplate(jobName: string, template: IPodTemplateSpec, index: number): IPodTemplateSpec {
  const copy = structuredClone(template);
  const metadata = (copy.metadata ??= {});
  metadata.annotations = { ...metadata.annotations, [COMPLETION_INDEX_KEY]: String(index) };
  metadata.labels = { ...metadata.labels, [COMPLETION_INDEX_KEY]: String(index) };
  const spec = copy.spec!;
  spec.hostname = `${jobName}-${index}`;
  for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
    if (container.env?.some((variable) => variable.name === COMPLETION_INDEX_ENV)) continue;
    container.env = [
      ...(container.env ?? []),
      {
        name: COMPLETION_INDEX_ENV,
        valueFrom: { fieldRef: { fieldPath: `metadata.labels['${COMPLETION_INDEX_KEY}']` } },
      },
    ];
  }
  return copy;
}

/**
 * The index set in the API's text form (`orderedIntervals.String`): increasing, runs of three or
 * more as `first-last`, two in a row as `a,b`; e.g. 1, 3, 4, 5, 7 -> "1,3-5,7".
 */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let last = i;
    while (last + 1 < sorted.length && sorted[last + 1] === sorted[last] + 1) last++;
    if (last === i) parts.push(String(sorted[i]));
    else if (last === i + 1) parts.push(`${sorted[i]},${sorted[last]}`);
    else parts.push(`${sorted[i]}-${sorted[last]}`);
    i = last + 1;
  }
  return parts.join(',');
}

/**
 * The indexes of a text index set below `completions` (`parseIndexesFromString`): an interval that
 * does not parse is skipped, one that starts at or past `completions` ends the list, and a last
 * index past it is cut to `completions - 1`.
 */
export function parseIndexes(text: string, completions: number): Set<number> {
  const result = new Set<number>();
  if (text === '') return result;
  for (const interval of text.split(',')) {
    const bounds = interval.split('-');
    const [firstText] = bounds;
    const lastText = bounds.at(1);
    const first = Number.parseInt(firstText, 10);
    if (Number.isNaN(first)) continue;
    if (first >= completions) break;
    let last = first;
    if (lastText !== undefined) {
      last = Number.parseInt(lastText, 10);
      if (Number.isNaN(last)) continue;
      last = Math.min(last, completions - 1);
    }
    for (let index = first; index <= last; index++) result.add(index);
  }
  return result;
}

/**
 * The first `count` indexes below `completions` that are neither succeeded, failed nor held by an
 * active pod, lowest first (`firstPendingIndexes`).
 */
export function firstPendingIndexes(count: number, completions: number, taken: (index: number) => boolean): number[] {
  const result: number[] = [];
  for (let index = 0; index < completions && result.length < count; index++) if (!taken(index)) result.push(index);
  return result;
}

/**
 * Whether the succeeded indexes meet the success policy (`matchSuccessPolicy`, the Job docs'
 * "Success policy"): rules in order, the first that matches wins; a rule with `succeededIndexes`
 * matches when all of them succeeded, or at least `succeededCount` of them; a rule with only
 * `succeededCount` when that many indexes succeeded. No succeeded index never matches.
 */
export function matchSuccessPolicy(
  policy: ISuccessPolicy | undefined,
  completions: number,
  succeeded: ReadonlySet<number>,
): boolean {
  if (!policy || succeeded.size === 0) return false;
  for (const rule of policy.rules) {
    if (rule.succeededIndexes !== undefined) {
      const required = parseIndexes(rule.succeededIndexes, completions);
      if (required.size === 0) continue; // unparsable: the controller skips the rule
      const contained = [...required].filter((index) => succeeded.has(index)).length;
      if (contained === required.size || (rule.succeededCount !== undefined && contained >= rule.succeededCount))
        return true;
    } else if (rule.succeededCount !== undefined && succeeded.size >= rule.succeededCount) {
      return true;
    }
  }
  return false;
}
