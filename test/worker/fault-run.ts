/**
 * A fault run of the worker CLI against real brokers, for the figures a change to the worker's
 * failure handling should report (not part of `npm test`: it takes minutes):
 *
 *   npx ts-node --transpile-only test/worker/fault-run.ts [redis|amqp]...
 *
 * Redis: 2,000 items, 3 drain workers kept running as a Job with parallelism 3 would (a killed
 * worker is replaced), 20 worker SIGKILLs and 3 SIGKILLs of the test's own redis-server (append-
 * only file, restarted 2 s later). RabbitMQ: 20,000 items seeded while the seeder's connection is
 * closed once; then 90 items for single workers (3 s each) 3 at a time, with 20 SIGKILLs and 10 connections
 * closed by the broker (rabbitmqctl close_connection). Prints what was lost and what was done twice.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { queueKeys } from '../../contract';
import {
  AMQP_URL,
  type CliProcess,
  amqpCount,
  amqpTakeAll,
  connectAmqp,
  deleteAmqpQueue,
  processed,
  runCli,
  startCli,
  tempDir,
  uniqueQueue,
} from './helpers';
import { OwnRedis } from './own-redis';
import { closeConnectionOf, closeOneConnectionOf } from './rabbitmq-connections';

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

  const job = new Job({ ...env, WORKER_MODE: 'drain', WORK_SECONDS: '0.02', LEASE_SECONDS: '2' }, 3, true, () =>
    Promise.resolve(false),
  );
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
  const left = {
    pending: await client.lLen(keys.pending),
    leased: await client.zCard(keys.leases),
    dead: await client.lLen(keys.dead),
  };
  const done = Number(await client.get(keys.done));
  await client.close();
  await server.stop();
  files.remove();
  return summary('Redis', items, job.finished, { restarts, 'worker SIGKILLs': kills, 'done counter': done, ...left });
}

async function amqpRun(): Promise<Figures> {
  const amqp = await connectAmqp();
  const files = tempDir();

  // The seeder's connection closed mid-seed: it must still leave exactly the items, in order.
  const seedQueue = uniqueQueue('fault-amqp-seed');
  const seedItems = Array.from({ length: 20_000 }, (_, i) => `seed-${i}`);
  const seeder = startCli(['seed'], {
    BROKER_URL: AMQP_URL,
    QUEUE: seedQueue,
    ITEMS_FILE: files.file('seed.json', JSON.stringify(seedItems)),
  });
  await closeConnectionOf(seeder.child.pid!);
  const seededRun = await seeder.exited;
  if (seededRun.code !== 0) throw new Error(`seed failed: ${seededRun.stderr}`);
  const onQueue = await amqpTakeAll(amqp, seedQueue);
  const seedExact = onQueue.length === seedItems.length && onQueue.every((item, i) => item === seedItems[i]);
  await deleteAmqpQueue(amqp, seedQueue);

  const queue = uniqueQueue('fault-amqp');
  const items = Array.from({ length: 90 }, (_, i) => `item-${i}`);
  const env = { BROKER_URL: AMQP_URL, QUEUE: queue };
  const seeded = await runCli(['seed'], { ...env, ITEMS_FILE: files.file('items.json', JSON.stringify(items)) });
  if (seeded.code !== 0) throw new Error(`seed failed: ${seeded.stderr}`);

  const job = new Job(
    { ...env, WORKER_MODE: 'single', WORK_SECONDS: '3' },
    3,
    false,
    async () => (await amqpCount(amqp, queue)) > 0,
  );
  const running = job.run();
  let kills = 0;
  let closes = 0;
  while (kills < 20 || closes < 10) {
    await sleep(1000);
    const victims = [...job.running];
    if (victims.length === 0) break;
    if (closes < 10 && (kills >= 20 || (kills + closes) % 3 === 2)) {
      // The newest worker: its item still has a while to run when the close lands (rabbitmqctl is slow).
      if ((await closeOneConnectionOf(victims.reverse().map((v) => v.child.pid!))) !== undefined) closes++;
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
  return summary('RabbitMQ', items, job.finished, {
    'seeder connections closed': `1 (20,000 items, ${seedExact ? 'exactly the items, in order' : 'NOT the items'})`,
    'worker SIGKILLs': kills,
    'worker connections closed': closes,
    ...left,
  });
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
    'processed by two workers that exited 0': finishedItems.length - new Set(finishedItems).size,
    'reported "processed but not completed"': runs.reduce(
      (n, r) => n + (r.stderr.match(/was processed but not completed/g)?.length ?? 0),
      0,
    ),
    'worker exits': JSON.stringify(codes),
    'runs that reconnected': runs.filter((r) => /reconnected to /.test(r.stderr)).length,
    'stack traces': runs.filter((r) => STACK_LINE.test(r.stderr)).length,
  };
}

async function main(): Promise<void> {
  if (!process.env.WORK_QUEUE_TEST_CLI) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- worker/build.js is a CommonJS script without types, and only needed when no CLI is given
    process.env.WORK_QUEUE_TEST_CLI = await require('../../worker/build').buildWorker(
      mkdtempSync(path.join(tmpdir(), 'work-queue-fault-run-')),
    );
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
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
