import type { Entry } from './entry';
import type { Spread } from './measure';

/** A figure as the table shows it: whole numbers with thousands separators from 1,000 up, else 3 significant digits. */
export function formatNumber(x: number): string {
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  return String(Number(x.toPrecision(3)));
}

/** `median (min–max)`, each figure multiplied by `scale` (1000 for seconds shown as ms), with its unit. */
export function withRange(
  { median, min, max }: Pick<Spread, 'median' | 'min' | 'max'>,
  { scale = 1, unit = '' } = {},
): string {
  return `${formatNumber(median * scale)}${unit && ` ${unit}`} (${formatNumber(min * scale)}–${formatNumber(max * scale)})`;
}

function verdict(entry: Entry): string {
  if (entry.pass === null) return 'info';
  return entry.pass ? 'pass' : '**FAIL**';
}

function measurement(entry: Entry): string {
  const ceiling = entry.ceiling === undefined ? '' : `; server ceiling ${formatNumber(entry.ceiling)} items/s`;
  return `${entry.name} vs ${entry.baselineName}${ceiling}`;
}

/** The markdown table of the entries: medians with the smallest and largest round. */
export function table(entries: readonly Entry[]): string {
  const lines = [
    '| id | measurement | ours, median (min–max) | baseline, median (min–max) | ratio, median (min–max) | goal | result |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const e of entries) {
    const goal = e.goal === null ? '—' : `≥ ${e.goal}`;
    const ours = withRange({ median: e.ours, min: e.oursMin, max: e.oursMax }, { unit: e.unit });
    const baseline = withRange({ median: e.baseline, min: e.baselineMin, max: e.baselineMax }, { unit: e.unit });
    lines.push(
      `| \`${e.id}\` | ${measurement(e)} | ${ours} | ${baseline} | ${withRange({ median: e.ratio, min: e.ratioMin, max: e.ratioMax })} | ${goal} | ${verdict(e)} |`,
    );
  }
  return lines.join('\n');
}

export interface Machine {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly nodeVersion: string;
  readonly date: string;
  /** One-minute load average when the bench started: a busy machine shows here. */
  readonly loadAverage: number;
}

export function machineLine(machine: Machine, rounds: number): string {
  return (
    `Measured ${machine.date} on ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB RAM, Node.js ${machine.nodeVersion}, ` +
    `load average ${machine.loadAverage.toFixed(2)} at the start; ${rounds} interleaved rounds, ratio above 1 means ours is better.`
  );
}

/** The entries whose ratio stayed below their goal. */
export function missedGoals(entries: readonly Entry[]): Entry[] {
  return entries.filter((entry) => entry.pass === false);
}

/** The whole report: machine line, table, and what missed its goal. */
export function report(entries: readonly Entry[], machine: Machine, rounds: number): string {
  const missed = missedGoals(entries);
  const summary =
    missed.length === 0
      ? 'Every goal met.'
      : `Goals missed: ${missed.map((e) => `\`${e.id}\` (ratio ${formatNumber(e.ratio)}, goal ${String(e.goal)})`).join(', ')}.`;
  return `${machineLine(machine, rounds)}\n\n${table(entries)}\n\n${summary}\n`;
}
