import { ExitCode } from '../contract';

/** An error the CLI reports as its message alone (no stack) and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The exit code an error ends the CLI with: a `CliError`'s own, 1 for any other. */
export function exitCodeOf(error: unknown): number {
  return error instanceof CliError ? error.exitCode : ExitCode.failed;
}

/** Bad variables, arguments or items: one `describeProblem` line per problem; nothing was touched. */
export function badInput(problems: string[]): CliError {
  return new CliError(problems.join('\n'), ExitCode.badInput);
}

/**
 * The broker no longer has a queue this process saw (restarted without persistence, or the keys or
 * queues were deleted): the items not done yet are gone, which must never pass for "drained".
 */
export function queueDataLost(queue: string, broker: string, evidence: string): CliError {
  return new CliError(
    `queue ${queue}: ${broker} lost the queue's data (${evidence}): it restarted without persistence, a failover promoted a replica that missed its writes, or the queue was deleted; items not yet done are lost, seed the queue again`,
    ExitCode.failed,
  );
}

/**
 * Why an item a worker still held a lease on is no longer held: the broker lost its last writes
 * (a Redis restarted, or a replica promoted, without them), the claim among them. Nothing is lost
 * for good: the item is back on the queue, or its lease expires, and it is done again.
 */
export function leaseLostByBroker(broker: string): string {
  return `${broker} lost its last writes, this worker's lease of it among them (a restart or failover without them; the lease had not expired): it is on the queue again and may be processed twice`;
}
