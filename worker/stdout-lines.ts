/**
 * Lines for standard output, written together: one write per turn of the event loop instead of
 * one per line. A drain worker logs every item, and a write to a pipe is a system call of its own.
 * The lines go out as soon as the worker waits for anything (the broker, WORK_SECONDS), and
 * before it exits (`flushLines`).
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
