import { type Duration } from 'cdk8s';
import type * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Command, Defaults, Env, Rules, type WorkerMode } from '../contract';
import { type IWorkQueueBroker } from './broker';
import { checkClientJobProps, type ClientJobProps, type ClientJobSettings, createClientJob } from './client-job';
import { checkItemWorkProps, type ItemWorkProps } from './item-work';
import { ITEMS_DIGEST_ANNOTATION } from './items-config-maps';
import { type IQueueSeeder } from './queue-seeder';
import { checkRetryBudget } from './retry-budget';
import { inSeconds, secondsOf } from './seconds';
import { check, checkDuration, fail } from './validate';

/**
 * `coarse`: every pod takes exactly one item and exits (`completions` = number of items).
 * `fine`: every pod drains the queue and exits 0 when it is empty (`completions` unset; needs Redis).
 */
export const WORK_QUEUE_PATTERNS = ['coarse', 'fine'] as const;
export type WorkQueuePattern = (typeof WORK_QUEUE_PATTERNS)[number];

const WORKER_MODE: Record<WorkQueuePattern, WorkerMode> = { coarse: 'single', fine: 'drain' };
const DEFAULT_BACKOFF_LIMIT = 6;

/** What the worker Jobs of `WorkQueueJob` and `ScaledWorkQueueJob` are built from. */
export interface WorkerJobProps extends ClientJobProps, ItemWorkProps {
  /** One item per pod (`coarse`) or pods that drain the queue (`fine`). */
  readonly pattern: WorkQueuePattern;
  /**
   * The seeder that fills the queue: the Jobs take its broker and queue, run after it, and their
   * pods wait for its seed (`SEED_ID`): an empty queue is done only once the seed is complete.
   * @default - none: the queue is filled some other way (`externalProducer: true`); `broker`,
   *   `queue` and, for `coarse`, `completions` are then required
   */
  readonly seeder?: IQueueSeeder;
  /**
   * How long a worker pod waits for the seeder's seed to complete while the queue is empty
   * (`SEED_WAIT_SECONDS`); then it exits with code 4, and the Job retries it (`backoffLimit`).
   * Only with a seeder.
   * @default Duration.minutes(10) (fits a seeding Job that retries its broker)
   */
  readonly seedWait?: Duration;
  /**
   * The queue is filled by a producer of its own, not a `QueueSeeder` (required without a
   * seeder, refused with one): the pods take an empty queue as done, with no seed to wait for.
   * @default false
   */
  readonly externalProducer?: boolean;
  /**
   * The broker the workers take items from.
   * @default - the seeder's broker (required without a seeder)
   */
  readonly broker?: IWorkQueueBroker;
  /**
   * Queue (AMQP) or list (Redis) to work off.
   * @default - the seeder's queue (required without a seeder)
   */
  readonly queue?: string;
  /**
   * Failed pods before a Job fails. A failing item is retried by the queue (up to
   * `maxAttempts`), not by pod restarts, so this only bounds crashes, and, in a `coarse` Job, the
   * failed attempts of a poison item (each is a failed pod): there it must be at least
   * `maxAttempts - 1`, which synth checks.
   * @default 6, or `maxAttempts - 1` when that is more (`coarse`)
   */
  readonly backoffLimit?: number;
  /**
   * How long a Job may run before Kubernetes stops it; whole seconds.
   * @default - no deadline: the workers end the Job when the queue is done
   */
  readonly activeDeadline?: Duration;
  /**
   * Lease length on Redis (`LEASE_SECONDS`), whole seconds: a worker renews it while it works; others
   * reclaim the item after it expires. Not used on AMQP, whose broker redelivers unacked items.
   * @default Duration.seconds(30)
   */
  readonly leaseDuration?: Duration;
}

/**
 * The base of the constructs whose Jobs run `work-queue work`: resolves broker and queue (from the
 * seeder unless given), checks the worker settings, and builds the worker Job from them, so a
 * `WorkQueueJob` and the Jobs of a `ScaledWorkQueueJob` come from one pod template. Internal: not
 * exported by the package.
 */
export abstract class WorkerJobBase extends Construct {
  /** The broker the workers take items from: the given one, else the seeder's. */
  public readonly broker: IWorkQueueBroker;
  /** The queue (AMQP) or list (Redis) the workers work off: the given one, else the seeder's. */
  public readonly queue: string;
  public readonly pattern: WorkQueuePattern;

  protected constructor(scope: Construct, id: string, props: WorkerJobProps) {
    super(scope, id);
    // The type holds for TypeScript callers; JavaScript and YAML-fed callers get the check.
    const pattern: unknown = props.pattern;
    if (!WORK_QUEUE_PATTERNS.includes(pattern as WorkQueuePattern))
      fail(this, 'pattern', pattern, WORK_QUEUE_PATTERNS.map((p) => `"${p}"`).join(' or '));
    this.pattern = props.pattern;
    this.broker = this.resolveBroker(props);
    this.queue = this.resolveQueue(props);
    this.checkWorkerProps(props);
  }

