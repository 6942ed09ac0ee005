/** How AMQP errors are told apart: amqplib puts the broker's reply code in `code`. */

/** Whether the broker refused an operation (it closed the channel with a reply code), rather than the connection failing. */
export function refusedByBroker(error: unknown): boolean {
  return typeof (error as { code?: unknown })?.code === 'number';
}

/** Whether an AMQP error is the broker's 404 NOT_FOUND (a passive declaration of a missing queue). */
export function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 404;
}

/** The first line of an error message. */
export function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0];
}
