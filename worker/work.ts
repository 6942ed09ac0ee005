import type { QueueWorkConfig } from './config';
import { Env, ExitCode, deadLetterQueue, keptError } from '../contract';
import type { Handler, HandlerResult } from './handler';
import type { Claimed, Consumer, Delivery, DeliveryOutcome } from './queue';
import { SeedWait } from './seed-wait';
import type { Shutdown } from './shutdown';
import { ItemDeadline } from './item-deadline';
import { sleep } from './sleep';
import { flushLines } from './stdout-lines';
import type { ItemSpan, Tracer } from './tracing/spans';
import type { ItemOutcome, TerminationMessage } from './termination-message';

/** How long `single` waits for an item to appear (once its seed, if any, is complete) before it concludes there is nothing to do. */
export const EMPTY_WAIT_MS = 3000;

/**
 * Batch size bound for `drain`: one call claims up to this many, each with its own lease. Above
 * Redis' listpack thresholds (128 entries) the per-token hashes and the lease set become hash
 * tables and skip lists, which costs the server more per item: two workers at 64 stay under them
 * (measured: 133 ms of script time for 20,000 items at 64, 300 ms at 256).
 */
export const MAX_BATCH_SIZE = 64;
/** First wait of `drain` for the leases of other workers, doubled on each empty claim. */
const FIRST_POLL_MS = 5;
/** A batch that finishes faster than this grows; one slower than SLOW_BATCH_MS shrinks. */
const FAST_BATCH_MS = 50;
const SLOW_BATCH_MS = 500;

export interface WorkContext {
  readonly consumer: Consumer;
  readonly queueName: string;
  readonly config: QueueWorkConfig;
  readonly handler: Handler;
  readonly shutdown: Shutdown;
  readonly log: (line: string) => void;
  /**
   * Traces each item (a span per delivery, child of its seed's span).
   * @default - none: tracing is off
   */
  readonly tracer?: Tracer;
  /** What the run's termination message says of its items. */
  readonly ending: TerminationMessage;
}

/** What one run of `work` uses besides its context. */
interface Run extends WorkContext {
  /** The handler's signal for a delivery's `lost` signal. */
  readonly handlerSignal: (lost: AbortSignal) => AbortSignal;
  /** Tells an empty queue that is done from one whose seed has not come yet (SEED_ID). */
  readonly seedWait: SeedWait;
  /** Each item's WORK_TIMEOUT_SECONDS. */
  readonly itemDeadline: ItemDeadline;
}

/** Runs `work` in the configured mode and returns the exit code. */
export function work(context: WorkContext): Promise<number> {
  const { config, queueName, shutdown, log } = context;
  const seedWait = new SeedWait({
    seedId: config.seedId,
    waitSeconds: config.seedWaitSeconds,
    queueName,
    signal: shutdown.signal,
    log,
  });
  const run: Run = {
    ...context,
    handlerSignal: handlerSignals(shutdown),
    seedWait,
    itemDeadline: new ItemDeadline(config.workTimeoutSeconds * 1000),
  };
  return context.config.mode === 'single' ? single(run) : drain(run);
}

/**
 * The handler stops on shutdown or when its delivery can no longer be settled. The deliveries of
 * one connection share their `lost` signal, so one combined signal serves them all: combining
 * per item would cost a drain more than the item itself.
 */
function handlerSignals(shutdown: Shutdown): (lost: AbortSignal) => AbortSignal {
  let lastLost: AbortSignal | undefined;
  let combined = shutdown.handlerSignal;
  return (lost) => {
    if (lost !== lastLost) {
      lastLost = lost;
      combined = AbortSignal.any([shutdown.handlerSignal, lost]);
    }
    return combined;
  };
}

