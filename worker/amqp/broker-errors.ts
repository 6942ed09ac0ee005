/** How AMQP errors are told apart: amqplib puts the broker's reply code in `code`. */
import { thrownField } from '../thrown';

/** Whether the broker refused an operation (it closed the channel with a reply code), rather than the connection failing. */
export function refusedByBroker(error: unknown): boolean {
  return typeof thrownField(error, 'code') === 'number';
}

/** Whether an AMQP error is the broker's 404 NOT_FOUND (a passive declaration of a missing queue). */
export function isNotFound(error: unknown): boolean {
  return thrownField(error, 'code') === 404;
}
