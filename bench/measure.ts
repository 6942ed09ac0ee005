import { spawn, type ChildProcessByStdio, type SpawnOptions } from 'child_process';
import type { Readable, Writable } from 'stream';

/** Median, smallest and largest of a set of samples. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Median of the samples (the mean of the middle two for an even count). */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error('median of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function spread(samples: readonly number[]): Spread {
  return { median: median(samples), min: Math.min(...samples), max: Math.max(...samples) };
}

/** How a figure reads: a rate (higher is better) or a duration (lower is better). */
export type Unit = 'items/s' | 'MiB/s' | 's' | 'µs/item';

export function higherIsBetter(unit: Unit): boolean {
  return unit === 'items/s' || unit === 'MiB/s';
}

/** Ours against the baseline in one round; above 1 means ours is better. */
export function roundRatio(ours: number, baseline: number, unit: Unit): number {
  return higherIsBetter(unit) ? ours / baseline : baseline / ours;
}

/** The ratio of each round, ours and baseline paired by round. */
export function roundRatios(ours: readonly number[], baseline: readonly number[], unit: Unit): number[] {
  if (ours.length !== baseline.length)
    throw new Error(`${ours.length} rounds of ours against ${baseline.length} of the baseline`);
  return ours.map((value, round) => roundRatio(value, baseline[round], unit));
}

/**
 * The order in which the contenders run in a round: as given in even rounds, reversed in odd ones
 * (A B, B A, A B, …), so that a machine getting slower or faster over the run favours neither.
 */
export function roundOrder(contenders: number, round: number): number[] {
  const order = Array.from({ length: contenders }, (_, i) => i);
  return round % 2 === 0 ? order : order.reverse();
}

/**
 * Runs every contender once per round in the alternating order, each after the previous one has
 * finished, and returns the samples of each contender, one per round.
 */
export async function interleave(
  rounds: number,
  contenders: ReadonlyArray<(round: number) => Promise<number>>,
): Promise<number[][]> {
  const samples: number[][] = contenders.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const index of roundOrder(contenders.length, round)) samples[index][round] = await contenders[index](round);
  }
  return samples;
}

export interface RunResult {
  readonly seconds: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface TimedOptions extends SpawnOptions {
  readonly input?: string;
  /** Called with each piece of output as it arrives, for progress measured while the command runs. */
  readonly onStdout?: (chunk: string) => void;
  /** Sends standard output to /dev/null, for commands that print more than is worth reading. */
  readonly discardStdout?: boolean;
}

/** Runs a command to completion, timing it from spawn to exit; fails on a non-zero exit. */
export function timed(command: string, args: string[], options: TimedOptions = {}): Promise<RunResult> {
  const { input, onStdout, discardStdout, ...spawnOptions } = options;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { ...spawnOptions, stdio: ['pipe', discardStdout ? 'ignore' : 'pipe', 'pipe'] });
    const { stdin, stderr: errors } = child as ChildProcessByStdio<Writable, null, Readable>;
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      onStdout?.(chunk);
    });
    errors.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    // A command that does not read its input may exit before it is written: that is not an error.
    stdin.on('error', () => undefined);
    child.on('close', (code) => {
      const seconds = secondsSince(started);
      if (code === 0) resolve({ seconds, stdout, stderr });
      else reject(new Error(`${command} ${args.join(' ')} exited with ${String(code)}: ${stderr.slice(-2000)}`));
    });
    stdin.end(input ?? '');
  });
}

/** Seconds elapsed since a `process.hrtime.bigint()` reading. */
export function secondsSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}
