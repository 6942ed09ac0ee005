import type { IndexedWorkConfig } from './config';
import { Env, ExitCode } from '../contract';
import type { Handler } from './handler';
import { ItemDeadline } from './item-deadline';
import { readIndexedItem } from './item-files';
import type { Shutdown } from './shutdown';
import { flushLines } from './stdout-lines';
import type { TerminationMessage } from './termination-message';
import { runWithin } from './work';

export interface IndexedWorkContext {
  readonly config: IndexedWorkConfig;
  readonly handler: Handler;
  readonly shutdown: Shutdown;
  readonly log: (line: string) => void;
  /** What the run's termination message says of its item. */
  readonly ending: TerminationMessage;
}

/**
 * `work` in a pod of an Indexed Job (WORKER_MODE=indexed): the item of the pod's index, once, and
 * an exit code the Job's pod failure policy acts on: 0 done; 1 failed or outlasted
 * WORK_TIMEOUT_SECONDS (the index is tried again, up to backoffLimitPerIndex); 143 stopped by
 * SIGTERM (an eviction, which the policy ignores). An index with no item throws bad input (exit 2:
 * the policy fails the index without retrying it).
 */
export async function indexedWork(context: IndexedWorkContext): Promise<number> {
  const { config, handler, shutdown, log } = context;
  const item = readIndexedItem(config.itemsDirectory, config.index);
  const deadline = new ItemDeadline(config.workTimeoutSeconds * 1000);
  const { result, timedOut } = await runWithin(deadline, handler, item, shutdown.handlerSignal);
  context.ending.itemEnded(
    item,
    result === 'done' ? 'done' : timedOut ? 'timedOut' : result === 'aborted' ? 'handedBack' : 'failed',
    { index: config.index },
  );
  // What the item printed goes out before the worker's own line about it.
  flushLines();
  const which = `item ${config.index} ${JSON.stringify(item)}`;
  if (result === 'done') return ExitCode.ok;
  if (timedOut) {
    log(`${which} outlasted ${Env.workTimeoutSeconds} (${config.workTimeoutSeconds} s): stopped, a failed attempt`);
    return ExitCode.failed;
  }
  if (result === 'aborted') {
    log(`${which} was stopped unfinished: the worker is shutting down`);
    return ExitCode.interrupted;
  }
  log(`${which} failed: ${Env.workCommand} did not exit 0`);
  return ExitCode.failed;
}
