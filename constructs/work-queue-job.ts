import type * as kplus from 'cdk8s-plus-28';
import { type Construct } from 'constructs';
import { Rules } from '../contract';
import { check, fail } from './validate';
import { WorkerJobBase, type WorkerJobProps } from './worker-job';

export interface WorkQueueJobProps extends WorkerJobProps {
  /**
   * Successful pods the Job needs (`coarse` only). With a seeder it must equal its item count.
   * @default - the seeder's `itemCount` for `coarse`; unset for `fine`
   */
  readonly completions?: number;
  /**
   * Pods running at once.
   * @default 2
   */
  readonly parallelism?: number;
}

/**
 * The worker Job of either pattern, wired to the broker's Secret and ordered after its seeder,
 * named `<name>-<hash>` so that a changed batch is a new Job (`job.name` is the whole name).
 */
export class WorkQueueJob extends WorkerJobBase {
  public readonly job: kplus.Job;
  /** `completions` of the Job; undefined for `fine`. */
  public readonly completions?: number;
  public readonly parallelism: number;

  constructor(scope: Construct, id: string, props: WorkQueueJobProps) {
    super(scope, id, props);
    this.parallelism = props.parallelism ?? 2;
    check(this, 'parallelism', this.parallelism, Rules.positiveInteger);
    this.completions = this.resolveCompletions(props);
    this.job = this.createWorkerJob(this, 'Resource', props, {
      name: props.name,
      nameByHash: true,
      parallelism: this.parallelism,
      completions: this.completions,
    });
    if (props.seeder) this.job.node.addDependency(props.seeder);
  }

  /** Coarse: one successful pod per item, the seeder's item count unless given. Fine: none. */
  private resolveCompletions(props: WorkQueueJobProps): number | undefined {
    check(this, 'completions', props.completions, Rules.positiveInteger);
    const { seeder } = props;
    if (props.pattern === 'fine') {
      if (props.completions !== undefined) {
        fail(
          this,
          'completions',
          props.completions,
          'no completions for the fine pattern: its pods drain the queue and the first to succeed ends the Job',
        );
      }
      return undefined;
    }
    if (seeder) {
      if (props.completions !== undefined && props.completions !== seeder.itemCount) {
        fail(
          this,
          'completions',
          props.completions,
          `${seeder.itemCount}, the seeder's item count (or leave completions unset to derive it): ` +
            'a coarse Job with fewer completions leaves items behind, with more it never finishes',
        );
      }
      return seeder.itemCount;
    }
    if (props.completions === undefined) {
      fail(
        this,
        'completions',
        undefined,
        'a completions count, or a seeder to derive it from: a coarse Job needs one successful pod per item',
      );
    }
    return props.completions;
  }
}
