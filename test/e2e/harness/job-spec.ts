import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IJobSpec } from 'kubernetes-models/batch/v1/JobSpec';
import type { IPodFailurePolicyRule } from 'kubernetes-models/batch/v1/PodFailurePolicyRule';

/** The API's default backoffLimit, and the one it sets when backoffLimitPerIndex is set (math.MaxInt32). */
const DEFAULT_BACKOFF_LIMIT = 6;
const BACKOFF_LIMIT_WITH_PER_INDEX = 2147483647;

/** A Job's spec as the controller reads it, with the API server's defaults applied. */
export interface JobSettings {
  readonly name: string;
  readonly spec: IJobSpec;
  readonly indexed: boolean;
  readonly perIndexLimit?: number;
  /** Unset: a work-queue Job (parallelism without completions). */
  readonly completions?: number;
  readonly parallelism: number;
  readonly backoffLimit: number;
  readonly restartPolicy?: string;
  readonly containerName: string;
  readonly rules: IPodFailurePolicyRule[];
  readonly onlyReplaceFailed: boolean;
}

/** The Job's settings; throws for what the API server would refuse or the harness does not model. */
export function jobSettings(job: IJob): JobSettings {
  const name = job.metadata?.name ?? 'job';
  const spec = job.spec;
  if (!spec) throw new Error(`Job ${name} has no spec`);
  checkSupported(name, spec);
  const perIndexLimit = spec.backoffLimitPerIndex;
  return {
    name,
    spec,
    indexed: spec.completionMode === 'Indexed',
    perIndexLimit,
    // The API server's defaults: with neither set both are 1; with parallelism only, completions stays unset.
    completions: spec.completions ?? (spec.parallelism === undefined ? 1 : undefined),
    parallelism: spec.parallelism ?? 1,
    backoffLimit:
      spec.backoffLimit ?? (perIndexLimit === undefined ? DEFAULT_BACKOFF_LIMIT : BACKOFF_LIMIT_WITH_PER_INDEX),
    restartPolicy: spec.template.spec!.restartPolicy,
    containerName: spec.template.spec!.containers[0].name,
    rules: spec.podFailurePolicy?.rules ?? [],
    // onlyReplaceFailedPods: podReplacementPolicy Failed, which SetDefaults_Job gives a Job with a
    // podFailurePolicy (and validation demands of it); TerminatingOrFailed otherwise.
    onlyReplaceFailed: spec.podReplacementPolicy === 'Failed' || spec.podFailurePolicy !== undefined,
  };
}

/** What the API server's Job validation would refuse (the JobSpec API reference), and what the harness does not model. */
function checkSupported(name: string, spec: IJobSpec): void {
  const fail = (problem: string) => {
    throw new Error(`Job ${name}: ${problem}`);
  };
  if (spec.suspend) fail('suspended Jobs are not supported by the e2e harness');
  const restartPolicy = spec.template.spec?.restartPolicy;
  if (restartPolicy !== 'Never' && restartPolicy !== 'OnFailure')
    fail(`restartPolicy must be Never or OnFailure, got ${JSON.stringify(restartPolicy)}`);
  const indexed = spec.completionMode === 'Indexed';
  if (spec.completionMode !== undefined && spec.completionMode !== 'NonIndexed' && !indexed)
    fail(`unknown completionMode ${spec.completionMode}`);
  if (indexed && spec.completions === undefined) fail('completionMode Indexed needs completions');
  if (spec.backoffLimitPerIndex !== undefined && (!indexed || restartPolicy !== 'Never'))
    fail('backoffLimitPerIndex needs completionMode Indexed and restartPolicy Never');
  if (spec.maxFailedIndexes !== undefined && spec.backoffLimitPerIndex === undefined)
    fail('maxFailedIndexes needs backoffLimitPerIndex');
  if (spec.successPolicy && !indexed) fail('successPolicy needs completionMode Indexed');
  const rules = spec.podFailurePolicy?.rules ?? [];
  if (rules.length > 0 && restartPolicy !== 'Never') fail('podFailurePolicy needs restartPolicy Never');
  if (rules.some((rule) => rule.action === 'FailIndex') && spec.backoffLimitPerIndex === undefined)
    fail('the podFailurePolicy action FailIndex needs backoffLimitPerIndex');
  // validatePodReplacementPolicy: with a podFailurePolicy only Failed.
  if (spec.podFailurePolicy && spec.podReplacementPolicy === 'TerminatingOrFailed')
    fail('podReplacementPolicy must be Failed when podFailurePolicy is set');
}
