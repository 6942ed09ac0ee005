import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  Command,
  Defaults,
  Env,
  nonNegativeNumberRule,
  positiveIntegerRule,
  queueNameRule,
  WorkerMode,
} from '../worker/contract';
import { IWorkQueueBroker } from './broker';
import { createClientJob } from './client-job';
import { ITEMS_DIGEST_ANNOTATION, QueueSeeder } from './queue-seeder';
import { check, dnsLabelRule, fail, nonNegativeIntegerRule } from './validate';

/**
 * `coarse`: every pod takes exactly one item and exits (`completions` = number of items).
 * `fine`: every pod drains the queue and exits 0 when it is empty (`completions` unset; needs Redis).
 */
export type WorkQueuePattern = 'coarse' | 'fine';

const WORKER_MODE: Record<WorkQueuePattern, WorkerMode> = { coarse: 'single', fine: 'drain' };

export interface WorkQueueJobProps {
  /** The broker the workers take items from. */
  readonly broker: IWorkQueueBroker;
  /** Queue (AMQP) or list (Redis) to work off. */
  readonly queue: string;
  /** The worker image, which runs `work-queue work`. */
  readonly image: string;
  /** One item per pod (`coarse`) or pods that drain the queue (`fine`). */
  readonly pattern: WorkQueuePattern;
  /**
   * The seeder that fills the queue. The Job then runs after it, and for `coarse` its
   * `completions` is the seeder's item count.
   * @default - none: the queue is filled some other way, and `coarse` needs `completions`
   */
  readonly seeder?: QueueSeeder;
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
   * Name of the Job.
   * @default - a name derived from the construct path
   */
  readonly name?: string;
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
   * Seconds a finished Job is kept (with its pods' logs) before Kubernetes deletes it.
   * @default 86400 (one day)
   */
  readonly ttlSecondsAfterFinished?: number;
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
  /**
   * CPU and memory of a worker container.
   * @default - requests 100m CPU and 128Mi memory; limits 1 CPU and 512Mi memory
   */
  readonly resources?: kplus.ContainerResources;
}

/** The worker Job of either pattern, wired to the broker's Secret and ordered after its seeder. */
export class WorkQueueJob extends Construct {
  public readonly job: kplus.Job;
  /** `completions` of the Job; undefined for `fine`. */
  public readonly completions?: number;
  public readonly parallelism: number;

  constructor(scope: Construct, id: string, props: WorkQueueJobProps) {
    super(scope, id);
    this.parallelism = props.parallelism ?? 2;
    this.completions = this.validate(props);

    const workSeconds = props.workSeconds ?? Defaults.workSeconds;
    const maxAttempts = props.maxAttempts ?? Defaults.maxAttempts;
    const leaseSeconds = props.leaseSeconds ?? Defaults.leaseSeconds;
    const env: Record<string, string> = {
      [Env.workerMode]: WORKER_MODE[props.pattern],
      [Env.workSeconds]: String(workSeconds),
      [Env.maxAttempts]: String(maxAttempts),
      ...(props.broker.scheme === 'redis' ? { [Env.leaseSeconds]: String(leaseSeconds) } : {}),
      ...(props.workCommand !== undefined ? { [Env.workCommand]: props.workCommand } : {}),
    };

    this.job = createClientJob(this, 'Resource', {
      name: props.name,
      image: props.image,
      subcommand: Command.work,
      component: 'worker',
      broker: props.broker,
      queue: props.queue,
      env,
      podAnnotations: props.seeder ? { [ITEMS_DIGEST_ANNOTATION]: props.seeder.itemsDigest } : undefined,
      parallelism: this.parallelism,
      completions: this.completions,
      backoffLimit: props.backoffLimit ?? 6,
      activeDeadlineSeconds: props.activeDeadlineSeconds,
      ttlSecondsAfterFinished: props.ttlSecondsAfterFinished ?? 86400,
      resources: props.resources,
    });
    if (props.seeder) this.job.node.addDependency(props.seeder);
  }

  /** Checks every prop and returns the Job's `completions`. */
  private validate(props: WorkQueueJobProps): number | undefined {
    if (props.pattern !== 'coarse' && props.pattern !== 'fine') fail(this, 'pattern', props.pattern, '"coarse" or "fine"');
    check(this, 'queue', props.queue, queueNameRule);
    check(this, 'name', props.name, dnsLabelRule);
    check(this, 'parallelism', this.parallelism, positiveIntegerRule);
    check(this, 'completions', props.completions, positiveIntegerRule);
    check(this, 'backoffLimit', props.backoffLimit, nonNegativeIntegerRule);
    check(this, 'activeDeadlineSeconds', props.activeDeadlineSeconds, positiveIntegerRule);
    check(this, 'ttlSecondsAfterFinished', props.ttlSecondsAfterFinished, nonNegativeIntegerRule);
    check(this, 'workSeconds', props.workSeconds, nonNegativeNumberRule);
    check(this, 'leaseSeconds', props.leaseSeconds, positiveIntegerRule);
    check(this, 'maxAttempts', props.maxAttempts, positiveIntegerRule);
    if (props.workCommand !== undefined && props.workCommand.trim() === '') {
      fail(this, 'workCommand', props.workCommand, 'a non-empty shell command, or no workCommand for the built-in handler');
    }

    const { seeder } = props;
    if (seeder && seeder.broker !== props.broker) {
      fail(this, 'seeder', seeder.node.path, `a seeder of the same broker as the Job (${props.broker.node.path})`);
    }
    if (seeder && seeder.queue !== props.queue) {
      fail(this, 'seeder', seeder.node.path, `a seeder of queue "${props.queue}", not of "${seeder.queue}"`);
    }

    if (props.pattern === 'fine') {
      if (props.broker.scheme !== 'redis') {
        fail(this, 'pattern', props.pattern,
          `"coarse" on an ${props.broker.scheme} broker: a fine worker drains until the queue is empty, but AMQP cannot ` +
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
