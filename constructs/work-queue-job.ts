import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Command, Defaults, Env, Rules, WorkerMode } from '../worker/contract';
import { IWorkQueueBroker } from './broker';
import { ClientJobProps, createClientJob } from './client-job';
import { IQueueSeeder, ITEMS_DIGEST_ANNOTATION } from './queue-seeder';
import { check, checkRequired, fail, PropRules } from './validate';

/**
 * `coarse`: every pod takes exactly one item and exits (`completions` = number of items).
 * `fine`: every pod drains the queue and exits 0 when it is empty (`completions` unset; needs Redis).
 */
export type WorkQueuePattern = 'coarse' | 'fine';

const WORKER_MODE: Record<WorkQueuePattern, WorkerMode> = { coarse: 'single', fine: 'drain' };

export interface WorkQueueJobProps extends ClientJobProps {
  /** One item per pod (`coarse`) or pods that drain the queue (`fine`). */
  readonly pattern: WorkQueuePattern;
  /**
   * The seeder that fills the queue. The Job then runs after it, takes its broker and queue, and
   * for `coarse` its `completions` is the seeder's item count.
   * @default - none: the queue is filled some other way; `broker`, `queue` and, for `coarse`,
   *   `completions` are then required
   */
  readonly seeder?: IQueueSeeder;
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
   * Successful pods the Job needs (`coarse` only). With a seeder it must equal its item count.
   * @default - the seeder's `itemCount` for `coarse`; unset for `fine`
   */
  readonly completions?: number;
  /**
   * Pods running at once.
   * @default 2
   */
  readonly parallelism?: number;
  /**
   * Failed pods before the Job fails. A failing item is retried by the queue (up to
   * `maxAttempts`), not by pod restarts, so this only bounds crashes.
   * @default 6
   */
  readonly backoffLimit?: number;
  /**
   * Seconds the Job may run before Kubernetes stops it.
   * @default - no deadline: the workers end the Job when the queue is done
   */
  readonly activeDeadlineSeconds?: number;
  /**
   * Shell command run once per item with the item on stdin (`WORK_COMMAND`); exit 0 means done.
   * @default - the built-in handler: logs `Processing <item>` and sleeps `workSeconds`
   */
  readonly workCommand?: string;
  /**
   * Simulated work of the built-in handler, in seconds (`WORK_SECONDS`).
   * @default 10 (as in the tutorials)
   */
  readonly workSeconds?: number;
  /**
   * Lease length in seconds on Redis (`LEASE_SECONDS`): a worker renews it while it works; others
   * reclaim the item after it expires. Not used on AMQP, whose broker redelivers unacked items.
   * @default 30
   */
  readonly leaseSeconds?: number;
  /**
   * Deliveries of an item before it goes to the dead-letter queue/list (`MAX_ATTEMPTS`).
   * @default 5
   */
  readonly maxAttempts?: number;
}

/** The worker Job of either pattern, wired to the broker's Secret and ordered after its seeder. */
export class WorkQueueJob extends Construct {
  public readonly job: kplus.Job;
  public readonly broker: IWorkQueueBroker;
  public readonly queue: string;
  /** `completions` of the Job; undefined for `fine`. */
  public readonly completions?: number;
  public readonly parallelism: number;

  constructor(scope: Construct, id: string, props: WorkQueueJobProps) {
    super(scope, id);
    this.broker = this.resolveBroker(props);
    this.queue = this.resolveQueue(props);
    this.parallelism = props.parallelism ?? 2;
    this.completions = this.checkProps(props);

    const env: Record<string, string> = {
      [Env.workerMode]: WORKER_MODE[props.pattern],
      [Env.workSeconds]: String(props.workSeconds ?? Defaults.workSeconds),
      [Env.maxAttempts]: String(props.maxAttempts ?? Defaults.maxAttempts),
      ...(this.broker.scheme === 'redis' ? { [Env.leaseSeconds]: String(props.leaseSeconds ?? Defaults.leaseSeconds) } : {}),
      ...(props.workCommand !== undefined ? { [Env.workCommand]: props.workCommand } : {}),
    };

    this.job = createClientJob(this, 'Resource', {
      name: props.name,
      image: props.image,
      subcommand: Command.work,
      component: 'worker',
      broker: this.broker,
      queue: this.queue,
      env,
      podAnnotations: props.seeder ? { [ITEMS_DIGEST_ANNOTATION]: props.seeder.itemsDigest } : undefined,
      parallelism: this.parallelism,
      completions: this.completions,
      backoffLimit: props.backoffLimit ?? 6,
      activeDeadlineSeconds: props.activeDeadlineSeconds,
      ttlSecondsAfterFinished: props.ttlSecondsAfterFinished,
      resources: props.resources,
    });
    if (props.seeder) this.job.node.addDependency(props.seeder);
  }