  /**
   * The worker Job of `props` (those this construct was built with) and the Job-level settings the subclass decides.
   * @internal
   */
  protected createWorkerJob(
    scope: Construct,
    id: string,
    props: WorkerJobProps,
    jobSettings: Pick<ClientJobSettings, 'name' | 'nameByHash' | 'parallelism' | 'completions'>,
  ): kplus.Job {
    const { seeder } = props;
    return createClientJob(scope, id, {
      ...jobSettings,
      image: props.image,
      subcommand: Command.work,
      component: 'worker',
      broker: this.broker,
      queue: this.queue,
      env: {
        [Env.workerMode]: WORKER_MODE[props.pattern],
        [Env.workSeconds]: String(secondsOf(props.workDuration) ?? Defaults.workSeconds),
        [Env.maxAttempts]: String(props.maxAttempts ?? Defaults.maxAttempts),
        [Env.workTimeoutSeconds]: String(secondsOf(props.workTimeout) ?? Defaults.workTimeoutSeconds),
        ...(this.broker.connection.scheme === 'redis'
          ? { [Env.leaseSeconds]: String(secondsOf(props.leaseDuration) ?? Defaults.leaseSeconds) }
          : {}),
        ...(props.workCommand !== undefined ? { [Env.workCommand]: props.workCommand } : {}),
        ...(seeder
          ? {
              [Env.seedId]: seeder.seedId,
              [Env.seedWaitSeconds]: String(secondsOf(props.seedWait) ?? Defaults.seedWaitSeconds),
            }
          : {}),
      },
      podAnnotations: seeder ? { [ITEMS_DIGEST_ANNOTATION]: seeder.itemsDigest } : undefined,
      backoffLimit: this.backoffLimit(props),
      activeDeadline: props.activeDeadline,
      ttlAfterFinished: props.ttlAfterFinished,
      resources: props.resources,
      brokerRetry: props.brokerRetry,
    });
  }

  /** The given backoffLimit, else one that lets a coarse Job's poison item use all its attempts. */
  private backoffLimit({ backoffLimit, pattern, maxAttempts }: WorkerJobProps): number {
    if (backoffLimit !== undefined) return backoffLimit;
    return pattern === 'coarse'
      ? Math.max(DEFAULT_BACKOFF_LIMIT, (maxAttempts ?? Defaults.maxAttempts) - 1)
      : DEFAULT_BACKOFF_LIMIT;
  }

  /** The given broker, else the seeder's; a given one must be the seeder's. */
  private resolveBroker({ broker, seeder }: WorkerJobProps): IWorkQueueBroker {
    if (broker === undefined) {
      if (seeder === undefined) fail(this, 'broker', undefined, 'a broker, or a seeder to take it from');
      return seeder.broker;
    }
    if (seeder !== undefined && seeder.broker !== broker) {
      fail(
        this,
        'broker',
        broker.node.path,
        `the seeder's broker ${seeder.broker.node.path} (or leave broker unset to take it from the seeder)`,
      );
    }
    return broker;
  }

  /** The given queue, else the seeder's; a given one must be the seeder's. */
  private resolveQueue({ queue, seeder }: WorkerJobProps): string {
    if (queue === undefined) {
      if (seeder === undefined) fail(this, 'queue', undefined, 'a queue name, or a seeder to take it from');
      return seeder.queue;
    }
    check(this, 'queue', queue, Rules.queueName);
    if (seeder !== undefined && seeder.queue !== queue) {
      fail(
        this,
        'queue',
        queue,
        `"${seeder.queue}", the seeder's queue (or leave queue unset to take it from the seeder)`,
      );
    }
    return queue;
  }

  private checkWorkerProps(props: WorkerJobProps): void {
    checkClientJobProps(this, props);
    check(this, 'backoffLimit', props.backoffLimit, Rules.nonNegativeInteger);
    checkDuration(this, 'activeDeadline', props.activeDeadline, Rules.positiveInteger);
    checkItemWorkProps(this, props);
    checkDuration(this, 'leaseDuration', props.leaseDuration, Rules.positiveInteger);
    this.checkProducer(props);
    this.checkPattern(props);
    checkRetryBudget(this, {
      scheme: this.broker.connection.scheme,
      onePodPerItem: props.pattern === 'coarse',
      maxAttempts: props.maxAttempts ?? Defaults.maxAttempts,
      workTimeoutSeconds: secondsOf(props.workTimeout) ?? Defaults.workTimeoutSeconds,
      builtInWorkSeconds:
        props.workCommand === undefined ? (secondsOf(props.workDuration) ?? Defaults.workSeconds) : undefined,
      consumerTimeoutSeconds: secondsOf(this.broker.consumerTimeout),
      seedWaitSeconds: props.seeder ? (secondsOf(props.seedWait) ?? Defaults.seedWaitSeconds) : undefined,
      activeDeadlineSeconds: secondsOf(props.activeDeadline),
      backoffLimit: this.backoffLimit(props),
    });
  }

  /** A seeder, whose seed the pods wait for, or `externalProducer: true`: never both, never neither. */
  private checkProducer({ seeder, externalProducer, seedWait }: WorkerJobProps): void {
    if (seeder !== undefined) {
      if (externalProducer !== undefined && externalProducer) {
        fail(
          this,
          'externalProducer',
          externalProducer,
          "no externalProducer with a seeder: the seeder is the queue's producer, and the pods wait for its seed",
        );
      }
      checkDuration(this, 'seedWait', seedWait, Rules.nonNegativeNumber);
      return;
    }
    if (externalProducer !== true) {
      fail(
        this,
        'externalProducer',
        externalProducer,
        'true without a seeder, to say that another producer fills the queue and an empty queue counts as done ' +
          '(or a seeder, whose seed the pods wait for)',
      );
    }
    if (seedWait !== undefined) {
      fail(
        this,
        inSeconds('seedWait'),
        secondsOf(seedWait),
        'no seedWait without a seeder: there is no seed to wait for',
      );
    }
  }

  private checkPattern(props: WorkerJobProps): void {
    if (props.pattern === 'fine' && this.broker.connection.scheme !== 'redis') {
      fail(
        this,
        'pattern',
        props.pattern,
        `"coarse" on an ${this.broker.connection.scheme} broker: a fine worker drains until the queue is empty, but AMQP cannot ` +
          'tell a finite queue is empty from one that is being refilled, which is why the fine pattern needs Redis',
      );
    }
  }
}
