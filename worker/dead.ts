import { ExitCode, deadLetterQueue, describeProblem } from '../contract';
import { DEFAULT_LIST_LIMIT, type DeadRequest, PRINTED_ITEMS } from './dead-args';
import { badInput } from './errors';
import type { DeadItem, DeadLetters } from './queue';
import { sleep } from './sleep';

/** Items one step of an unlimited redrive moves. */
const UNLIMITED_BATCH = 100;

export interface DeadContext {
  readonly deadLetters: DeadLetters;
  readonly queueName: string;
  readonly request: DeadRequest;
  /** Stops a redrive between two steps (SIGTERM, SIGINT). */
  readonly signal: AbortSignal;
  readonly print: (line: string) => void;
}

/** `purge` without `--yes` is refused before anything is touched. */
export function checkConfirmed(request: DeadRequest, queueName: string): void {
  if (request.action === 'purge' && !request.yes) {
    throw badInput([
      describeProblem(
        '--yes',
        undefined,
        `--yes to confirm that every item of ${deadLetterQueue(queueName)} is deleted for good`,
      ),
    ]);
  }
}

export async function dead(context: DeadContext): Promise<number> {
  const { request } = context;
  if (request.action === 'list') return list(context);
  if (request.action === 'purge') return purge(context);
  return request.dryRun ? dryRun(context) : redrive(context);
}

async function list({ deadLetters, queueName, request, print }: DeadContext): Promise<number> {
  const limit = request.limit ?? DEFAULT_LIST_LIMIT;
  // Both settle before either's failure ends the command: the connection then closes with nothing in flight.
  const [counted, listed] = await Promise.allSettled([deadLetters.count(), deadLetters.list(limit)]);
  if (counted.status === 'rejected') throw counted.reason;
  if (listed.status === 'rejected') throw listed.reason;
  const [count, items] = [counted.value, listed.value];
  const dead = deadLetterQueue(queueName);
  if (request.json) {
    const shown = items.map(({ item, attempts, lastError, notKept }) => ({
      item,
      attempts: attempts ?? null,
      lastError: lastError ?? null,
      notKept: notKept ?? null,
    }));
    print(JSON.stringify({ queue: queueName, deadLetterQueue: dead, count, items: shown }));
    return ExitCode.ok;
  }
  print(
    `${dead}: ${count} dead ${count === 1 ? 'item' : 'items'}${count > items.length ? `, the first ${items.length} shown (--limit)` : ''}`,
  );
  for (const item of items) print(describeItem(item));
  return ExitCode.ok;
}

async function purge({ deadLetters, queueName, print }: DeadContext): Promise<number> {
  const count = await deadLetters.purge();
  print(`purged ${deadLetterQueue(queueName)}: ${count} dead ${count === 1 ? 'item' : 'items'} deleted`);
  return ExitCode.ok;
}

async function dryRun({ deadLetters, queueName, request, print }: DeadContext): Promise<number> {
  const count = await deadLetters.count();
  const moving = Math.min(count, request.limit ?? count);
  const items = moving === 0 ? [] : await deadLetters.list(Math.min(moving, PRINTED_ITEMS));
  const [work, dead] = [queueName, deadLetterQueue(queueName)];
  print(
    `dry run: would move ${moving} of ${count} dead ${count === 1 ? 'item' : 'items'} from ${dead} back to ${work}${rateNote(request.rate, moving)}`,
  );
  for (const item of items) print(`would move ${describeItem(item)}`);
  if (moving > items.length) print(`... and ${moving - items.length} more`);
  return ExitCode.ok;
}

/**
 * Moves items in steps, each step exactly once (see DeadLetters.move), paced so that after t
 * seconds at most rate * t + one step have moved; a step is a tenth of a second's worth. Each item
 * moved is printed as it goes (the first PRINTED_ITEMS of them), so a redrive that is stopped
 * midway has said what it moved.
 */
async function redrive({ deadLetters, queueName, request, signal, print }: DeadContext): Promise<number> {
  const [work, dead] = [queueName, deadLetterQueue(queueName)];
  const limit = request.limit ?? (await deadLetters.count());
  const step = request.rate === undefined ? UNLIMITED_BATCH : Math.max(1, Math.floor(request.rate / 10));
  const started = Date.now();
  let moved = 0;
  let interrupted = false;
  while (moved < limit) {
    if (request.rate !== undefined) {
      const due = started + (moved / request.rate) * 1000;
      if (!(await sleep(Math.max(0, due - Date.now()), signal))) {
        interrupted = true;
        break;
      }
    } else if (signal.aborted) {
      interrupted = true;
      break;
    }
    const items = await deadLetters.move(Math.min(step, limit - moved));
    for (const [i, item] of items.entries()) if (moved + i < PRINTED_ITEMS) print(`moved ${describeItem(item)}`);
    moved += items.length;
    if (items.length === 0) break;
  }
  if (moved > PRINTED_ITEMS) print(`... and ${moved - PRINTED_ITEMS} more`);
  const seconds = (Date.now() - started) / 1000;
  print(
    `moved ${moved} ${moved === 1 ? 'item' : 'items'} from ${dead} back to ${work} in ${seconds.toFixed(1)} s${interrupted ? ' (stopped early: run it again to move the rest)' : ''}`,
  );
  return interrupted ? ExitCode.interrupted : ExitCode.ok;
}

function rateNote(rate: number | undefined, moving: number): string {
  return rate === undefined || moving === 0 ? '' : ` at ${rate}/s (about ${(moving / rate).toFixed(1)} s)`;
}

/** One line per item: the item as JSON, its attempts and its last error, or why they were not kept. */
export function describeItem({ item, attempts, lastError, notKept }: DeadItem): string {
  if (attempts === undefined)
    return `${JSON.stringify(item)}: attempts and last error not kept: ${notKept ?? 'no record'}`;
  return `${JSON.stringify(item)}: ${attempts} ${attempts === 1 ? 'attempt' : 'attempts'}, last error: ${lastError ?? 'none kept'}`;
}
