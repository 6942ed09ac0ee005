/**
 * What is kept with a dead item: its deliveries and the last error (the work command's outcome).
 *
 * Redis: the dead list keeps the plain items (as before, so `LRANGE <queue>.dead` still shows
 * them); the list `deadRecords` holds one record per item that a worker dead-lettered, in the same
 * order, `<attempts>|<error bytes>|<error><item>`. The records are a subsequence of the dead list
 * (items pushed there by hand have none), so each record is matched to the first dead item at or
 * after the previous match that equals its item; the scripts that take items off the dead list
 * take its record with it, in the same step.
 *
 * RabbitMQ: the worker publishes the dead item to the dead-letter queue itself, with the headers
 * below, on a connection of its own, and acknowledges the delivery once the broker confirmed it (a
 * worker that dies in between leaves the item also on the work queue: at most a duplicate in dead,
 * never a loss). While the broker blocks publishing (an alarm), or when the confirm is late, the
 * worker rejects the delivery instead and the broker dead-letters it: such items, and those the
 * broker dead-lettered at its delivery limit, carry none of the headers, only the broker's
 * `x-death`, which tells them apart (`notKept`); the broker keeps no count of their attempts there.
 */
export const DeadLetters = {
  attemptsHeader: 'x-work-queue-attempts',
  errorHeader: 'x-work-queue-last-error',
  /** RabbitMQ: a random id of each dead item the worker publishes, by which `dead redrive` recognises an item it moved already. */
  idHeader: 'x-work-queue-dead-id',
  /** The last error is cut to this many characters. */
  maxErrorLength: 500,
  /** Why a dead item has no record, as `dead list` says it (and its JSON's `notKept`). */
  notKept: {
    /** RabbitMQ: a worker rejected it, and the work queue's dead-lettering moved it (see DeadLetterPublisher). */
    byBrokerForWorker:
      'dead-lettered by the broker for a worker, while publishing was blocked (a memory or disk alarm) or slow to confirm',
    /** RabbitMQ: deliveries no worker answered reached the work queue's delivery limit. */
    atDeliveryLimit: "dead-lettered by the broker at the work queue's delivery limit (deliveries no worker answered)",
    /** Pushed or published there by something else than a worker. */
    byHand: 'put there by hand, not by a worker',
  },
} as const;

/** A last error as it is kept with a dead item: one line, at most DeadLetters.maxErrorLength characters. */
export function keptError(error: string): string {
  const line = error.replace(/\s*\n\s*/g, ' ').trim();
  return line.length > DeadLetters.maxErrorLength ? `${line.slice(0, DeadLetters.maxErrorLength - 1)}…` : line;
}
