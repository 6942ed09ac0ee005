import { roundRatios, spread, type Unit } from './measure';

/** One row of bench/results.json: ours against a baseline over `runs` interleaved rounds. */
export interface Entry {
  /** Stable across runs and machines, so results can be compared by id. */
  readonly id: string;
  readonly name: string;
  readonly unit: Unit;
  /** Medians over the rounds, with the smallest and largest round. */
  readonly ours: number;
  readonly oursMin: number;
  readonly oursMax: number;
  readonly baseline: number;
  readonly baselineMin: number;
  readonly baselineMax: number;
  readonly baselineName: string;
  readonly runs: number;
  /** Median of the per-round ratios (above 1: ours is better), with the smallest and largest. */
  readonly ratio: number;
  readonly ratioMin: number;
  readonly ratioMax: number;
  /** The ratio to reach, or null for a row that only informs. */
  readonly goal: number | null;
  readonly pass: boolean | null;
  /** For server time per item: the items/s the server could serve at most (1e6 / µs per item). */
  readonly ceiling?: number;
}

export interface EntryMeta {
  readonly id: string;
  readonly name: string;
  readonly unit: Unit;
  readonly baselineName: string;
  readonly goal: number | null;
}

/** Four significant digits: what the measurements can tell apart. */
export const significant = (x: number) => Number(x.toPrecision(4));

/** The entry for per-round samples of ours and the baseline, paired by round. */
export function entryOf(meta: EntryMeta, ours: readonly number[], baseline: readonly number[]): Entry {
  const o = spread(ours);
  const b = spread(baseline);
  const r = spread(roundRatios(ours, baseline, meta.unit));
  const ratio = significant(r.median);
  return {
    ...meta,
    ours: significant(o.median),
    oursMin: significant(o.min),
    oursMax: significant(o.max),
    baseline: significant(b.median),
    baselineMin: significant(b.min),
    baselineMax: significant(b.max),
    runs: ours.length,
    ratio,
    ratioMin: significant(r.min),
    ratioMax: significant(r.max),
    pass: meta.goal === null ? null : ratio >= meta.goal,
  };
}

/** What every bench case does: run its rounds, return its rows. */
export interface BenchCase {
  readonly title: string;
  run(rounds: number): Promise<Entry[]>;
}
