/**
 * The parts of the retry budget that the worker and the constructs both rely on (docs/worker.md,
 * "The retry budget").
 */
export const RetryBudget = {
  /**
   * `x-delivery-limit` of every work queue (fixed: a changed argument makes RabbitMQ refuse the
   * declaration of an existing queue). The worker dead-letters an item itself after MAX_ATTEMPTS,
   * so MAX_ATTEMPTS must not exceed it; the broker's limit is only a safety net above it (RabbitMQ 4
   * would otherwise apply a default of 20).
   */
  amqpDeliveryLimit: 1000,
  /** RabbitMQ's `consumer_timeout` when nothing sets it (3.8.15 and later): 30 minutes. */
  rabbitmqDefaultConsumerTimeoutSeconds: 1800,
  /**
   * What the broker's consumer timeout must exceed WORK_TIMEOUT_SECONDS by: the command's TERM to
   * KILL grace (3 s), settling the item, and room for a busy node.
   */
  stopMarginSeconds: 60,
} as const;
