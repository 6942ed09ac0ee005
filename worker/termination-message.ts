/**
 * The termination message of a `work` container: one JSON line that says why the pod ended, which
 * the kubelet reads from the container's `terminationMessagePath` once it exits and keeps as
 * `status.containerStatuses[].state.terminated.message` (`kubectl describe pod` shows it as
 * `Message:`; the Pulumi Job await quotes it for a failed pod). Its fields, each present only once
 * known (docs/worker.md, "Termination message"):
 *
 * - single and indexed: `item`, `outcome`, and `attempt` (single) or `index` (indexed);
 * - drain: `done`, `failed`, `dead` (items of this pod) and `lastFailure` ({item, outcome, attempt});
 * - always `exitCode`; `reason` for a non-zero one; `truncated: true` when a string was cut.
 */
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import type { Environment } from './config';
import { Env, ExitCode, type WorkerMode } from '../contract';
import { exitCodeOf } from './errors';
import { thrownMessage } from './thrown';
import { describeCause } from './unreachable';

/** Kubernetes' default `terminationMessagePath`, where the kubelet mounts a file of its own for every container. */
export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';

/**
 * The message's size bound. The kubelet keeps at most 4096 bytes per container (12 KiB shared by
 * all containers of a pod, so less in a pod of more than three); 1 KiB stays well within either.
 */
export const MAX_TERMINATION_MESSAGE_BYTES = 1024;

/** Bytes each string (an item, a reason) starts with; halved while the whole line is too long. */
const FIRST_STRING_BYTES = 256;

/**
 * What became of an item: `done`; `failed` (handed back for another attempt); `dead` (moved to the
 * dead-letter queue); `lost` (its lease or connection passed to another worker before it was
 * settled); `unacknowledged` (processed, but its completion failed); `disconnected` (stopped: its
 * delivery could no longer be settled); `handedBack` (given back unfinished on SIGTERM);
 * `timedOut` (indexed: outlasted WORK_TIMEOUT_SECONDS).
 */
export type ItemOutcome =
  'done' | 'failed' | 'dead' | 'lost' | 'unacknowledged' | 'disconnected' | 'handedBack' | 'timedOut';

/** Where an item stood: its delivery attempt (queue modes) or its index (indexed). */
export interface ItemPlace {
  readonly attempt?: number;
  readonly index?: number;
}

interface ItemEnd extends ItemPlace {
  readonly item: string;
  readonly outcome: ItemOutcome;
}

/** Why the worker exits with a code that no error explains. */
const EXIT_REASONS: Partial<Record<number, string>> = {
  [ExitCode.failed]: 'the item was not done',
  [ExitCode.brokerUnreachable]:
    'the item was processed, but its connection closed before the broker confirmed its completion: it may be delivered again',
  [ExitCode.seedIncomplete]: `the queue stayed empty and its seed was not complete within ${Env.seedWaitSeconds}`,
  [ExitCode.interrupted]: 'stopped by SIGTERM before the work was finished; what it held was handed back',
};

/** Collects what a `work` run did, for its termination message. */
export class TerminationMessage {
  private mode?: WorkerMode;
  private last?: ItemEnd;
  private lastFailure?: ItemEnd;
  private readonly counts = { done: 0, failed: 0, dead: 0 };

  /** The run's mode, once its configuration is read. */
  start(mode: WorkerMode): void {
    this.mode = mode;
  }

  itemEnded(item: string, outcome: ItemOutcome, place: ItemPlace): void {
    const end = { item, outcome, ...place };
    this.last = end;
    if (outcome === 'done') this.counts.done++;
    else if (outcome === 'dead') this.counts.dead++;
    else if (outcome !== 'handedBack') this.counts.failed++;
    if (outcome !== 'done' && outcome !== 'handedBack') this.lastFailure = end;
  }

  /** An item the broker dead-lettered when this worker claimed it: delivered `attempts` times without an answer. */
  deadLettered(item: string, attempts: number): void {
    this.counts.dead++;
    this.lastFailure = { item, outcome: 'dead', attempt: attempts };
  }

