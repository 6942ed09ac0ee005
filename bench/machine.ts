import { cpus, loadavg, totalmem } from 'os';
import type { Machine } from './report';

/** The machine line's facts, read when a bench starts. */
export function thisMachine(): Machine {
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    nodeVersion: process.version,
    date: new Date().toISOString().slice(0, 10),
    loadAverage: loadavg()[0],
  };
}

/** BENCH_ROUNDS, a whole number of 1 or more (default 5). */
export function roundsFromEnv(): number {
  const text = process.env.BENCH_ROUNDS ?? '5';
  const rounds = Number(text);
  if (!Number.isInteger(rounds) || rounds < 1)
    throw new Error(`BENCH_ROUNDS: got ${JSON.stringify(text)}, expected a whole number of 1 or more`);
  return rounds;
}
