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
