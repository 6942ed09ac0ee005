/**
 * A fault run of the worker CLI against real brokers, for the figures a change to the worker's
 * failure handling should report (not part of `npm test`: it takes minutes):
 *
 *   npx ts-node --transpile-only test/worker/fault-run.ts [redis|amqp]...
 *
 * Redis: 2,000 items, 3 drain workers kept running as a Job with parallelism 3 would (a killed
 * worker is replaced), 20 worker SIGKILLs and 3 SIGKILLs of the test's own redis-server (append-
 * only file, restarted 2 s later). RabbitMQ: 300 items seeded while the seeder's connection is
 * closed once, then single workers 3 at a time, with 20 SIGKILLs and 10 connections closed by the
 * broker (rabbitmqctl close_connection). Prints what was lost and what was done twice.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { queueKeys } from '../../worker/contract';
import { AMQP_URL, type CliProcess, amqpCount, connectAmqp, deleteAmqpQueue, processed, runCli, startCli, tempDir, uniqueQueue } from './helpers';
import { OwnRedis } from './own-redis';
import { closeConnectionOf } from './rabbitmq-connections';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)];
const STACK_LINE = /^\s+at /m;

interface Figures {
  [name: string]: number | string;
}

/** Keeps `parallelism` workers running until they exit 0, replacing failed ones, as a Job does. */
class Job {
  readonly finished: { code: number | null; signal: string | null; stdout: string; stderr: string }[] = [];
  readonly running = new Set<CliProcess>();
  private done = false;

  constructor(
    private readonly env: Record<string, string>,
    private readonly parallelism: number,
    /** Whether a worker that exited 0 means the work is over (drain) or just one item (single). */
    private readonly exitZeroEnds: boolean,
    private readonly more: () => Promise<boolean>,
  ) {}

  async run(): Promise<void> {
    for (;;) {
      while (!this.done && this.running.size < this.parallelism) this.start();
      if (this.running.size === 0) return;
      await Promise.race([...this.running].map((w) => w.exited));
      await sleep(10);
    }
  }

  private start(): void {
    const worker = startCli(['work'], this.env);
    this.running.add(worker);
    void worker.exited.then(async (result) => {
      this.running.delete(worker);
      this.finished.push(result);
      if (result.code === 0 && (this.exitZeroEnds || !(await this.more()))) this.done = true;
    });
  }
}

async function redisRun(): Promise<Figures> {
  const server = await OwnRedis.start({ persistent: true });
  const queue = uniqueQueue('fault-redis');
  const items = Array.from({ length: 2000 }, (_, i) => `item-${i}`);
  const env = { BROKER_URL: server.url, QUEUE: queue };
  const files = tempDir();
  const seeded = await runCli(['seed'], { ...env, ITEMS_FILE: files.file('items.json', JSON.stringify(items)) });
  if (seeded.code !== 0) throw new Error(`seed failed: ${seeded.stderr}`);

  const job = new Job({ ...env, WORKER_MODE: 'drain', WORK_SECONDS: '0.02', LEASE_SECONDS: '2' }, 3, true, async () => false);
  const running = job.run();
  let kills = 0;
  let restarts = 0;
  for (let step = 0; step < 23; step++) {
    await sleep(500);
    if (step % 8 === 4) {
      await server.kill();
      await sleep(2000);
      await server.restart();
      restarts++;
    } else if (job.running.size > 0) {
      pick([...job.running]).kill('SIGKILL');
      kills++;
    }
  }
  await running;

  const client = await server.client();
  const keys = queueKeys(queue);
  const left = { pending: await client.lLen(keys.pending), leased: await client.zCard(keys.leases), dead: await client.lLen(keys.dead) };
  const done = Number(await client.get(keys.done));
  await client.close();
  await server.stop();
  files.remove();
  return summary('Redis', items, job.finished, { restarts, 'worker SIGKILLs': kills, 'done counter': done, ...left });
}

async function amqpRun(): Promise<Figures> {
  const queue = uniqueQueue('fault-amqp');
  const items = Array.from({ length: 300 }, (_, i) => `item-${i}`);
  const env = { BROKER_URL: AMQP_URL, QUEUE: queue };
  const files = tempDir();
  const seeder = startCli(['seed'], { ...env, ITEMS_FILE: files.file('items.json', JSON.stringify(items)) });
  await closeConnectionOf(seeder.child.pid!);
  const seeded = await seeder.exited;
  if (seeded.code !== 0) throw new Error(`seed failed: ${seeded.stderr}`);

  const amqp = await connectAmqp();
  const job = new Job({ ...env, WORKER_MODE: 'single', WORK_SECONDS: '0.3' }, 3, false, async () => (await amqpCount(amqp, queue)) > 0);
  const running = job.run();
  let kills = 0;
  let closes = 0;
  for (let step = 0; step < 30; step++) {
    await sleep(400);
    const victims = [...job.running];
    if (victims.length === 0) break;
    if (step % 3 === 2) {
      await closeConnectionOf(pick(victims).child.pid!, 5000).then(() => closes++, () => undefined);
    } else {
      pick(victims).kill('SIGKILL');
      kills++;
    }
  }
  await running;
  // Single workers exit 0 on an empty queue; anything still there (requeued) is taken now.
  for (let rest = await amqpCount(amqp, queue); rest > 0; rest = await amqpCount(amqp, queue)) {
    job.finished.push(await runCli(['work'], { ...env, WORK_SECONDS: '0' }));
  }
  const left = { pending: await amqpCount(amqp, queue), dead: await amqpCount(amqp, `${queue}.dead`) };
  await deleteAmqpQueue(amqp, queue);
  await amqp.close();
  files.remove();
  return summary('RabbitMQ', items, job.finished, { 'seeder connections closed': 1, 'worker SIGKILLs': kills, 'worker connections closed': closes, ...left });
}

function summary(broker: string, items: string[], runs: Job['finished'], extra: Figures): Figures {
  // An item counts as done by a worker that exited 0 after printing it (single), or by any
  // worker that printed it and was not killed before completing its batch (drain: the done
  // counter says how many completions Redis recorded).
  const started = runs.flatMap((r) => processed(r.stdout));
  const finishedItems = runs.filter((r) => r.code === 0).flatMap((r) => processed(r.stdout));
  const startedOnce = new Set(started);
  const codes: Record<string, number> = {};
  for (const r of runs) codes[r.signal ?? String(r.code)] = (codes[r.signal ?? String(r.code)] ?? 0) + 1;
  return {
    broker,
    items: items.length,
    ...extra,
    'never processed (lost)': items.filter((item) => !startedOnce.has(item)).length,
    'started more than once': started.length - startedOnce.size,
    'completed twice by workers that exited 0': finishedItems.length - new Set(finishedItems).size,
    'worker exits': JSON.stringify(codes),
    'stack traces': runs.filter((r) => STACK_LINE.test(r.stderr)).length,
  };
}

async function main(): Promise<void> {
  if (!process.env.WORK_QUEUE_TEST_CLI) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    process.env.WORK_QUEUE_TEST_CLI = await require('../../worker/build').buildWorker(mkdtempSync(path.join(tmpdir(), 'work-queue-fault-run-')));
  }
  const which = process.argv.slice(2);
  for (const run of which.length ? which : ['redis', 'amqp']) {
    const figures = run === 'redis' ? await redisRun() : await amqpRun();
    for (const [name, value] of Object.entries(figures)) console.log(`${name.padEnd(42)} ${value}`);
    console.log('');
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
