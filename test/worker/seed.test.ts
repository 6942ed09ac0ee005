import { SEED_WINDOW } from '../../worker/amqp/seeder';
import { ExitCode, queueKeys } from '../../contract';
import { type BrokerKind, useBrokers } from './broker-fixture';
import {
  amqpCount,
  amqpEnv,
  amqpTakeAll,
  deleteAmqpQueue,
  deleteRedisQueue,
  redisEnv,
  runCli,
  startCli,
  tempDir,
} from './helpers';
import { ItemsVolumes } from './indexed-fixture';
import { expectResumedInOrder } from './seed-window';

/** What each broker needs from a test: how to reach it and how to read a queue back. */
interface Broker {
  name: string;
  kind: BrokerKind;
  env: (queue: string, extra?: Record<string, string>) => Record<string, string>;
  /** Items on the queue, in order (removed from it). */
  takeAll: (queue: string) => Promise<string[]>;
  count: (queue: string) => Promise<number>;
  remove: (queue: string) => Promise<void>;
  /** Items in the list used for the crash test: large enough that a kill lands mid-way. */
  crashItems: number;
  /** Items in the list two seeders seed at once. */
  concurrentItems: number;
  /** Items a killed seed may leave on the queue twice (RabbitMQ: those not confirmed yet, see SEED_WINDOW). */
  resumeDuplicates: number;
}

const brokers = useBrokers('redis', 'amqp');
const files = tempDir();
const volumes = new ItemsVolumes();

afterAll(() => {
  files.remove();
  volumes.remove();
});

const BROKERS: Broker[] = [
  {
    name: 'Redis',
    kind: 'redis',
    env: redisEnv,
    takeAll: async (queue) => {
      const items = await brokers.redis.lRange(queueKeys(queue).pending, 0, -1);
      await brokers.redis.del(queueKeys(queue).pending);
      return items;
    },
    count: (queue) => brokers.redis.lLen(queueKeys(queue).pending),
    remove: (queue) => deleteRedisQueue(brokers.redis, queue),
    crashItems: 400_000,
    concurrentItems: 200_000,
    resumeDuplicates: 0,
  },
  {
    name: 'RabbitMQ',
    kind: 'amqp',
    env: amqpEnv,
    takeAll: (queue) => amqpTakeAll(brokers.amqp, queue),
    count: (queue) => amqpCount(brokers.amqp, queue),
    remove: (queue) => deleteAmqpQueue(brokers.amqp, queue),
    crashItems: 20_000,
    concurrentItems: 5_000,
    resumeDuplicates: SEED_WINDOW,
  },
];

