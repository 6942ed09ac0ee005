import { publishMarker } from '../../worker/amqp/marker';
import { deadLetterQueueOptions, seedMarkerQueueOptions, workQueueOptions } from '../../worker/amqp/topology';
import { ExitCode, amqpQueueNames, queueKeys, seedId } from '../../contract';
import { type BrokerKind, useBrokers } from './broker-fixture';
import { amqpCount, amqpEnv, processed, redisEnv, runCli, sorted, startCli } from './helpers';

/** Workers that wait for their seed (SEED_ID, SEED_WAIT_SECONDS) and seeds run again (SEED_RUN), on both brokers. */

/** What each broker needs from these tests. */
interface Broker {
  name: string;
  kind: BrokerKind;
  env: (queue: string, extra?: Record<string, string>) => Record<string, string>;
  /** Puts items on the queue and then writes the marker, as a seeder part-way through its list does. */
  seedPart: (queue: string, part: { id: string; total: number; items: string[]; pushed: number }) => Promise<void>;
  /** Items on the queue, not taken. */
  count: (queue: string) => Promise<number>;
}

const brokers = useBrokers('redis', 'amqp');
/** Counts the AMQP markers written here, as a seeder counts its own. */
let markerSequence = 0;

const BROKERS: Broker[] = [
  {
    name: 'Redis',
    kind: 'redis',
    env: redisEnv,
    seedPart: async (queue, { id, total, items, pushed }) => {
      const keys = queueKeys(queue);
      if (items.length > 0) await brokers.redis.rPush(keys.pending, items);
      await brokers.redis.hSet(keys.seed, { id, total: String(total), pushed: String(pushed) });
    },
    count: (queue) => brokers.redis.lLen(queueKeys(queue).pending),
  },
  {
    name: 'RabbitMQ',
    kind: 'amqp',
    env: amqpEnv,
    seedPart: async (queue, { id, total, items, pushed }) => {
      const names = amqpQueueNames(queue);
      const channel = await brokers.amqp.createConfirmChannel();
      await channel.assertQueue(names.work, workQueueOptions(queue));
      await channel.assertQueue(names.dead, deadLetterQueueOptions);
      await channel.assertQueue(names.marker, seedMarkerQueueOptions);
      for (const item of items) channel.sendToQueue(names.work, Buffer.from(item), { persistent: true });
      await channel.waitForConfirms();
      await publishMarker(channel, names.marker, { id, total, pushed, seededBefore: 0, sequence: ++markerSequence });
      await channel.close();
    },
    count: (queue) => amqpCount(brokers.amqp, queue),
  },
];

/** The lines a run wrote to stderr. */
function lines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line !== '');
}

