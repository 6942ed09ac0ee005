import { type IConstruct } from 'constructs';
import { type BrokerScheme, RetryBudget } from '../contract';
import { inSeconds } from './seconds';
import { fail } from './validate';

/** What the retry budget of a worker Job is made of, in seconds, with every default applied. */
export interface RetryBudgetValues {
  /** The broker's protocol; none for an Indexed Job, which has no broker. */
  readonly scheme?: BrokerScheme;
  /** `coarse`: one item per pod, so a failed attempt is a failed pod. */
  readonly onePodPerItem: boolean;
  readonly maxAttempts: number;
  readonly workTimeoutSeconds: number;
  /** The built-in handler's work, when no workCommand replaces it. */
  readonly builtInWorkSeconds?: number;
  /** The broker's consumer timeout (RabbitMQ); undefined for Redis. */
  readonly consumerTimeoutSeconds?: number;
  /** Present when the pods wait for a seeder's seed. */
  readonly seedWaitSeconds?: number;
  readonly activeDeadlineSeconds?: number;
  /** The Job's failed pods allowed; none for an Indexed Job, whose retries are per item. */
  readonly backoffLimit?: number;
}

/**
 * Checks that the parts of a worker Job's retry budget fit together; a synth error names the first
 * pair that does not, with both values and what is expected. `leaseDuration` (Redis) has no bound
 * here: the worker renews its leases while it works, so work may outlast any lease length.
 */
export function checkRetryBudget(scope: IConstruct, budget: RetryBudgetValues): void {
  const { workTimeoutSeconds: timeout, maxAttempts } = budget;
  if (budget.builtInWorkSeconds !== undefined && budget.builtInWorkSeconds >= timeout) {
    fail(
      scope,
      inSeconds('workDuration'),
      budget.builtInWorkSeconds,
      `less than workTimeout (${timeout} s), or every item of the built-in handler times out`,
    );
  }
  if (
    budget.consumerTimeoutSeconds !== undefined &&
    timeout + RetryBudget.stopMarginSeconds > budget.consumerTimeoutSeconds
  ) {
    fail(
      scope,
      inSeconds('workTimeout'),
      timeout,
      `at most ${budget.consumerTimeoutSeconds - RetryBudget.stopMarginSeconds}: the broker's consumer timeout (${budget.consumerTimeoutSeconds} s) minus ` +
        `${RetryBudget.stopMarginSeconds} s to stop the command and settle the item, so that the worker ends overlong work before RabbitMQ closes its channel ` +
        '(or raise consumerTimeout of the RabbitMQStatefulSet)',
    );
  }
  if (budget.scheme === 'amqp' && maxAttempts > RetryBudget.amqpDeliveryLimit) {
    fail(
      scope,
      'maxAttempts',
      maxAttempts,
      `at most ${RetryBudget.amqpDeliveryLimit}, the work queue's delivery limit (x-delivery-limit) on RabbitMQ`,
    );
  }
  if (budget.activeDeadlineSeconds !== undefined) {
    const wait = budget.seedWaitSeconds ?? 0;
    const least = wait + timeout + RetryBudget.stopMarginSeconds;
    if (budget.activeDeadlineSeconds < least) {
      const parts = `${budget.seedWaitSeconds !== undefined ? `seedWait (${wait} s) + ` : ''}workTimeout (${timeout} s) + ${RetryBudget.stopMarginSeconds} s`;
      fail(
        scope,
        inSeconds('activeDeadline'),
        budget.activeDeadlineSeconds,
        `at least ${least} (${parts}), or the Job is stopped before one item can use its work timeout`,
      );
    }
  }
  if (budget.onePodPerItem && budget.backoffLimit !== undefined && budget.backoffLimit < maxAttempts - 1) {
    fail(
      scope,
      'backoffLimit',
      budget.backoffLimit,
      `at least ${maxAttempts - 1} (maxAttempts ${maxAttempts} - 1): each failed attempt of a coarse worker is a failed pod, ` +
        'so a smaller limit fails the Job before a poison item reaches the dead-letter queue',
    );
  }
}
