import type { CloseReason } from './methods';
import { methodName } from './methods';

/**
 * The broker closed a channel or the connection with a reply code (404 NOT_FOUND, 406
 * PRECONDITION_FAILED, 320 CONNECTION_FORCED, 403 ACCESS_REFUSED): `code` holds it.
 */
export class AmqpBrokerError extends Error {
  readonly code: number;

  constructor(context: string, reason: CloseReason) {
    super(`${context}: ${reason.replyCode} (${reason.replyText})`);
    this.code = reason.replyCode;
  }
}

/** The broker refused an operation and closed its channel. */
export function operationFailed(reason: CloseReason): AmqpBrokerError {
  return new AmqpBrokerError(`Operation failed: ${reason.method ? methodName(reason.method) : 'channel'}`, reason);
}

/**
 * An operation on a channel or connection that has closed, or was waiting for a reply when it
 * closed: no reply code, since the operation itself was not refused (the cause says why it closed).
 */
export class AmqpClosedError extends Error {}
