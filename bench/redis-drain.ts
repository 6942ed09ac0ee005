import { queueKeys } from '../contract';
import { expectListLength, freshQueue, withRedis } from './brokers';
import { secondsSince, timed } from './measure';
import { items, itemsFile } from './scratch';
import { workQueue } from './worker-cli';

/** What one drain by two workers took. */
export interface DrainRun {
  /** Items per second from spawning both workers until both exited. */
  readonly wholeRate: number;
  /** Items per second while 10 % to 90 % of the items went through: start-up and tail left out. */
  readonly steadyRate: number;
}

const WORKERS = 2;
const itemFiles = new Map<number, string>();

/** Seeds a fresh queue with `count` items (not timed); returns its name. */
export async function seedDrainQueue(url: string, count: number): Promise<string> {
  let file = itemFiles.get(count);
  if (file === undefined) {
    file = itemsFile(items(count));
    itemFiles.set(count, file);
  }
  const queue = freshQueue(`drain-${count}`);
  await workQueue(['seed'], { BROKER_URL: url, QUEUE: queue, ITEMS_FILE: file });
  await withRedis((client) => expectListLength(client, queue, count), url);
  return queue;
}

/**
 * Two `WORKER_MODE=drain` workers without simulated work, as whole processes, on a seeded queue.
 * Checks that every item was processed exactly once and that nothing is left pending, leased or
 * dead. The steady rate comes from the workers' output timed as it arrives: the built-in handler
 * prints one `Processing <item>` line per item.
 */
export async function drainWithTwoWorkers(url: string, queue: string, count: number): Promise<DrainRun> {
  const env = { BROKER_URL: url, QUEUE: queue, WORKER_MODE: 'drain', WORK_SECONDS: '0' };
  const progress = new SteadyRate(count);
  const started = process.hrtime.bigint();
  const runs = await Promise.all(
    Array.from({ length: WORKERS }, () => workQueue(['work'], env, { onStdout: (chunk) => progress.add(chunk) })),
  );
  const wholeRate = count / secondsSince(started);
  const processed = runs.flatMap((run) => run.stdout.split('\n').filter((line) => line.startsWith('Processing ')));
  if (processed.length !== count || new Set(processed).size !== count) {
    throw new Error(
      `the workers processed ${processed.length} items (${new Set(processed).size} distinct) of the ${count} on ${queue}`,
    );
  }
  await withRedis(async (client) => {
    const { pending, processing, leases, dead } = queueKeys(queue);
    const left = await client.exists([pending, processing, leases, dead]);
    if (left !== 0)
      throw new Error(`the drain of ${queue} left ${left} of its pending, processing, leases and dead keys behind`);
  }, url);
  return { wholeRate, steadyRate: progress.rate() };
}

/** Items per second between the arrival of the 10 % and the 90 % mark of the output lines. */
class SteadyRate {
  private lines = 0;
  private from?: bigint;
  private to?: bigint;

  constructor(private readonly count: number) {}

  add(chunk: string): void {
    for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) this.lines++;
    const now = process.hrtime.bigint();
    if (this.from === undefined && this.lines >= this.count * 0.1) this.from = now;
    if (this.to === undefined && this.lines >= this.count * 0.9) this.to = now;
  }

  rate(): number {
    if (this.from === undefined || this.to === undefined || this.to === this.from)
      throw new Error('the workers printed too few lines to time the steady state');
    return (this.count * 0.8) / (Number(this.to - this.from) / 1e9);
  }
}

/** A fresh pair of lists for `redis-benchmark … LMOVE`, the source filled with `count` items (not timed). */
export async function fillLmoveSource(url: string, count: number): Promise<{ source: string; target: string }> {
  const tag = `{${freshQueue('lmove')}}`;
  const lists = { source: `${tag}:source`, target: `${tag}:target` };
  await withRedis(async (client) => {
    for (let i = 0; i < count; i += 5000) await client.rPush(lists.source, items(Math.min(5000, count - i), `x${i}`));
    await expectListLength(client, lists.source, count);
  }, url);
  return lists;
}

/**
 * `redis-benchmark -c 2 -n <count> LMOVE`: one round trip per item from two connections, the
 * rate Redis itself serves the simplest move at. Checks that every item moved.
 */
export async function lmoveBenchmark(
  url: string,
  lists: { source: string; target: string },
  count: number,
): Promise<number> {
  const { stdout } = await timed('redis-benchmark', [
    '-u',
    url,
    '-c',
    String(WORKERS),
    '-n',
    String(count),
    '-q',
    'LMOVE',
    lists.source,
    lists.target,
    'LEFT',
    'RIGHT',
  ]);
  const match = /([\d.]+) requests per second/.exec(stdout);
  if (!match) throw new Error(`unexpected redis-benchmark output: ${stdout}`);
  await withRedis(async (client) => {
    await expectListLength(client, lists.source, 0);
    await expectListLength(client, lists.target, count);
  }, url);
  return Number(match[1]);
}

export function deleteLmoveLists(url: string, lists: { source: string; target: string }): Promise<void> {
  return withRedis(async (client) => {
    await client.del([lists.source, lists.target]);
  }, url);
}
