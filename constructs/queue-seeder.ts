import { createHash } from 'crypto';
import * as kplus from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import { checkItems, Command, Env, ItemsMount, MAX_ITEMS_FILE_BYTES, Rules, SEED_BASE_MEMORY_MIB, SEED_MEMORY_PER_FILE_BYTE, seedId } from '../worker/contract';
import { IWorkQueueBroker } from './broker';
import { checkClientJobProps, ClientJobProps, createClientJob, derivedJobName } from './client-job';
import { appLabels } from './labels';
import { containerResources } from './resources';
import { check, fail } from './validate';

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
   * the largest ITEMS_FILE `work-queue seed` reads was measured to take
   */
  readonly resources?: kplus.ContainerResources;
}

/**
 * The seeder's default memory limit, derived from the largest ITEMS_FILE `seed` reads and the
 * memory seeding it was measured to take (the contract's MAX_ITEMS_FILE_BYTES and
 * SEED_MEMORY_PER_FILE_BYTE over SEED_BASE_MEMORY_MIB): 384 MiB. A pod that mounts its own,
 * larger file gets a one-line refusal from `seed`, not an OOM kill.
 */
const SEED_MEMORY_LIMIT_MIB = SEED_BASE_MEMORY_MIB + Math.ceil((MAX_ITEMS_FILE_BYTES / (1024 * 1024)) * SEED_MEMORY_PER_FILE_BYTE);

/** A ConfigMap's data may not exceed 1 MiB. */
const MAX_CONFIG_MAP_BYTES = 1024 * 1024;

/** Hex digits of the items' digest in the ConfigMap's name, as many as kustomize uses. */
const ITEMS_HASH_LENGTH = 10;

/** Pod annotation carrying the digest of the item list, so a changed list changes the Jobs' pod templates. */
export const ITEMS_DIGEST_ANNOTATION = 'work-queue-stack.io/items-sha256';

/**
 * A Job that fills a queue with the items once, idempotently: the items travel in a ConfigMap
 * mounted at `ITEMS_FILE`, and `work-queue seed` adds nothing when the same seed (items and run)
 * is already seeded. The Job is named `<name>-<hash>`, so changed items or another run are a new Job.
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
    const problem = checkItems(props.items);
    if (problem) fail(this, `items${problem.where}`, problem.value, problem.expected);
    const itemsJson = JSON.stringify(props.items);
    if (Buffer.byteLength(itemsJson) > MAX_CONFIG_MAP_BYTES) {
      fail(this, 'items', props.items, `at most 1 MiB of items in all as JSON (a ConfigMap's limit), not ${Buffer.byteLength(itemsJson)} bytes`);
    }

    this.broker = props.broker;
    this.queue = props.queue;
    this.itemCount = props.items.length;
    this.itemsDigest = createHash('sha256').update(itemsJson).digest('hex');
    this.seedId = seedId(props.items, props.run);
    const name = props.name ?? derivedJobName(this);

    // Named by its content, as kustomize's configMapGenerator does, and immutable: a changed list is
    // a new ConfigMap beside the old one, so a seeder pod never mounts a list that is being replaced.
    const itemsHash = this.itemsDigest.slice(0, ITEMS_HASH_LENGTH);
    const configMap = new kplus.ConfigMap(this, 'Items', {
      metadata: { name: `${name}-items-${itemsHash}`, labels: appLabels(this, 'work-queue', name, 'seeder') },
      data: { [ItemsMount.fileName]: itemsJson },
      immutable: true,
    });

    this.job = createClientJob(this, 'Resource', {
      name,
      nameByHash: true,
      image: props.image,
      subcommand: Command.seed,
      component: 'seeder',
      broker: props.broker,
      queue: props.queue,
      env: { [Env.itemsFile]: ItemsMount.path, ...(props.run !== undefined ? { [Env.seedRun]: props.run } : {}) },
      volumeMounts: [{ path: ItemsMount.directory, readOnly: true, volume: kplus.Volume.fromConfigMap(this, 'ItemsVolume', configMap, { name: 'items' }) }],
      podAnnotations: { [ITEMS_DIGEST_ANNOTATION]: this.itemsDigest },
      backoffLimit: props.backoffLimit ?? 4,
      ttlSecondsAfterFinished: props.ttlSecondsAfterFinished,
      resources: props.resources ?? containerResources({ cpuMillis: { request: 100, limit: 1000 }, memoryMiB: { request: 128, limit: SEED_MEMORY_LIMIT_MIB } }),
      brokerRetrySeconds: props.brokerRetrySeconds,
    });
  }
}
