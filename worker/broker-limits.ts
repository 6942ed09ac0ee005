/**
 * The bounds every broker connection keeps, whatever its client library: a peer that is not the
 * broker (a Service on the wrong port, a half-open load balancer, an HTTP server) or a broker that
 * stopped answering ends in a lost connection, retried within BROKER_RETRY_SECONDS, never a hang.
 */

/**
 * The whole handshake of one connection attempt: TCP and TLS, AUTH or HELLO or AMQP's
 * Connection.Start/Tune/Open, the channel and the set-up round trip. An attempt still unfinished
 * then is abandoned and counts as a broker not reachable (yet).
 */
export const CONNECT_DEADLINE_MS = 10_000;

/**
 * A command that should be answered and is not within this means the connection is lost: it is
 * closed and the command runs again on a new one. Far above what the worker's commands take on a
 * loaded broker (a claim or a seed chunk takes milliseconds); a seeder held back by a memory
 * alarm is not waiting for an answer and has its own limit (BROKER_RETRY_SECONDS).
 */
export const REPLY_TIMEOUT_MS = 30_000;

/**
 * A command's deadline: REPLY_TIMEOUT_MS, or BROKER_RETRY_SECONDS where that is shorter (at least
 * 1 s), so that a broker silent for BROKER_RETRY_SECONDS is given up in that time, like one that
 * is not reachable (the retry window counts from when the unanswered command was sent).
 */
export function replyTimeoutMs(retrySeconds: number): number {
  return retrySeconds > 0 ? Math.min(REPLY_TIMEOUT_MS, Math.max(1000, retrySeconds * 1000)) : REPLY_TIMEOUT_MS;
}

/**
 * The largest reply accepted from a broker, in bytes: a batch of 8 items of 8 MiB fits 2 times
 * over, within the worker's default memory limit of 512 Mi; a peer that sends more (an endless
 * line, a length of 2 GB) is not a broker the worker can use.
 */
export const MAX_REPLY_BYTES = 128 * 1024 * 1024;

/** A command got no answer within its deadline (`replyTimeoutMs`). */
export class ReplyTimeoutError extends Error {
  constructor(
    what: string,
    /** How long the command waited: the broker has been silent since then. */
    readonly waitedMs: number,
  ) {
    super(`no answer to ${what} within ${waitedMs / 1000} s`);
  }
}

/** A reply passed MAX_REPLY_BYTES, as it arrived or as its header announced it. */
export class ReplyTooLargeError extends Error {
  constructor(bytes: number) {
    super(
      `a reply of ${bytes} bytes or more, past the ${MAX_REPLY_BYTES / 2 ** 20} MiB a broker's answer may have: not a broker's answer`,
    );
  }
}
