import { spawn, SpawnOptions } from 'child_process';

/** Median of the samples (the mean of the middle two for an even count). */
export function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Runs `measure` `runs` times (after `prepare` each time, which is not timed) and returns the median. */
export async function repeat(runs: number, measure: () => Promise<number>, prepare?: () => Promise<void>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    if (prepare) await prepare();
    samples.push(await measure());
  }
  return median(samples);
}

export interface RunResult {
  readonly seconds: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion, timing it from spawn to exit; fails on a non-zero exit. */
export function timed(command: string, args: string[], options: SpawnOptions & { input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { ...options, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    // A command that does not read its input may exit before it is written: that is not an error.
    child.stdin!.on('error', () => undefined);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (code === 0) resolve({ seconds, stdout, stderr });
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.slice(-2000)}`));
    });
    child.stdin!.end(options.input ?? '');
  });
}
