import type { ChildProcess } from 'node:child_process';
import type { WorkConfig } from './config';
import type * as ProcessGroups from './process-group';
import { sleep } from './sleep';
import { writeLine } from './stdout-lines';
import { describeCause } from './unreachable';

/** The handler said no: `error` is its outcome in one line (kept with the item if it is dead-lettered). */
export interface HandlerFailure {
  readonly error: string;
}

/** `done`: the item was processed. A `HandlerFailure`: the handler said no. `aborted`: stopped by the signal. */
export type HandlerResult = 'done' | 'aborted' | HandlerFailure;

/** WORK_COMMAND could not be started: said on stderr, and the item's failure. */
function couldNotStart(cause: string): HandlerFailure {
  const error = `could not start WORK_COMMAND: ${cause}`;
  process.stderr.write(`work-queue: ${error}\n`);
  return { error };
}

/**
 * Runs the work on one item. `onExit`, when given, hears the exit code of the item's command
 * (null when a signal ended it); the built-in handler runs none.
 */
export type Handler = (
  item: string,
  signal: AbortSignal,
  onExit?: (code: number | null) => void,
) => Promise<HandlerResult>;

/** WORK_COMMAND through `sh -c` with the item on stdin, or the built-in simulated work. */
export function makeHandler(work: WorkConfig): Handler {
  return work.workCommand !== undefined ? commandHandler(work.workCommand) : builtInHandler(work.workSeconds);
}

function builtInHandler(workSeconds: number): Handler {
  return async (item, signal) => {
    if (signal.aborted) return 'aborted';
    writeLine(`Processing ${item}`);
    if (workSeconds === 0) return 'done';
    return (await sleep(workSeconds * 1000, signal)) ? 'done' : 'aborted';
  };
}

/** Process groups (and node:child_process) are loaded with the first WORK_COMMAND, not at start-up. */
let processGroups: Promise<typeof ProcessGroups> | undefined;

/** Ends what WORK_COMMAND left running; nothing to do when no command ran. */
export async function endCommands(): Promise<void> {
  if (processGroups) await (await processGroups).endCommandGroups();
}

/**
 * Runs the command in a process group of its own; an abort ends the whole group (TERM, then KILL)
 * and resolves only once it is stopped, so an item handed back is no longer being worked on.
 */
function commandHandler(command: string): Handler {
  return async (item, signal, onExit) => {
    const { endCommandGroup, forgetCommandGroup, spawnCommandGroup } = await (processGroups ??=
      import('./process-group'));
    return new Promise((resolve) => {
      if (signal.aborted) {
        resolve('aborted');
        return;
      }
      let child: ChildProcess;
      try {
        child = spawnCommandGroup(command, item);
      } catch (error) {
        resolve(couldNotStart(describeCause(error)));
        return;
      }
      let stopping: Promise<void> | undefined;
      const abort = () => {
        if (child.pid !== undefined) stopping = endCommandGroup(child.pid);
      };
      signal.addEventListener('abort', abort, { once: true });
      child.on('error', (error) => {
        signal.removeEventListener('abort', abort);
        resolve(couldNotStart(error.message));
      });
      child.on('close', (code, exitSignal) => {
        signal.removeEventListener('abort', abort);
        onExit?.(code);
        if (signal.aborted) {
          void (stopping ?? Promise.resolve()).then(() => resolve('aborted'));
          return;
        }
        if (child.pid !== undefined) forgetCommandGroup(child.pid);
        if (code === 0) resolve('done');
        else
          resolve({
            error: exitSignal
              ? `WORK_COMMAND was killed by ${exitSignal}`
              : `WORK_COMMAND exited with code ${String(code)}`,
          });
      });
    });
  };
}
