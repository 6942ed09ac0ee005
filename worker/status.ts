import type { QueueStatus, WorkQueue } from './queue';
import { sleep } from './sleep';

const WATCH_INTERVAL_MS = 500;
const BAR_WIDTH = 30;

/** One line of counts; what the broker cannot tell is left out, never guessed. */
export function formatStatus(queueName: string, s: QueueStatus): string {
  const parts = [`pending ${s.pending}`];
  if (s.inProgress !== undefined) parts.push(`in progress ${s.inProgress}`);
  if (s.done !== undefined) parts.push(`done ${s.done}`);
  if (s.inProgress === undefined && s.done === undefined) parts.push(`in progress or done ${s.taken ?? 'unknown'}`);
  parts.push(`dead ${s.dead}`);
  const seeded = s.seeded !== undefined ? ` (seeded ${s.seeded}${s.seed && s.seed.pushed < s.seed.total ? `, seeding ${s.seed.pushed}/${s.seed.total}` : ''})` : '';
  return `queue ${queueName}: ${parts.join(', ')}${seeded}`;
}

/** Drained: nothing pending and nothing known to be in progress. */
export function isDrained(s: QueueStatus): boolean {
  return s.pending === 0 && (s.inProgress ?? 0) === 0;
}

export interface StatusContext {
  readonly queue: WorkQueue;
  readonly queueName: string;
  readonly watch: boolean;
  readonly signal: AbortSignal;
  readonly out: NodeJS.WriteStream;
}

export async function status({ queue, queueName, watch, signal, out }: StatusContext): Promise<void> {
  let s = await queue.status();
  if (s.note) out.write(`note: ${s.note}\n`);
  if (!watch) {
    out.write(`${formatStatus(queueName, s)}\n`);
    return;
  }
  const tty = out.isTTY === true;
  let last = '';
  for (;;) {
    const line = formatStatus(queueName, s);
    if (tty) out.write(`\r\x1b[K${bar(s)} ${line}`);
    else if (line !== last) out.write(`${line}\n`);
    last = line;
    if (isDrained(s) || !(await sleep(WATCH_INTERVAL_MS, signal))) break;
    s = await queue.status();
  }
  if (tty) out.write('\n');
}

function bar(s: QueueStatus): string {
  const finished = (s.done ?? s.taken ?? 0) + s.dead;
  const all = finished + s.pending + (s.inProgress ?? 0);
  const filled = all === 0 ? BAR_WIDTH : Math.round((finished / all) * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}]`;
}
