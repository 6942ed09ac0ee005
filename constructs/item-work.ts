import { type Duration } from 'cdk8s';
import { type IConstruct } from 'constructs';
import { Rules } from '../contract';
import { check, checkDuration, fail } from './validate';

/**
 * How the worker works on one item, the same for every pattern: the queue Jobs (`WorkQueueJob`,
 * `ScaledWorkQueueJob`) and the Indexed Job (`IndexedWorkJob`).
 */
export interface ItemWorkProps {
  /**
   * Shell command run once per item with the item on stdin (`WORK_COMMAND`); exit 0 means done.
   * @default - the built-in handler: logs `Processing <item>` and sleeps `workDuration`
   */
  readonly workCommand?: string;
  /**
   * Simulated work of the built-in handler per item (`WORK_SECONDS`).
   * @default Duration.seconds(10) (as in the tutorials)
   */
  readonly workDuration?: Duration;
  /**
   * How long one item's work may take (`WORK_TIMEOUT_SECONDS`); then the worker stops it (the
   * command's whole process group) and counts a failed attempt. On RabbitMQ it must stay 60 s
   * below the broker's consumer timeout, and `activeDeadline` must leave room for it (and for
   * `seedWait`): synth checks both.
   * @default Duration.minutes(25) (below RabbitMQ's default consumer timeout of 30 minutes)
   */
  readonly workTimeout?: Duration;
  /**
   * Attempts of an item before it is given up: on a queue, its deliveries before it goes to the
   * dead-letter queue/list (`MAX_ATTEMPTS`; at most the work queue's delivery limit on RabbitMQ,
   * 1000, and a coarse Job needs `backoffLimit` of at least `maxAttempts - 1`, since every failed
   * attempt there is a failed pod); in an Indexed Job, the pods of its index
   * (`backoffLimitPerIndex` is `maxAttempts - 1`).
   * @default 5
   */
  readonly maxAttempts?: number;
}

/** Checks the item-work props in the construct's own error form. */
export function checkItemWorkProps(scope: IConstruct, props: ItemWorkProps): void {
  checkDuration(scope, 'workDuration', props.workDuration, Rules.nonNegativeNumber);
  check(scope, 'maxAttempts', props.maxAttempts, Rules.positiveInteger);
  checkDuration(scope, 'workTimeout', props.workTimeout, Rules.workTimeout);
  if (props.workCommand !== undefined && props.workCommand.trim() === '') {
    fail(
      scope,
      'workCommand',
      props.workCommand,
      'a non-empty shell command, or no workCommand for the built-in handler',
    );
  }
}
