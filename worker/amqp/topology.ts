import type { Options } from 'amqplib';
import { deadLetterQueue, RetryBudget } from '../../contract';

/**
 * Safety net above MAX_ATTEMPTS (which may not exceed it): the worker dead-letters an item itself
 * after MAX_ATTEMPTS deliveries, so the broker's own limit only acts on deliveries no worker
 * answered. RabbitMQ 4 would otherwise apply a default of 20; with the dead-letter settings below
 * the broker moves such a message to the dead-letter queue instead of dropping it.
 */
export const BROKER_DELIVERY_LIMIT = RetryBudget.amqpDeliveryLimit;

/**
 * The work queue: a durable quorum queue (replicated, and it counts deliveries in the
 * `x-delivery-count` header). Rejected messages go, at least once, to the dead-letter queue
 * through the default exchange. Every declaration of the queue must use exactly these arguments.
 */
export function workQueueOptions(queue: string): Options.AssertQueue {
  return {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-delivery-limit': BROKER_DELIVERY_LIMIT,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': deadLetterQueue(queue),
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    },
  };
}

/**
 * Every peek at the seed marker (`get`, then requeue) counts as a delivery on a quorum queue, and
 * RabbitMQ 4 drops a message past its queue's delivery limit (20 unless declared): the marker must
 * outlive years of `status --watch` (two peeks a second). The largest value the argument takes.
 */
export const MARKER_DELIVERY_LIMIT = 2 ** 31 - 1;

/**
 * The dead-letter queue. `dead list` looks at its messages (get, then return), and every look
 * counts as a delivery: it has the marker's limit, so that RabbitMQ 4 never drops a dead item for
 * having been looked at 20 times. A dead-letter queue declared before it had the limit is taken as
 * it is (see declare.ts); `dead list` refuses to look into it on RabbitMQ 4.
 */
export const deadLetterQueueOptions: Options.AssertQueue = {
  durable: true,
  arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': MARKER_DELIVERY_LIMIT },
};

/** The argument a dead-letter queue declared before `dead list` existed lacks; the broker names it when it refuses the declaration. */
export const DELIVERY_LIMIT_ARGUMENT = 'x-delivery-limit';

/**
 * The seed marker queue holds one message, the newest marker (a new one pushes out the previous).
 * A quorum queue like the work queue, so that a marker confirmed by the broker survives the loss
 * of any one node and can be read while it is down. The seeder writes a marker only after the
 * broker confirmed every item it counts (see `seeder.ts`), so it never runs ahead of the queue.
 */
export const seedMarkerQueueOptions: Options.AssertQueue = {
  durable: true,
  arguments: {
    'x-queue-type': 'quorum',
    'x-max-length': 1,
    'x-overflow': 'drop-head',
    'x-delivery-limit': MARKER_DELIVERY_LIMIT,
  },
};

/** The argument that gives a new quorum queue its number of members; it counts only when the queue is created. */
export const GROUP_SIZE_ARGUMENT = 'x-quorum-initial-group-size';

/** A quorum queue's options with its initial group size: the broker's node count. */
export function withGroupSize(options: Options.AssertQueue, replicas: number): Options.AssertQueue {
  return {
    ...options,
    arguments: { ...(options.arguments as Record<string, unknown>), [GROUP_SIZE_ARGUMENT]: replicas },
  };
}

/**
 * The redrive journal (see dead-letters.ts): what a redrive published to the work queue and has
 * not yet taken off the dead-letter queue. A quorum queue, so that it outlives a node as the work
 * queue does; a redrive reads it (unacknowledged) at every start, so every delivery is counted and
 * the limit is the largest the argument takes.
 */
export const redriveJournalOptions: Options.AssertQueue = {
  durable: true,
  arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': MARKER_DELIVERY_LIMIT },
};