/** Coarse pattern: one item, then exit; an empty queue (whose seed is complete) after EMPTY_WAIT_MS. */
async function single(context: Run): Promise<number> {
  const { consumer, shutdown, log, seedWait } = context;
  let deadline: number | undefined = Date.now() + EMPTY_WAIT_MS;
  for (;;) {
    if (shutdown.stopping) return ExitCode.interrupted;
    const claimed = await consumer.claim(1);
    reportDeadLettered(context, claimed);
    const delivery = claimed.deliveries.at(0);
    if (delivery) {
      const outcome = await processOne(context, delivery);
      context.ending.itemEnded(delivery.item, PUBLIC_OUTCOMES[outcome], { attempt: delivery.attempt });
      // The item cannot be settled any more (the broker takes it back): exit code 3, one line.
      if (outcome === 'disconnected') throw delivery.lost.reason;
      // Its completion was not confirmed (the line onLost printed says why): never exit 0 for it;
      // 3 when its connection closed.
      if (outcome === 'notCompleted') return delivery.lost.aborted ? ExitCode.brokerUnreachable : ExitCode.failed;
      return outcome === 'done' || outcome === 'dead'
        ? ExitCode.ok
        : outcome === 'aborted'
          ? ExitCode.interrupted
          : ExitCode.failed;
    }
    if (!seedWait.complete(claimed.seed)) {
      // The empty wait starts once the seed is complete.
      deadline = undefined;
      const exit = await seedWait.pause(claimed.seed);
      if (exit !== undefined) return exit;
      continue;
    }
    seedWait.progress();
    deadline ??= Date.now() + EMPTY_WAIT_MS;
    const left = deadline - Date.now();
    if (left <= 0) {
      log(`queue ${context.queueName} stayed empty for ${EMPTY_WAIT_MS / 1000} s: nothing to do, exiting`);
      return ExitCode.ok;
    }
    await sleep(Math.min(claimed.retryInMs, left), shutdown.signal);
  }
}

/**
 * Fine pattern: claim in adaptive batches until nothing is pending or leased.
 *
 * A claim leases up to `batchSize` items, each under a lease of its own that the worker renews
 * while it holds the item. The items are processed in order; the processed ones are completed in
 * one call, sent together with the claim of the next batch (one round trip per batch). A worker
 * killed at any instant leaves every item it has not completed (the rest of its batch, and
 * processed items whose completion had not reached the broker) to the other workers, which
 * reclaim them when their leases expire: at least once, never lost, with attempts counted. A
 * batch grows while it finishes within FAST_BATCH_MS and shrinks when slow, so slow items spread
 * over the workers. With SEED_ID, nothing pending or leased is done only once the seed is complete.
 */
async function drain(context: Run): Promise<number> {
  const { consumer, shutdown, log, seedWait } = context;
  let batchSize = 1;
  let processed = 0;
  let pollMs = FIRST_POLL_MS;
  let claimed = await consumer.claim(batchSize);
  for (;;) {
    reportDeadLettered(context, claimed);
    if (claimed.deliveries.length === 0) {
      if (claimed.settled && seedWait.complete(claimed.seed)) {
        log(
          `queue ${context.queueName} is drained: nothing pending or in progress (${processed} items processed here)`,
        );
        return ExitCode.ok;
      }
      if (claimed.settled) {
        const exit = await seedWait.pause(claimed.seed);
        if (exit !== undefined) return exit;
        claimed = await consumer.claim(batchSize);
        continue;
      }
      seedWait.progress();
      if (shutdown.stopping) return ExitCode.interrupted;
      // Other workers hold the last items: their batches usually complete within milliseconds, so
      // ask again soon, then less and less often (at most every retryInMs).
      if (!(await sleep(Math.min(pollMs, claimed.retryInMs), shutdown.signal))) return ExitCode.interrupted;
      pollMs *= 2;
      claimed = await consumer.claim(batchSize);
      continue;
    }
    pollMs = FIRST_POLL_MS;
    seedWait.progress();
    const started = Date.now();
    const finished: Delivery[] = [];
    const batch = claimed.deliveries;
    for (let i = 0; i < batch.length; i++) {
      if (shutdown.stopping) {
        await consumer.release(batch.slice(i));
        break;
      }
      const outcome = await processOne(context, batch[i], finished);
      context.ending.itemEnded(batch[i].item, PUBLIC_OUTCOMES[outcome], { attempt: batch[i].attempt });
      if (outcome === 'aborted') {
        await consumer.release(batch.slice(i + 1));
        break;
      }
      // The rest of the batch came on the same connection: the broker takes all of it back.
      if (outcome === 'disconnected') break;
      processed++;
    }
    // What the batch logged is out before its items count as done.
    flushLines();
    if (shutdown.stopping) {
      await consumer.complete(finished);
      return ExitCode.interrupted;
    }
    batchSize = nextBatchSize(batchSize, batch.length, Date.now() - started);
    // Completing this batch and claiming the next go out together: one round trip.
    [, claimed] = await Promise.all([consumer.complete(finished), consumer.claim(batchSize)]);
  }
}

type Outcome = DeliveryOutcome;

