/**
 * The one program every candidate client library is measured with: bench/cases/client-libraries.ts
 * bundles it once per library (as the worker is bundled) and runs it as a process of its own.
 *
 *   node <bundle> load                             nothing: the library's load time alone
 *   node <bundle> connect <url>                    open a connection with one round trip, close
 *   node <bundle> one <url> <source> <target>      take one item, print it, close
 *   node <bundle> drain <url> <source> <target>    take items until the source is empty; print JSON { moved, seconds }
 *
 * AMQP takes an item with basic.get and basic.ack from the queue `source`; the Redis protocol moves
 * it with LMOVE from the list `source` to the list `target`. Exit 0 on success; on failure the
 * library's error message on stderr and exit 1. On success stderr holds `cpu-µs <n>`: the CPU time
 * the process has used (user and system, all threads), which a loaded machine disturbs far less
 * than the time from start to exit.
 */

/** Redis drains send this many LMOVEs per round trip. */
export const PIPELINE = 64;

export interface Probe {
  /** Opens a connection ready for use (AMQP: handshake and a channel; Redis: a PING answered), then closes it. */
  connect(url: string): Promise<void>;
  /** Takes one item from `source` and closes the connection; returns the item. */
  takeOne(url: string, source: string, target: string): Promise<string>;
  /** Connects, then drains `source`, timing from the first request to the reply that found it empty. */
  drain(url: string, source: string, target: string): Promise<DrainResult>;
}

export interface DrainResult {
  readonly moved: number;
  readonly seconds: number;
}

/**
 * Runs `step` until it moves fewer items than `batch` (the source is empty), timed. The last step's
 * empty reply comes after every earlier acknowledgement on the same channel, so it is counted.
 */
export async function timedDrain(batch: number, step: () => Promise<number>): Promise<DrainResult> {
  const started = process.hrtime.bigint();
  let moved = 0;
  for (;;) {
    const count = await step();
    moved += count;
    if (count < batch) break;
  }
  return { moved, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

async function dispatch(probe: Probe, [mode, url, source, target]: string[]): Promise<string> {
  switch (mode) {
    case 'load':
      return '';
    case 'connect':
      await probe.connect(url);
      return '';
    case 'one':
      return `${await probe.takeOne(url, source, target)}\n`;
    case 'drain':
      return `${JSON.stringify(await probe.drain(url, source, target))}\n`;
    default:
      throw new Error(`mode: got ${JSON.stringify(mode)}, expected load, connect, one or drain`);
  }
}

/** The program's main: runs the mode named on the command line, then exits at once. */
export function runProbe(probe: Probe): void {
  dispatch(probe, process.argv.slice(2)).then(
    (output) => {
      process.stderr.write(cpuLine());
      process.stdout.write(output, () => process.exit(0));
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`, () => process.exit(1));
    },
  );
}

/** The CPU time this process has used so far, as the line the bench reads (CPU_LINE_SOURCE prints the same). */
function cpuLine(): string {
  const { user, system } = process.cpuUsage();
  return `cpu-µs ${user + system}\n`;
}

/** A program for `node -e` that prints the same line: the floor of the CPU column. */
export const CPU_LINE_SOURCE = 'const u = process.cpuUsage(); process.stderr.write(`cpu-µs ${u.user + u.system}\\n`)';
