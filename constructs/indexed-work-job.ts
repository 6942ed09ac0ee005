import { type Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Command, Defaults, Env, IndexedItems, ItemsMount, Rules } from '../contract';
import {
  checkWorkerImageProps,
  createWorkerImageJob,
  DEFAULT_TTL_AFTER_FINISHED,
  defaultWorkerResources,
  derivedJobName,
  type WorkerImageProps,
} from './client-job';
import { checkItemWorkProps, type ItemWorkProps } from './item-work';
import { ITEMS_DIGEST_ANNOTATION, itemsDigest, type ItemsLimits, itemsConfigMaps } from './items-config-maps';
import { checkKubernetesVersion, type JobFeature } from './kubernetes-version';
import { appLabels } from './labels';
import { checkRetryBudget } from './retry-budget';
import { secondsOf } from './seconds';
import { check, checkDuration, fail } from './validate';

/** What an Indexed Job's items may be: every pod mounts them all. */
const INDEXED_ITEMS: ItemsLimits = {
  maxItems: IndexedItems.maxItems,
  maxTotalBytes: IndexedItems.maxTotalBytes,
  why: 'in an Indexed Job (every pod mounts them all)',
  instead:
    'use the coarse or fine pattern, whose seeder puts the items on a queue, or keep large payloads in object storage with their keys as the items',
};

export interface IndexedWorkJobProps extends WorkerImageProps, ItemWorkProps {
  /** The work items, opaque strings; duplicates are distinct items. Pod `i` works on item `i`. */
  readonly items: string[];
  /**
   * Pods running at once.
   * @default 2
   */
  readonly parallelism?: number;
  /**
   * Items that may fail before the Job stops and fails (`maxFailedIndexes`); 0 stops it at the
   * first failed item.
   * @default - no limit: every item is tried, and the Job fails at the end if one of them failed
   */
  readonly maxFailedItems?: number;
  /**
   * Succeeded items that complete the Job (a `successPolicy` with this `succeededCount`): its
   * other pods are stopped, and the items they had not finished are left undone.
   * @default - every item must succeed
   */
  readonly succeededCount?: number;
  /**
   * How long the Job may run before Kubernetes stops it; whole seconds.
   * @default - no deadline
   */
  readonly activeDeadline?: Duration;
  /**
   * A label of this run of the items: the same items with another run are a new Job, which works
   * them off again. Re-applying with the same run (or none) runs nothing again.
   * @default - none: the Job is named by its items and settings alone
   */
  readonly run?: string;
  /**
   * The Kubernetes version of the cluster (`"1.31"`, `"v1.30.4"`): synth fails with one line when
   * the Job needs a field that this version's API server would reject or drop
   * (`backoffLimitPerIndex` and `FailIndex` need 1.29, `succeededCount` 1.31).
   * @default "1.33", where every field the Job may use is GA
   */
  readonly kubernetesVersion?: string;
}

/** Pod annotation carrying the run label, so that another run is another pod template and Job. */
export const RUN_ANNOTATION = 'work-queue-stack.io/run';

/** The Job fields an IndexedWorkJob always uses: per-index retries and the FailIndex rule. */
const PER_INDEX_RETRIES: JobFeature = {
  since: 29,
  history:
    'an IndexedWorkJob retries each item on its own (backoffLimitPerIndex, FailIndex), beta from Kubernetes 1.29 and GA in 1.33',
  olderServer:
    'drops backoffLimitPerIndex and then rejects the FailIndex rule of the Job (the coarse and fine patterns run there)',
};

/**
 * The Kubernetes docs' "Indexed Job for Parallel Processing with Static Work Assignment", with no
 * broker: a Job with `completionMode: Indexed` and one completion per item, whose pod of index `i`
 * works on item `i` (`WORKER_MODE=indexed`). The items travel in content-named immutable
 * ConfigMaps, split so that each fits `kubectl apply`, projected read-only into every pod. Each
 * item is retried on its own (`maxAttempts` pods), an item the worker cannot read fails at once
 * (exit code 2, `FailIndex`), and evictions count against nothing. The Job is named
 * `<name>-<hash>`, so changed items or settings, or another run, are a new Job.
 */