  /** The given broker, else the seeder's; a given one must be the seeder's. */
  private resolveBroker({ broker, seeder }: WorkQueueJobProps): IWorkQueueBroker {
    if (broker === undefined) {
      if (seeder === undefined) fail(this, 'broker', undefined, 'a broker, or a seeder to take it from');
      return seeder.broker;
    }
    if (seeder !== undefined && seeder.broker !== broker) {
      fail(this, 'broker', broker.node.path, `the seeder's broker ${seeder.broker.node.path} (or leave broker unset to take it from the seeder)`);
    }
    return broker;
  }

  /** The given queue, else the seeder's; a given one must be the seeder's. */
  private resolveQueue({ queue, seeder }: WorkQueueJobProps): string {
    if (queue === undefined) {
      if (seeder === undefined) fail(this, 'queue', undefined, 'a queue name, or a seeder to take it from');
      return seeder.queue;
    }
    check(this, 'queue', queue, Rules.queueName);
    if (seeder !== undefined && seeder.queue !== queue) {
      fail(this, 'queue', queue, `"${seeder.queue}", the seeder's queue (or leave queue unset to take it from the seeder)`);
    }
    return queue;
  }

  /** Checks the remaining props and returns the Job's `completions`. */
  private checkProps(props: WorkQueueJobProps): number | undefined {
    if (props.pattern !== 'coarse' && props.pattern !== 'fine') fail(this, 'pattern', props.pattern, '"coarse" or "fine"');
    checkRequired(this, 'image', props.image, PropRules.image);
    check(this, 'name', props.name, PropRules.dnsLabel);
    check(this, 'parallelism', this.parallelism, Rules.positiveInteger);
    check(this, 'completions', props.completions, Rules.positiveInteger);
    check(this, 'backoffLimit', props.backoffLimit, Rules.nonNegativeInteger);
    check(this, 'activeDeadlineSeconds', props.activeDeadlineSeconds, Rules.positiveInteger);
    check(this, 'ttlSecondsAfterFinished', props.ttlSecondsAfterFinished, Rules.nonNegativeInteger);
    check(this, 'workSeconds', props.workSeconds, Rules.nonNegativeNumber);
    check(this, 'leaseSeconds', props.leaseSeconds, Rules.positiveInteger);
    check(this, 'maxAttempts', props.maxAttempts, Rules.positiveInteger);
    if (props.workCommand !== undefined && props.workCommand.trim() === '') {
      fail(this, 'workCommand', props.workCommand, 'a non-empty shell command, or no workCommand for the built-in handler');
    }

    const { seeder } = props;
    if (props.pattern === 'fine') {
      if (this.broker.scheme !== 'redis') {
        fail(this, 'pattern', props.pattern,
          `"coarse" on an ${this.broker.scheme} broker: a fine worker drains until the queue is empty, but AMQP cannot ` +
          'tell a finite queue is empty from one that is being refilled, which is why the fine pattern needs Redis');
      }
      if (props.completions !== undefined) {
        fail(this, 'completions', props.completions, 'no completions for the fine pattern: its pods drain the queue and the first to succeed ends the Job');
      }
      return undefined;
    }

    if (seeder) {
      if (props.completions !== undefined && props.completions !== seeder.itemCount) {
        fail(this, 'completions', props.completions,
          `${seeder.itemCount}, the seeder's item count (or leave completions unset to derive it): ` +
          'a coarse Job with fewer completions leaves items behind, with more it never finishes');
      }
      return seeder.itemCount;
    }
    if (props.completions === undefined) {
      fail(this, 'completions', undefined, 'a completions count, or a seeder to derive it from: a coarse Job needs one successful pod per item');
    }
    return props.completions;
  }
}