/** Processes one item (settleOne), in a span of its own when the worker traces. */
async function processOne(context: Run, delivery: Delivery, finished?: Delivery[]): Promise<Outcome> {
  const span = context.tracer?.startItem(delivery);
  if (!span) return settleOne(context, delivery, finished);
  try {
    const outcome = await settleOne(context, delivery, finished, span);
    span.end(outcome);
    return outcome;
  } catch (error) {
    span.fail(error);
    throw error;
  }
}

/** An outcome as the termination message names it. */
const PUBLIC_OUTCOMES: Record<Outcome, ItemOutcome> = {
  done: 'done',
  notCompleted: 'unacknowledged',
  retry: 'failed',
  dead: 'dead',
  lost: 'lost',
  aborted: 'handedBack',
  disconnected: 'disconnected',
};

/**
 * Runs the handler on one item and settles it. With `finished`, a processed item is added to it
 * for a later joint completion; without, it is completed at once. The handler stops when shutdown
 * gives the item up, or when the delivery can no longer be settled (`disconnected`).
 */
async function settleOne(context: Run, delivery: Delivery, finished?: Delivery[], span?: ItemSpan): Promise<Outcome> {
  const { consumer, log, config } = context;
  const { result, timedOut } = await runWithin(
    context.itemDeadline,
    context.handler,
    delivery.item,
    context.handlerSignal(delivery.lost),
    span,
  );
  if (delivery.lost.aborted) {
    if (finished)
      log(
        `${JSON.stringify(delivery.item)} was stopped unfinished: this worker can no longer settle it, the broker gives it to another worker`,
      );
    return 'disconnected';
  }
  if (result === 'done') {
    if (finished) finished.push(delivery);
    else {
      flushLines();
      if ((await consumer.complete([delivery])) > 0) return 'notCompleted';
    }
    return 'done';
  }
  let error: string;
  if (timedOut) {
    error = `outlasted ${Env.workTimeoutSeconds} (${config.workTimeoutSeconds} s)`;
    log(`${JSON.stringify(delivery.item)} ${error}: stopped, a failed attempt`);
  } else if (result === 'aborted') {
    await consumer.release([delivery]);
    log(`gave ${JSON.stringify(delivery.item)} back to the queue unfinished`);
    return 'aborted';
  } else error = result.error;
  const outcome = await consumer.fail(delivery, keptError(error));
  const which = `${JSON.stringify(delivery.item)} failed (attempt ${delivery.attempt} of ${config.maxAttempts})`;
  if (outcome === 'dead') log(`${which}: moved to dead-letter queue ${deadLetterQueue(context.queueName)}`);
  else if (outcome === 'retry') log(`${which}: handed back for another attempt`);
  else
    log(
      `${which}: it was no longer this worker's to settle (its lease passed to another worker, or its connection closed)`,
    );
  return outcome;
}

/**
 * Runs the handler under WORK_TIMEOUT_SECONDS: when it fires, the handler's signal aborts, which
 * stops the item's command as shutdown does (its whole process group, TERM then KILL), and the
 * item counts as failed. `outer` aborts it too (shutdown, or a delivery that can no longer be settled).
 * `span`, when the worker traces, hears the command's exit code and the timeout.
 */
export async function runWithin(
  deadline: ItemDeadline,
  handler: Handler,
  item: string,
  outer: AbortSignal,
  span?: ItemSpan,
): Promise<{ result: HandlerResult; timedOut: boolean }> {
  const signal = deadline.start(outer);
  let timedOut: boolean;
  let result: HandlerResult;
  try {
    result = await handler(item, signal, span?.commandExited);
  } finally {
    timedOut = deadline.finish();
  }
  if (timedOut && result === 'aborted') span?.timedOut();
  return { result, timedOut: timedOut && result === 'aborted' };
}

function reportDeadLettered(context: WorkContext, claimed: Claimed): void {
  for (const item of claimed.deadLettered) {
    context.ending.deadLettered(item, context.config.maxAttempts);
    context.log(
      `${JSON.stringify(item)} was delivered ${context.config.maxAttempts} times without an answer: moved to dead-letter queue ${deadLetterQueue(context.queueName)}`,
    );
  }
}

/** Grows the batch while items finish fast, shrinks it when they are slow, so slow items spread over workers. */
export function nextBatchSize(batchSize: number, claimedCount: number, elapsedMs: number): number {
  if (claimedCount < batchSize) return batchSize;
  if (elapsedMs < FAST_BATCH_MS) return Math.min(MAX_BATCH_SIZE, batchSize * 2);
  if (elapsedMs > SLOW_BATCH_MS) return Math.max(1, Math.floor(batchSize / 2));
  return batchSize;
}