export class IndexedWorkJob extends Construct {
  public readonly job: kplus.Job;
  /** The Job's completions: one per item. */
  public readonly completions: number;
  public readonly parallelism: number;
  /** SHA-256 of the item list. */
  public readonly itemsDigest: string;
  /** The ConfigMaps that hold the items, in index order. */
  public readonly configMaps: readonly kplus.ConfigMap[];

  constructor(scope: Construct, id: string, props: IndexedWorkJobProps) {
    super(scope, id);
    checkWorkerImageProps(this, props);
    checkItemWorkProps(this, props);
    const name = props.name ?? derivedJobName(this);
    const labels = appLabels(this, 'work-queue', name, 'worker');
    // First: the checks below count the items.
    this.configMaps = itemsConfigMaps(this, name, labels, props.items, INDEXED_ITEMS);
    this.completions = props.items.length;
    this.parallelism = props.parallelism ?? 2;
    check(this, 'parallelism', this.parallelism, Rules.positiveInteger);
    this.checkFailureBudget(props);
    checkDuration(this, 'activeDeadline', props.activeDeadline, Rules.positiveInteger);
    check(this, 'run', props.run, Rules.seedRun);
    checkKubernetesVersion(this, props.kubernetesVersion, [
      PER_INDEX_RETRIES,
      ...(props.succeededCount !== undefined
        ? [
            {
              prop: { name: 'succeededCount', value: props.succeededCount },
              since: 31,
              history: 'successPolicy is beta from Kubernetes 1.31 and GA in 1.33',
              olderServer: 'drops it, and the Job waits for every item',
            },
          ]
        : []),
    ]);
    const maxAttempts = props.maxAttempts ?? Defaults.maxAttempts;
    const workTimeoutSeconds = secondsOf(props.workTimeout) ?? Defaults.workTimeoutSeconds;
    const workSeconds = secondsOf(props.workDuration) ?? Defaults.workSeconds;
    checkRetryBudget(this, {
      onePodPerItem: false,
      maxAttempts,
      workTimeoutSeconds,
      builtInWorkSeconds: props.workCommand === undefined ? workSeconds : undefined,
      activeDeadlineSeconds: secondsOf(props.activeDeadline),
    });

    this.itemsDigest = itemsDigest(props.items);

    this.job = createWorkerImageJob(this, 'Resource', {
      name,
      nameByHash: true,
      labels,
      image: props.image,
      args: [Command.work],
      env: Object.fromEntries(
        Object.entries({
          [Env.workerMode]: 'indexed',
          [Env.itemsDirectory]: ItemsMount.directory,
          [Env.workSeconds]: String(workSeconds),
          [Env.workTimeoutSeconds]: String(workTimeoutSeconds),
          ...(props.workCommand !== undefined ? { [Env.workCommand]: props.workCommand } : {}),
        }).map(([variable, value]) => [variable, kplus.EnvValue.fromValue(value)]),
      ),
      podAnnotations: {
        [ITEMS_DIGEST_ANNOTATION]: this.itemsDigest,
        ...(props.run !== undefined ? { [RUN_ANNOTATION]: props.run } : {}),
      },
      parallelism: this.parallelism,
      completions: this.completions,
      indexed: {
        backoffLimitPerIndex: maxAttempts - 1,
        maxFailedIndexes: props.maxFailedItems,
        succeededCount: props.succeededCount,
      },
      activeDeadline: props.activeDeadline,
      ttlAfterFinished: props.ttlAfterFinished ?? DEFAULT_TTL_AFTER_FINISHED,
      resources: props.resources ?? defaultWorkerResources(),
      items: this.configMaps,
    });
  }

  private checkFailureBudget({ maxFailedItems, succeededCount, items }: IndexedWorkJobProps): void {
    check(this, 'maxFailedItems', maxFailedItems, Rules.nonNegativeInteger);
    if (maxFailedItems !== undefined && maxFailedItems > items.length) {
      fail(
        this,
        'maxFailedItems',
        maxFailedItems,
        `at most ${items.length}, the number of items (or leave it unset for no limit)`,
      );
    }
    check(this, 'succeededCount', succeededCount, Rules.positiveInteger);
    if (succeededCount !== undefined && succeededCount > items.length) {
      fail(
        this,
        'succeededCount',
        succeededCount,
        `at most ${items.length}, the number of items (or leave it unset: every item must succeed)`,
      );
    }
  }
}