describe.each(BROKERS)('seed into $name', (broker) => {
  const newQueue = () => brokers.queue(`seed-${broker.name.toLowerCase()}`, broker.kind);

  test('a second run adds nothing; duplicates are distinct items', async () => {
    const queue = newQueue();
    const items = ['apple', 'banana', 'apple', 'cherry'];
    const file = files.file(`${queue}.json`, JSON.stringify(items));
    const first = await runCli(['seed'], broker.env(queue, { ITEMS_FILE: file }));
    expect(first.code).toBe(ExitCode.ok);
    expect(first.stdout).toMatch(/seeded 4 items onto queue .* items\/s/);
    const second = await runCli(['seed'], broker.env(queue, { ITEMS_FILE: file }));
    expect(second.code).toBe(ExitCode.ok);
    expect(second.stdout).toMatch(/already holds this seed \(4 items, seed [0-9a-f]+\): nothing added/);
    expect(await broker.takeAll(queue)).toEqual(items);
  });

  test('items from ITEMS_DIRECTORY, split over files as the seeding Job mounts its ConfigMaps: seeded in order, once', async () => {
    const queue = newQueue();
    const directory = volumes.volume({ 0: ['apple', 'banana'], 2: ['apple'], 3: ['cherry'] });
    const first = await runCli(['seed'], broker.env(queue, { ITEMS_DIRECTORY: directory }));
    expect(first.code).toBe(ExitCode.ok);
    expect(first.stdout).toMatch(/seeded 4 items onto queue/);
    // The same list from one file is the same seed: nothing is added.
    const again = await runCli(
      ['seed'],
      broker.env(queue, {
        ITEMS_FILE: files.file(`${queue}.json`, JSON.stringify(['apple', 'banana', 'apple', 'cherry'])),
      }),
    );
    expect(again.stdout).toMatch(/already holds this seed \(4 items/);
    expect(await broker.takeAll(queue)).toEqual(['apple', 'banana', 'apple', 'cherry']);
  });

  test('items given as arguments; --force seeds them again', async () => {
    const queue = newQueue();
    expect((await runCli(['seed', 'x', 'y'], broker.env(queue))).code).toBe(ExitCode.ok);
    expect((await runCli(['seed', 'x', 'y'], broker.env(queue))).code).toBe(ExitCode.ok);
    const forced = await runCli(['seed', '--force', 'x', 'y'], broker.env(queue));
    expect(forced.code).toBe(ExitCode.ok);
    expect(forced.stdout).toMatch(/seeded 2 items/);
    expect(await broker.takeAll(queue)).toEqual(['x', 'y', 'x', 'y']);
  });

  test('a new item list after a finished seed is a new seed', async () => {
    const queue = newQueue();
    expect((await runCli(['seed', 'a'], broker.env(queue))).code).toBe(ExitCode.ok);
    expect((await runCli(['seed', 'b', 'c'], broker.env(queue))).code).toBe(ExitCode.ok);
    const status = await runCli(['status'], broker.env(queue));
    expect(status.stdout).toMatch(/pending 3, .*\(seeded 3\)/);
    expect(await broker.takeAll(queue)).toEqual(['a', 'b', 'c']);
  });

  test('two seeders of the same list at once: the queue holds it once, and what each reports adding sums to it', async () => {
    const queue = newQueue();
    const items = Array.from({ length: broker.concurrentItems }, (_, i) => `item-${i}`);
    const env = broker.env(queue, { ITEMS_FILE: files.file(`${queue}.json`, JSON.stringify(items)) });
    const results = await Promise.all([runCli(['seed'], env), runCli(['seed'], env)]);
    for (const result of results) expect(result.code).toBe(ExitCode.ok);
    const added = results.map((r) =>
      Number(/^seeded (\d+) items/m.exec(r.stdout)?.[1] ?? (/nothing added/.test(r.stdout) ? 0 : NaN)),
    );
    expect(added[0] + added[1]).toBe(items.length);
    const onQueue = await broker.takeAll(queue);
    expect(onQueue.length).toBe(items.length);
    expect(onQueue).toEqual(items);
  });

  /**
   * A seed of `items` SIGKILLed at its first progress line (10% of the items). The rest takes
   * about a second: a test process held up longer than that (a loaded CI machine) sees the seed
   * finish first, and that run, which shows nothing, is done again on a new queue, up to three times.
   */
  async function seedKilledMidway(items: string[]): Promise<{ queue: string; env: Record<string, string> }> {
    for (let run = 1; ; run++) {
      const queue = newQueue();
      const env = broker.env(queue, { ITEMS_FILE: files.file(`${queue}.json`, JSON.stringify(items)) });
      const seeder = startCli(['seed'], env);
      await seeder.waitFor(/^seeding \d+\/\d+ items/m);
      seeder.kill('SIGKILL');
      const killed = await seeder.exited;
      if (killed.signal === 'SIGKILL' || run === 3) {
        expect(killed.signal).toBe('SIGKILL');
        return { queue, env };
      }
      expect(killed.code).toBe(ExitCode.ok);
      await broker.remove(queue);
    }
  }

  test('a run killed halfway is finished by the next run: every item, in order, at most the unconfirmed ones twice', async () => {
    const items = Array.from({ length: broker.crashItems }, (_, i) => `item-${i}`);
    const { queue, env } = await seedKilledMidway(items);
    const landed = await broker.count(queue);
    expect(landed).toBeGreaterThan(0);
    expect(landed).toBeLessThan(items.length); // the kill really landed mid-way

    // Another list cannot be mixed into the unfinished seed without --force.
    const other = await runCli(['seed', 'intruder'], broker.env(queue));
    expect(other.code).toBe(ExitCode.failed);
    expect(other.stderr).toMatch(/holds an unfinished seed of other items .*pass --force/);

    const rerun = await runCli(['seed'], env);
    expect(rerun.code).toBe(ExitCode.ok);
    const resumedAt = Number(/resuming seed [0-9a-f]+ at item (\d+) of \d+/.exec(rerun.stdout)?.[1]) - 1;
    expect(resumedAt).toBeGreaterThan(0);
    expect((await runCli(['seed'], env)).stdout).toMatch(/nothing added/);
    const twice = expectResumedInOrder(await broker.takeAll(queue), items, broker.resumeDuplicates, resumedAt);
    console.log(
      `${broker.name}: seed of ${items.length} killed, resumed at ${resumedAt}: ${twice} items on the queue twice`,
    );
  });
});

describe('seed into RabbitMQ, a queue seeded by an earlier work-queue', () => {
  test('fails on a classic seed marker queue, saying how to go on', async () => {
    const queue = brokers.queue('seed-old-marker', 'amqp');
    const channel = await brokers.amqp.createChannel();
    try {
      await channel.assertQueue(`${queue}.seed`, {
        durable: true,
        arguments: { 'x-queue-type': 'classic', 'x-max-length': 1, 'x-overflow': 'drop-head' },
      });
      const result = await runCli(['seed', 'a'], amqpEnv(queue));
      expect(result.code).toBe(ExitCode.failed);
      expect(result.stderr.trim()).toMatch(
        new RegExp(
          `^work-queue: QUEUE: got "${queue}", expected .*; ${queue}\\.seed is the seed marker of an earlier work-queue \\(a classic queue\\): delete it \\(rabbitmqctl delete_queue ${queue}\\.seed\\) once its seed is finished; the items on ${queue} stay, and the next seed starts afresh`,
        ),
      );
    } finally {
      await channel.close();
    }
  });
});
