import { type BrokerScheme, Env, ExitCode, describeProblem } from '../contract';
import { CompletionRate, type RateEstimate, progressSample, rateBasis } from './completion-rate';
import { CliError, queueDataLost } from './errors';
import type { QueueReplicas, QueueStatus, StatusReader } from './queue';
import { sleep } from './sleep';
import { statusReport } from './status-report';

const WATCH_INTERVAL_MS = 500;
/** Without a terminal, `--watch` writes a line when the counts change, and this often while they do not (the rate and ETA move). */
const UNCHANGED_LINE_MS = 10_000;
const BAR_WIDTH = 30;
/** A narrower bar than this is left out. */
const MIN_BAR_WIDTH = 5;

/** One line of counts; what the broker cannot tell is left out, never guessed. */
export function formatStatus(queueName: string, s: QueueStatus): string {
  return `queue ${queueName}: ${formatCounts(s)}`;
}

function formatCounts(s: QueueStatus): string {
  const parts = [`pending ${s.pending}`];
  if (s.inProgress !== undefined) parts.push(`in progress ${s.inProgress}`);
  if (s.done !== undefined) parts.push(`done ${s.done}`);
  if (s.inProgress === undefined && s.done === undefined) parts.push(`in progress or done ${s.taken ?? 'unknown'}`);
  parts.push(`dead ${s.dead}`);
  const seeded =
    s.seeded !== undefined
      ? ` (seeded ${s.seeded}${s.seed && s.seed.pushed < s.seed.total ? `, seeding ${s.seed.pushed}/${s.seed.total}` : ''})`
      : '';
  return `${parts.join(', ')}${seeded}`;
}

/** The queue's leader and members (a RabbitMQ quorum queue), or why they are not known. */
export function formatReplicas(queueName: string, r: QueueReplicas): string {
  if ('unreadable' in r) return `queue ${queueName}: leader and members not readable (${r.unreadable})`;
  return `queue ${queueName}: leader ${r.leader}, members ${r.members.join(', ')}`;
}

/** Drained: nothing pending and nothing known to be in progress. */
export function isDrained(s: QueueStatus): boolean {
  return s.pending === 0 && (s.inProgress ?? 0) === 0;
}

/**
 * The completion rate and ETA, as `status --watch` appends them once it has two reads:
 * `, 2.5 items/s, ETA 1m04s` (RabbitMQ: `taken/s`, items leaving the queue).
 */
export function formatRate(s: QueueStatus, rate: RateEstimate): string {
  if (rate.itemsPerSecond === undefined) return '';
  const unit = rateBasis(s) === 'finished' ? 'items/s' : 'taken/s';
  return `, ${Number(rate.itemsPerSecond.toPrecision(2))} ${unit}, ETA ${rate.etaSeconds === undefined ? 'unknown' : formatSeconds(rate.etaSeconds)}`;
}

/** `42s`, `3m05s`, `2h07m`. */
export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

export interface StatusContext {
  readonly reader: StatusReader;
  readonly queueName: string;
  /** Which broker `reader` reads, for `--json`. */
  readonly scheme: BrokerScheme;
  /** `Redis at host:port`, for messages. */
  readonly brokerName: string;
  readonly watch: boolean;
  /** One JSON object per read (`status.schema.json`), one line each. */
  readonly json: boolean;
  readonly signal: AbortSignal;
  readonly out: NodeJS.WriteStream;
}

/** The same on both brokers: a queue that was never seeded nor worked on is most likely a misspelt name. */
export function unknownQueue(queueName: string): CliError {
  return new CliError(
    describeProblem(Env.queue, queueName, 'an existing queue; seed it or start a worker first'),
    ExitCode.failed,
  );
}

/**
 * One read (one line, or one JSON object), or with `watch` a read every 500 ms until the queue is
 * drained: a redrawn row on a terminal, else a line per change. The rate and ETA need two reads,
 * so a one-shot status has none (its JSON says null) and answers after a single round trip.
 */
export async function status(context: StatusContext): Promise<void> {
  const { reader, queueName, brokerName, watch, json, signal, out } = context;
  let s = await reader.status();
  if (!s) throw unknownQueue(queueName);
  const replicas = s.replicas;
  if (!json && s.note) out.write(`note: ${s.note}\n`);
  if (!json && replicas) out.write(`${formatReplicas(queueName, replicas)}\n`);
  const rate = new CompletionRate();
  const redrawn = watch && !json && out.isTTY;
  const sawMarker = s.seed !== undefined;
  let lastCounts = '';
  let lastWrittenMs = -Infinity;
  try {
    for (;;) {
      const sampledAt = new Date();
      const nowMs = performance.now();
      const estimate = rate.add(progressSample(s, nowMs));
      const counts = formatStatus(queueName, s);
      if (redrawn) out.write(`\r\x1b[K${redraw(queueName, s, out.columns, formatRate(s, estimate))}`);
      else if (counts !== lastCounts || nowMs - lastWrittenMs >= UNCHANGED_LINE_MS) {
        const report =
          json && statusReport({ queueName, scheme: context.scheme, status: s, replicas, rate: estimate, sampledAt });
        out.write(`${report ? JSON.stringify(report) : counts + formatRate(s, estimate)}\n`);
        lastCounts = counts;
        lastWrittenMs = nowMs;
      }
      if (!watch || isDrained(s) || !(await sleep(WATCH_INTERVAL_MS, signal))) break;
      const next = await reader.status();
      if (!next) throw queueDataLost(queueName, brokerName, 'the queue, seen before, is gone');
      if (sawMarker && !next.seed) throw queueDataLost(queueName, brokerName, 'its seed marker, seen before, is gone');
      s = next;
    }
  } finally {
    if (redrawn) out.write('\n');
  }
}

/**
 * The progress bar and the counts (and the rate, as `formatRate` words it), fitted into one row of
 * a terminal `columns` wide: the bar narrows, then the queue's name goes (the watcher knows it),
 * then the rate, then the bar, then the counts are cut. A row that overflowed would wrap, and `\r`
 * only returns to the start of its last part, so every redraw would leave a line behind.
 */
export function redraw(queueName: string, s: QueueStatus, columns: number | undefined, rate = ''): string {
  // The last column stays free: some terminals wrap as soon as it is written.
  const room = columns && columns > 1 ? columns - 1 : Infinity;
  const counts = formatCounts(s);
  for (const text of [formatStatus(queueName, s) + rate, counts + rate, counts]) {
    const barWidth = Math.min(BAR_WIDTH, room - text.length - 3);
    if (barWidth >= MIN_BAR_WIDTH) return `${bar(s, barWidth)} ${text}`;
  }
  return counts.length <= room ? counts : `${counts.slice(0, room - 1)}…`;
}

function bar(s: QueueStatus, width: number): string {
  const finished = (s.done ?? s.taken ?? 0) + s.dead;
  const all = finished + s.pending + (s.inProgress ?? 0);
  const filled = all === 0 ? width : Math.round((finished / all) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}
