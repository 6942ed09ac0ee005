import type * as kplus from 'cdk8s-plus-28';
import { Construct, type IConstruct } from 'constructs';
import {
  Command,
  Env,
  ItemsMount,
  MAX_ITEMS_FILE_BYTES,
  Rules,
  SEED_BASE_MEMORY_MIB,
  SEED_MEMORY_PER_FILE_BYTE,
  seedId,
} from '../contract';
import { type IWorkQueueBroker } from './broker';
import { checkClientJobProps, type ClientJobProps, createClientJob, derivedJobName } from './client-job';
import { ITEMS_DIGEST_ANNOTATION, itemsDigest, type ItemsLimits, itemsConfigMaps } from './items-config-maps';
import { appLabels } from './labels';
import { containerResources } from './resources';
import { check } from './validate';

/** A construct that fills a queue with a known list of items; a `WorkQueueJob` runs after it. */
export interface IQueueSeeder extends IConstruct {
  /** The broker it fills. */
  readonly broker: IWorkQueueBroker;
  /** The queue (AMQP) or list (Redis) it fills. */
  readonly queue: string;
  /** Number of items the queue receives: a coarse worker Job's `completions`. */
  readonly itemCount: number;
  /** SHA-256 of the item list, carried by the Jobs' pod templates so a changed list changes them. */
  readonly itemsDigest: string;
  /** The id of the seed (`seedId(items, run)` of the contract), which the workers wait for (`SEED_ID`). */
  readonly seedId: string;
}

export interface QueueSeederProps extends ClientJobProps {
  /** The broker to fill. */
  readonly broker: IWorkQueueBroker;
  /** Queue (AMQP) or list (Redis) to fill. */
  readonly queue: string;
  /** The work items, opaque strings; duplicates are distinct items. */
  readonly items: string[];
  /**
   * Retries of a failed seeding pod. Seeding is idempotent, so a retry after a crash halfway
   * leaves exactly the intended items.
   * @default 4
   */
  readonly backoffLimit?: number;
  /**
   * A label of this run of the items (`SEED_RUN`): the seed id is `seedId(items, run)`, so the same
   * items with another run are a new seed, seeded and worked off again by new Jobs. Re-applying
   * with the same run (or none) adds nothing.
   * @default - none: the seed is named by its items alone
   */
  readonly run?: string;
  /**
   * CPU and memory of the seeder's container.
   * @default - requests 100m CPU and 128Mi memory; limits 1 CPU and 384Mi memory: what seeding
   * the most items `work-queue seed` reads (8 MiB) was measured to take
   */
  readonly resources?: kplus.ContainerResources;
}

/**
 * The seeder's default memory limit, derived from the most items `seed` reads and the
 * memory seeding it was measured to take (the contract's MAX_ITEMS_FILE_BYTES and
 * SEED_MEMORY_PER_FILE_BYTE over SEED_BASE_MEMORY_MIB): 384 MiB. A pod that mounts its own,
 * larger file gets a one-line refusal from `seed`, not an OOM kill.
 */
const SEED_MEMORY_LIMIT_MIB =
  SEED_BASE_MEMORY_MIB + Math.ceil((MAX_ITEMS_FILE_BYTES / (1024 * 1024)) * SEED_MEMORY_PER_FILE_BYTE);

/** What a seeder's items may be: what `seed` reads. */
const SEEDED_ITEMS: ItemsLimits = {
  maxTotalBytes: MAX_ITEMS_FILE_BYTES,
  why: '(what work-queue seed reads and its memory limit is sized for)',
  instead:
    'split the list over several seeders or runs, or keep large payloads in object storage with their keys as the items',
};

export { ITEMS_DIGEST_ANNOTATION } from './items-config-maps';

/**
 * A Job that fills a queue with the items once, idempotently: the items travel in content-named
 * immutable ConfigMaps (split so that each fits `kubectl apply`) projected at `ITEMS_DIRECTORY`,
 * and `work-queue seed` adds nothing when the same seed (items and run) is already seeded. The
 * Job is named `<name>-<hash>`, so changed items or another run are a new Job.
 */
export class QueueSeeder extends Construct implements IQueueSeeder {
  /** Number of items the queue receives: the coarse worker Job's `completions`. */
  public readonly itemCount: number;
  /** SHA-256 of the item list as seeded. */
  public readonly itemsDigest: string;
  public readonly seedId: string;
  public readonly broker: IWorkQueueBroker;
  public readonly queue: string;
  public readonly job: kplus.Job;

  constructor(scope: Construct, id: string, props: QueueSeederProps) {
    super(scope, id);
    check(this, 'queue', props.queue, Rules.queueName);
    checkClientJobProps(this, props);
    check(this, 'backoffLimit', props.backoffLimit, Rules.nonNegativeInteger);
    check(this, 'run', props.run, Rules.seedRun);
    const name = props.name ?? derivedJobName(this);
    const configMaps = itemsConfigMaps(
      this,
      name,
      appLabels(this, 'work-queue', name, 'seeder'),
      props.items,
      SEEDED_ITEMS,
    );
    this.broker = props.broker;
    this.queue = props.queue;
    this.itemCount = props.items.length;
    this.itemsDigest = itemsDigest(props.items);
    this.seedId = seedId(props.items, props.run);

    this.job = createClientJob(this, 'Resource', {
      name,
      nameByHash: true,
      image: props.image,
      subcommand: Command.seed,
      component: 'seeder',
      broker: props.broker,
      queue: props.queue,
      env: {
        [Env.itemsDirectory]: ItemsMount.directory,
        ...(props.run !== undefined ? { [Env.seedRun]: props.run } : {}),
      },
      items: configMaps,
      podAnnotations: { [ITEMS_DIGEST_ANNOTATION]: this.itemsDigest },
      backoffLimit: props.backoffLimit ?? 4,
      ttlAfterFinished: props.ttlAfterFinished,
      resources:
        props.resources ??
        containerResources({
          cpuMillis: { request: 100, limit: 1000 },
          memoryMiB: { request: 128, limit: SEED_MEMORY_LIMIT_MIB },
        }),
      brokerRetry: props.brokerRetry,
    });
  }
}
