/**
 * Lines for standard output, written together: one write per turn of the event loop instead of
 * one per line. A drain worker logs every item, and a write to a pipe is a system call of its own.
 * The lines go out as soon as the worker waits for anything (the broker, WORK_SECONDS), and
 * before it exits (`flushLines`, then `linesWritten`).
 */
const FLUSH_AT = 64 * 1024;

let pending = '';
let scheduled = false;

export function writeLine(line: string): void {
  pending += `${line}\n`;
  if (pending.length >= FLUSH_AT) flushLines();
  else if (!scheduled) {
    scheduled = true;
    setImmediate(flushLines);
  }
}

export function flushLines(): void {
  scheduled = false;
  if (pending === '') return;
  const text = pending;
  pending = '';
  process.stdout.write(text);
}

/**
 * How long an exiting worker waits for a reader that does not read its standard output: a pipe
 * takes 64 KiB, and what Node.js queues beyond that dies with the process.
 */
const EXIT_WRITE_WAIT_MS = 10_000;

/** Resolves once what was written to standard output has left the process, or after EXIT_WRITE_WAIT_MS. */
export function linesWritten(): Promise<void> {
  if (process.stdout.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, EXIT_WRITE_WAIT_MS);
    process.stdout.write('', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * A reader that goes away before the end (`work-queue dead list | head -1`) closes the pipe:
 * writes then fail with EPIPE, which Node.js reports as an error of standard output. What is left
 * to print has no reader and is dropped; the command goes on to its own end and exit code, as
 * if the lines had been read (a worker does not stop working because nobody reads its log).
 * Any other error of standard output is an unexpected one.
 */
export function dropOutputOnceUnread(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
}
