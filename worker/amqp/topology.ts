import type { Options } from 'amqplib';
import { deadLetterQueue } from '../contract';

/**
 * Safety net above MAX_ATTEMPTS: the worker dead-letters an item itself after MAX_ATTEMPTS
 * deliveries, so the broker's own limit only acts if a worker is configured above it. RabbitMQ 4
 * would otherwise apply a default of 20; with the dead-letter settings below the broker moves
 * such a message to the dead-letter queue instead of dropping it.
 */
export const BROKER_DELIVERY_LIMIT = 1000;

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

export const deadLetterQueueOptions: Options.AssertQueue = { durable: true, arguments: { 'x-queue-type': 'quorum' } };

/**
 * The seed marker queue holds one message: every seeded item is published to the work queue and,
 * in the same publish (sender-selected distribution, `CC`), to this queue, where it pushes out the
 * previous one. So the marker names the last item that reached the queue, whatever happens to
 * the connection, and a rerun resumes right after it.
 */
export const seedMarkerQueueOptions: Options.AssertQueue = {
  durable: true,
  arguments: { 'x-queue-type': 'classic', 'x-max-length': 1, 'x-overflow': 'drop-head' },
};
