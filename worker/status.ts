import { Env, ExitCode, describeProblem } from './contract';
import { CliError, queueDataLost } from './errors';
import type { QueueReplicas, QueueStatus, StatusReader } from './queue';
import { sleep } from './sleep';

const WATCH_INTERVAL_MS = 500;
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
    s.seeded !== undefined ? ` (seeded ${s.seeded}${s.seed && s.seed.pushed < s.seed.total ? `, seeding ${s.seed.pushed}/${s.seed.total}` : ''})` : '';
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

export interface StatusContext {
  readonly reader: StatusReader;
  readonly queueName: string;
  /** `Redis at host:port`, for messages. */
  readonly brokerName: string;
  readonly watch: boolean;
  readonly signal: AbortSignal;
  readonly out: NodeJS.WriteStream;
}

/** The same on both brokers: a queue that was never seeded nor worked on is most likely a misspelt name. */
export function unknownQueue(queueName: string): CliError {
  return new CliError(describeProblem(Env.queue, queueName, 'an existing queue; seed it or start a worker first'), ExitCode.failed);
}

export async function status({ reader, queueName, brokerName, watch, signal, out }: StatusContext): Promise<void> {
  let s = await reader.status();
  if (!s) throw unknownQueue(queueName);
  if (s.note) out.write(`note: ${s.note}\n`);
  if (s.replicas) out.write(`${formatReplicas(queueName, s.replicas)}\n`);
  if (!watch) {
    out.write(`${formatStatus(queueName, s)}\n`);
    return;
  }
  const tty = out.isTTY === true;
  const sawMarker = s.seed !== undefined;
  let last = '';
  try {
    for (;;) {
      const line = formatStatus(queueName, s);
      if (tty) out.write(`\r\x1b[K${redraw(queueName, s, out.columns)}`);
      else if (line !== last) out.write(`${line}\n`);
      last = line;
      if (isDrained(s) || !(await sleep(WATCH_INTERVAL_MS, signal))) break;
      const next = await reader.status();
      if (!next) throw queueDataLost(queueName, brokerName, 'the queue, seen before, is gone');
      if (sawMarker && !next.seed) throw queueDataLost(queueName, brokerName, 'its seed marker, seen before, is gone');
      s = next;
    }
  } finally {
    if (tty) out.write('\n');
  }
}

/**
 * The progress bar and the counts, fitted into one row of a terminal `columns` wide: the bar
 * narrows, then the queue's name goes (the watcher knows it), then the bar, then the counts are
 * cut. A row that overflowed would wrap, and `\r` only returns to the start of its last part, so
 * every redraw would leave a line behind.
 */
export function redraw(queueName: string, s: QueueStatus, columns: number | undefined): string {
  // The last column stays free: some terminals wrap as soon as it is written.
  const room = columns && columns > 1 ? columns - 1 : Infinity;
  const counts = formatCounts(s);
  for (const text of [formatStatus(queueName, s), counts]) {
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