describe.each(BROKERS)('$name: a worker with SEED_ID', (broker) => {
  const newQueue = () => brokers.queue(`seed-wait-${broker.name.toLowerCase()}`, broker.kind);

  test('drain, started before its seeder: waits, then processes every item and exits 0', async () => {
    const queue = newQueue();
    const items = ['apple', 'banana', 'cherry', 'date', 'fig'];
    const env = broker.env(queue, {
      WORKER_MODE: 'drain',
      WORK_SECONDS: '0',
      SEED_ID: seedId(items),
      SEED_WAIT_SECONDS: '30',
    });
    const workers = [startCli(['work'], env), startCli(['work'], env)];
    await Promise.all(workers.map((worker) => worker.waitFor(/waiting up to 30 s for seed/)));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect((await runCli(['seed', ...items], broker.env(queue))).code).toBe(ExitCode.ok);
    const results = await Promise.all(workers.map((worker) => worker.exited));
    expect(results.map((result) => result.code)).toEqual([ExitCode.ok, ExitCode.ok]);
    expect(sorted(results.flatMap((result) => processed(result.stdout)))).toEqual(sorted(items));
    for (const result of results) {
      // One line when the wait began, none while it lasted. (Workers that create a RabbitMQ queue
      // together may also reconnect once: a get from a quorum queue not started yet closes the connection.)
      const waitLine = `work-queue: queue ${queue} is empty, showing no seed marker (no seed has begun): waiting up to 30 s for seed ${seedId(items)} to complete`;
      expect(lines(result.stderr).filter((line) => /waiting/.test(line))).toEqual([waitLine]);
      expect(lines(result.stderr).pop()).toMatch(/is drained: nothing pending or in progress/);
    }
  });

  test('single, started before its seeder: one item each; a worker left over exits 0 after the empty wait once the seed is complete', async () => {
    const queue = newQueue();
    const items = ['one', 'two'];
    const env = broker.env(queue, { WORK_SECONDS: '0', SEED_ID: seedId(items), SEED_WAIT_SECONDS: '30' });
    const workers = [startCli(['work'], env), startCli(['work'], env), startCli(['work'], env)];
    await Promise.all(workers.map((worker) => worker.waitFor(/waiting up to 30 s for seed/)));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await runCli(['seed', ...items], broker.env(queue))).code).toBe(ExitCode.ok);
    const results = await Promise.all(workers.map((worker) => worker.exited));
    expect(results.map((result) => result.code)).toEqual([ExitCode.ok, ExitCode.ok, ExitCode.ok]);
    expect(sorted(results.flatMap((result) => processed(result.stdout)))).toEqual(sorted(items));
    expect(results.filter((result) => /stayed empty for 3 s: nothing to do/.test(result.stderr))).toHaveLength(1);
  });

  test('a seed that never comes: exit 4 after SEED_WAIT_SECONDS with one line at each end of the wait, nothing taken', async () => {
    const queue = newQueue();
    const id = seedId(['never']);
    const started = Date.now();
    const results = await Promise.all(
      ['single', 'drain'].map((mode) =>
        runCli(['work'], broker.env(queue, { WORKER_MODE: mode, SEED_ID: id, SEED_WAIT_SECONDS: '2' })),
      ),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    for (const result of results) {
      expect(result.code).toBe(ExitCode.seedIncomplete);
      expect(result.stdout).toBe('');
      expect(lines(result.stderr)).toEqual([
        `work-queue: queue ${queue} is empty, showing no seed marker (no seed has begun): waiting up to 2 s for seed ${id} to complete`,
        `work-queue: queue ${queue} stayed empty for 2 s (SEED_WAIT_SECONDS) without seed ${id} complete, showing no seed marker (no seed has begun): giving up (exit 4)`,
      ]);
    }
  });

  test('a complete seed of other items on an empty queue: the worker waits for its own, it does not exit 0', async () => {
    const queue = newQueue();
    expect((await runCli(['seed', 'old'], broker.env(queue))).code).toBe(ExitCode.ok);
    const drained = await runCli(
      ['work'],
      broker.env(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '0', SEED_ID: seedId(['old']) }),
    );
    expect(drained.code).toBe(ExitCode.ok);
    expect(processed(drained.stdout)).toEqual(['old']);
    for (const mode of ['drain', 'single']) {
      const result = await runCli(
        ['work'],
        broker.env(queue, { WORKER_MODE: mode, SEED_ID: seedId(['new']), SEED_WAIT_SECONDS: '1' }),
      );
      expect(result.code).toBe(ExitCode.seedIncomplete);
      expect(result.stderr).toContain(
        `showing the seed marker of another seed, ${seedId(['old'])} (1 of 1 items): waiting up to 1 s for seed ${seedId(['new'])}`,
      );
      expect(result.stderr).not.toMatch(/drained|nothing to do/);
    }
  });

  test('a seed in progress: the drain takes what is there, waits for the rest, then exits 0 with every item processed', async () => {
    const queue = newQueue();
    const id = seedId(['a', 'b', 'c', 'd']);
    await broker.seedPart(queue, { id, total: 4, items: ['a', 'b'], pushed: 2 });
    const worker = startCli(
      ['work'],
      broker.env(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '0', SEED_ID: id, SEED_WAIT_SECONDS: '30' }),
    );
    await worker.waitFor(new RegExp(`showing its seed at 2 of 4 items: waiting up to 30 s for seed ${id}`));
    expect(processed(worker.stdout)).toEqual(['a', 'b']);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(worker.child.exitCode).toBeNull();
    await broker.seedPart(queue, { id, total: 4, items: ['c', 'd'], pushed: 4 });
    const result = await worker.exited;
    expect(result.code).toBe(ExitCode.ok);
    expect(processed(result.stdout)).toEqual(['a', 'b', 'c', 'd']);
    expect(result.stderr).toMatch(/is drained: nothing pending or in progress \(4 items processed here\)/);
  });

  test('SIGTERM while waiting exits 143 at once', async () => {
    const queue = newQueue();
    const worker = startCli(
      ['work'],
      broker.env(queue, { WORKER_MODE: 'drain', SEED_ID: seedId(['late']), SEED_WAIT_SECONDS: '60' }),
    );
    await worker.waitFor(/waiting up to 60 s for seed/);
    const stoppedAt = Date.now();
    worker.kill('SIGTERM');
    const result = await worker.exited;
    expect(result.code).toBe(ExitCode.interrupted);
    expect(Date.now() - stoppedAt).toBeLessThan(1500);
  });

  test('SEED_RUN: the same items under a new run label are a new seed, seeded again; that run again adds nothing; its workers drain both', async () => {
    const queue = newQueue();
    const items = ['x', 'y'];
    expect((await runCli(['seed', ...items], broker.env(queue))).code).toBe(ExitCode.ok);
    const again = await runCli(['seed', ...items], broker.env(queue, { SEED_RUN: 'rerun-1' }));
    expect(again.code).toBe(ExitCode.ok);
    expect(again.stdout).toMatch(
      new RegExp(`^seeded 2 items onto queue ${queue} .*\\(seed ${seedId(items, 'rerun-1')}, run "rerun-1"\\)$`, 'm'),
    );
    const repeated = await runCli(['seed', ...items], broker.env(queue, { SEED_RUN: 'rerun-1' }));
    expect(repeated.code).toBe(ExitCode.ok);
    expect(repeated.stdout).toMatch(/nothing added/);
    expect(await broker.count(queue)).toBe(4);
    const result = await runCli(
      ['work'],
      broker.env(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '0', SEED_ID: seedId(items, 'rerun-1') }),
    );
    expect(result.code).toBe(ExitCode.ok);
    expect(sorted(processed(result.stdout))).toEqual(['x', 'x', 'y', 'y']);
    expect(result.stderr).not.toMatch(/waiting/);
  });

  test('without SEED_ID an empty queue is done as today, whatever its marker shows', async () => {
    const queue = newQueue();
    await broker.seedPart(queue, { id: seedId(['p', 'q']), total: 2, items: [], pushed: 0 });
    const result = await runCli(['work'], broker.env(queue, { WORKER_MODE: 'drain' }));
    expect(result.code).toBe(ExitCode.ok);
    expect(lines(result.stderr)).toEqual([
      `work-queue: queue ${queue} is drained: nothing pending or in progress (0 items processed here)`,
    ]);
  });
});
