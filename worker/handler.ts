import { spawn } from 'node:child_process';
import type { WorkConfig } from './config';

/** `done`: the item was processed. `failed`: the handler said no. `aborted`: stopped by shutdown. */
export type HandlerResult = 'done' | 'failed' | 'aborted';

export type Handler = (item: string, signal: AbortSignal) => Promise<HandlerResult>;

/** WORK_COMMAND through `sh -c` with the item on stdin, or the built-in simulated work. */
export function makeHandler(work: WorkConfig): Handler {
  return work.workCommand !== undefined ? commandHandler(work.workCommand) : builtInHandler(work.workSeconds);
}

function builtInHandler(workSeconds: number): Handler {
  return async (item, signal) => {
    process.stdout.write(`Processing ${item}\n`);
    if (workSeconds === 0) return 'done';
    return (await sleep(workSeconds * 1000, signal)) ? 'done' : 'aborted';
  };
}

function commandHandler(command: string): Handler {
  return (item, signal) =>
    new Promise((resolve) => {
      const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'inherit', 'inherit'] });
      const abort = () => child.kill('SIGTERM');
      signal.addEventListener('abort', abort, { once: true });
      // A command that does not read its input closes the pipe early; that is not a failure.
      child.stdin.on('error', () => undefined);
      child.stdin.end(item, 'utf8');
      child.on('error', (error) => {
        signal.removeEventListener('abort', abort);
        process.stderr.write(`work-queue: could not start WORK_COMMAND: ${error.message}\n`);
        resolve('failed');
      });
      child.on('close', (code) => {
        signal.removeEventListener('abort', abort);
        resolve(signal.aborted ? 'aborted' : code === 0 ? 'done' : 'failed');
      });
    });
}

/** Resolves true after `ms`, or false as soon as the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