  /** The message for an exit with `exitCode`, `error` being what ended the run, if anything did. */
  render(exitCode: number, error?: unknown): string {
    for (let budget = FIRST_STRING_BYTES; ; budget = Math.floor(budget / 2)) {
      const text = this.renderWithin(budget, exitCode, error);
      if (Buffer.byteLength(text) <= MAX_TERMINATION_MESSAGE_BYTES || budget <= 1) return text;
    }
  }

  private renderWithin(budget: number, exitCode: number, error: unknown): string {
    let shortened = 0;
    const cut = (text: string) => {
      const kept = truncateUtf8(text, budget);
      if (kept !== text) shortened++;
      return kept;
    };
    const fields: Record<string, unknown> = {};
    if (this.mode === 'drain') {
      Object.assign(fields, this.counts);
      if (this.lastFailure) fields.lastFailure = describeEnd(this.lastFailure, cut);
    } else if (this.last) {
      Object.assign(fields, describeEnd(this.last, cut));
    }
    fields.exitCode = exitCode;
    const reason = error === undefined ? EXIT_REASONS[exitCode] : errorReason(error);
    if (exitCode !== ExitCode.ok && reason !== undefined) fields.reason = cut(reason);
    if (shortened > 0) fields.truncated = true;
    return JSON.stringify(fields);
  }
}

function describeEnd(end: ItemEnd, cut: (text: string) => string): Record<string, unknown> {
  return {
    item: cut(end.item),
    outcome: end.outcome,
    ...(end.attempt === undefined ? {} : { attempt: end.attempt }),
    ...(end.index === undefined ? {} : { index: end.index }),
  };
}

/** An error's message on one line, as the CLI prints it. */
function errorReason(error: unknown): string {
  return thrownMessage(error).split('\n').filter(Boolean).join('; ');
}

/**
 * The longest start of `text` within `maxBytes` of UTF-8, whole code points only, ending in `…`
 * when cut (the ellipsis counted in the bytes).
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const ellipsis = '…';
  let room = maxBytes - Buffer.byteLength(ellipsis);
  let kept = '';
  for (const codePoint of text) {
    room -= Buffer.byteLength(codePoint);
    if (room < 0) break;
    kept += codePoint;
  }
  return `${kept}${ellipsis}`;
}

/**
 * Writes `text` to TERMINATION_MESSAGE_PATH when set (created if need be), else to
 * /dev/termination-log only when the file exists: the kubelet creates and mounts it before the
 * container starts (one file per container instance, mode 0666), so outside a pod nothing is
 * created there. A failure is logged and changes nothing else: the exit code stays the run's.
 */
export function writeTerminationMessage(text: string, env: Environment, log: (line: string) => void): void {
  const given = env[Env.terminationMessagePath] || undefined;
  const path = given ?? DEFAULT_TERMINATION_MESSAGE_PATH;
  let fd: number | undefined;
  try {
    // 'r+' opens only an existing file; it is emptied first, as a restarted container's file may not be.
    fd = openSync(path, given ? 'w' : 'r+');
    if (!given) ftruncateSync(fd);
    writeSync(fd, text);
  } catch (error) {
    if (!given && (error as NodeJS.ErrnoException).code === 'ENOENT') return;
    log(`could not write the termination message to ${path} (${Env.terminationMessagePath}): ${describeCause(error)}`);
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // What was written stays written; the process exits next.
  }
}

/** Runs `work` and writes its termination message on the way out, whether it returns an exit code or throws. */
export async function withTerminationMessage(
  env: Environment,
  log: (line: string) => void,
  run: (message: TerminationMessage) => Promise<number>,
): Promise<number> {
  const message = new TerminationMessage();
  let exitCode: number;
  try {
    exitCode = await run(message);
  } catch (error) {
    writeTerminationMessage(message.render(exitCodeOf(error), error), env, log);
    throw error;
  }
  writeTerminationMessage(message.render(exitCode), env, log);
  return exitCode;
}
