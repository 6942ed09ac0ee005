import type { WorkConfig } from './config';
import { ExitCode, deadLetterQueue } from './contract';
import type { Handler } from './handler';
import type { Claimed, Delivery, WorkQueue } from './queue';
import type { Shutdown } from './shutdown';
import { sleep } from './sleep';

/** How long `single` waits for an item to appear before it concludes there is nothing to do. */
export const EMPTY_WAIT_MS = 3000;

/**
 * Batch size bound for `drain`: one call claims up to this many, each with its own lease. Above
 * Redis' listpack thresholds (128 entries) the per-token hashes and the lease set become hash
 * tables and skip lists, which costs the server more per item: two workers at 64 stay under them
 * (measured: 133 ms of script time for 20,000 items at 64, 300 ms at 256).
 */
const MAX_BATCH = 64;
/** A batch that finishes faster than this grows; one slower than SLOW_BATCH_MS shrinks. */
const FAST_BATCH_MS = 50;
const SLOW_BATCH_MS = 500;

export interface WorkContext {
  readonly queue: WorkQueue;
  readonly queueName: string;
  readonly config: WorkConfig;
  readonly handler: Handler;
  readonly shutdown: Shutdown;
  readonly log: (line: string) => void;
}

/** Runs `work` in the configured mode and returns the exit code. */
export function work(context: WorkContext): Promise<number> {
  return context.config.mode === 'single' ? single(context) : drain(context);
}

/** Coarse pattern: one item, then exit. */
async function single(context: WorkContext): Promise<number> {
  const { queue, shutdown, log } = context;
  const deadline = Date.now() + EMPTY_WAIT_MS;
  for (;;) {
    if (shutdown.stopping) return ExitCode.interrupted;
    const claimed = await queue.claim(1);
    reportDeadLettered(context, claimed);
    const [delivery] = claimed.deliveries;
    if (delivery) {
      const outcome = await processOne(context, delivery);
      return outcome === 'done' || outcome === 'dead' ? ExitCode.ok : outcome === 'aborted' ? ExitCode.interrupted : ExitCode.failed;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      log(`queue ${context.queueName} stayed empty for ${EMPTY_WAIT_MS / 1000} s: nothing to do, exiting`);
      return ExitCode.ok;
    }
    await sleep(Math.min(claimed.retryInMs, left), shutdown.signal);
  }
}

/** Fine pattern: claim in adaptive batches until nothing is pending or leased. */
async function drain(context: WorkContext): Promise<number> {
  const { queue, shutdown, log } = context;
  let batch = 1;
  let processed = 0;
  let claimed = await queue.claim(batch);
  for (;;) {
    reportDeadLettered(context, claimed);
    if (claimed.deliveries.length === 0) {
      if (claimed.settled) {
        log(`queue ${context.queueName} is drained: nothing pending or in progress (${processed} items processed here)`);
        return ExitCode.ok;
      }
      if (shutdown.stopping) return ExitCode.interrupted;
      await sleep(claimed.retryInMs, shutdown.signal);
      if (shutdown.stopping) return ExitCode.interrupted;
      claimed = await queue.claim(batch);
      continue;
    }
    const started = Date.now();
    const done: Delivery[] = [];
    const deliveries = claimed.deliveries;
    for (let i = 0; i < deliveries.length; i++) {
      if (shutdown.stopping) {
        await queue.release(deliveries.slice(i));
        break;
      }
      const outcome = await processOne(context, deliveries[i], done);
      if (outcome === 'aborted') {
        await queue.release(deliveries.slice(i + 1));
        break;
      }
      processed++;
    }
    if (shutdown.stopping) {
      await queue.complete(done);
      return ExitCode.interrupted;
    }
    batch = nextBatchSize(batch, deliveries.length, Date.now() - started);
    // Completing this batch and claiming the next go out together: one round trip.
    [, claimed] = await Promise.all([queue.complete(done), queue.claim(batch)]);
  }
}

type Outcome = 'done' | 'retry' | 'dead' | 'lost' | 'aborted';

/**
 * Runs the handler on one item and settles it. With `batch`, a finished item is added to it for
 * a later joint completion; without, it is completed at once.
 */
async function processOne(context: WorkContext, delivery: Delivery, batch?: Delivery[]): Promise<Outcome> {
  const { queue, handler, shutdown, log, config } = context;
  const result = await handler(delivery.item, shutdown.handlerSignal);
  if (result === 'done') {
    if (batch) batch.push(delivery);
    else await queue.complete([delivery]);
    return 'done';
  }
  if (result === 'aborted') {
    await queue.release([delivery]);
    log(`gave ${JSON.stringify(delivery.item)} back to the queue unfinished`);
    return 'aborted';
  }
  const outcome = await queue.fail(delivery);
  const which = `${JSON.stringify(delivery.item)} failed (attempt ${delivery.attempt} of ${config.maxAttempts})`;
  if (outcome === 'dead') log(`${which}: moved to dead-letter queue ${deadLetterQueue(context.queueName)}`);
  else if (outcome === 'retry') log(`${which}: handed back for another attempt`);
  else log(`${which}: its lease had already passed to another worker`);
  return outcome;
}

function reportDeadLettered(context: WorkContext, claimed: Claimed): void {
  for (const item of claimed.deadLettered) {
    context.log(
      `${JSON.stringify(item)} was delivered ${context.config.maxAttempts} times without an answer: moved to dead-letter queue ${deadLetterQueue(context.queueName)}`,
    );
  }
}

/** Grows the batch while items finish fast, shrinks it when they are slow, so slow items spread over workers. */
export function nextBatchSize(batch: number, size: number, elapsedMs: number): number {
  if (size < batch) return batch;
  if (elapsedMs < FAST_BATCH_MS) return Math.min(MAX_BATCH, batch * 2);
  if (elapsedMs > SLOW_BATCH_MS) return Math.max(1, Math.floor(batch / 2));
  return batch;
}
