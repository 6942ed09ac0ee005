import { SEED_WINDOW } from '../../worker/amqp/seeder';
import { ExitCode, queueKeys } from '../../contract';
import { useBrokers } from './broker-fixture';
import { type RunResult, amqpCount, amqpEnv, redisEnv, runCli, startCli, tempDir } from './helpers';
import { closeOneConnectionOf } from './rabbitmq-connections';

/** What one seeder's output says: items it added, and the seed's other items, before it began and while it ran. */
interface Summary {
  readonly total: number;
  readonly added: number;
  readonly before: number;
  readonly during: number;
}

/** Reads the summary line (or "nothing added"), and checks that its numbers add up to the seed's total. */
function summary(result: RunResult): Summary {
  expect(result.code).toBe(ExitCode.ok);
  const nothing = /already holds this seed \((\d+) items,.*: nothing added$/m.exec(result.stdout);
  if (nothing) return { total: Number(nothing[1]), added: 0, before: Number(nothing[1]), during: 0 };
  const line = /^seeded (\d+) items onto queue .*, (\d+) in this seed \([^)]*\)(.*)$/m.exec(result.stdout);
  if (!line) throw new Error(`no summary line in:\n${result.stdout}`);
  const [, added, total, rest] = line;
  const others =
    /^; the other (\d+) were added by other runs: (\d+) before this one began, (\d+) while it went on$/.exec(rest) ??
    /^; the other (\d+) were on the queue when this run began()()$/.exec(rest) ??
    /^; another seeder added the other (\d+) while this run went on()()$/.exec(rest);
  let before = 0;
  let during = 0;
  if (rest !== '') {
    if (!others) throw new Error(`unexpected summary: ${line[0]}`);
    if (others[2] !== '') [before, during] = [Number(others[2]), Number(others[3])];
    else if (rest.includes('when this run began')) before = Number(others[1]);
    else during = Number(others[1]);
    expect(before + during).toBe(Number(others[1]));
  }
  const resumed =
    /^resuming seed [0-9a-f]+ at item (\d+) of (\d+): its first (\d+) are on the queue already, from an earlier or a concurrent run$/m.exec(
      result.stdout,
    );
  expect(resumed ? Number(resumed[3]) : 0).toBe(before);
  const parsed = { total: Number(total), added: Number(added), before, during };
  expect(parsed.added + parsed.before + parsed.during).toBe(parsed.total);
  return parsed;
}

describe('two seeders of one list started together print summaries that add up', () => {
  const brokers = useBrokers('redis', 'amqp');
  const files = tempDir();

  afterAll(() => files.remove());

  function itemsFile(queue: string, count: number): { items: string[]; file: string } {
    const items = Array.from({ length: count }, (_, i) => `item-${i}`);
    return { items, file: files.file(`${queue}.json`, JSON.stringify(items)) };
  }

  test('on Redis: each summary adds up to the total, the two add up to it, and the queue holds the list once', async () => {
    for (let round = 0; round < 3; round++) {
      const queue = brokers.queue('concurrent-seed', 'redis');
      const { items, file } = itemsFile(queue, 100_000);
      const env = redisEnv(queue, { ITEMS_FILE: file });
      const [first, second] = (await Promise.all([runCli(['seed'], env), runCli(['seed'], env)])).map(summary);
      expect(first.total).toBe(items.length);
      expect(second.total).toBe(items.length);
      expect(first.added + second.added).toBe(items.length);
      expect(await brokers.redis.lRange(queueKeys(queue).pending, 0, -1)).toEqual(items);
    }
  });

  test('on RabbitMQ: each summary adds up to the total, the two add up to it, and the queue holds the list once', async () => {
    const queue = brokers.queue('concurrent-seed', 'amqp');
    const { items, file } = itemsFile(queue, 20_000);
    const env = amqpEnv(queue, { ITEMS_FILE: file });
    const [first, second] = (await Promise.all([runCli(['seed'], env), runCli(['seed'], env)])).map(summary);
    expect(first.added + second.added).toBe(items.length);
    expect(await amqpCount(brokers.amqp, queue)).toBe(items.length);
  });

  test('on RabbitMQ: a seeder that lost its connection while the other took over says what it added, and what the other did meanwhile', async () => {
    const queue = brokers.queue('concurrent-seed', 'amqp');
    const { items, file } = itemsFile(queue, 40_000);
    const env = amqpEnv(queue, { ITEMS_FILE: file });
    const first = startCli(['seed'], env);
    await first.waitFor(/^seeding \d+\/\d+ items/m);
    const second = startCli(['seed'], env);
    await second.waitFor(/waiting for another seeder to finish/);
    // The first is stopped while the broker closes its connection (which frees the seed lock), and
    // until the second has taken the lock over, so that it cannot take it back first.
    process.kill(first.child.pid!, 'SIGSTOP');
    try {
      expect(await closeOneConnectionOf([first.child.pid!])).toBe(first.child.pid);
      await second.waitFor(/^resuming seed/m);
    } finally {
      process.kill(first.child.pid!, 'SIGCONT');
    }
    const [one, two] = [summary(await first.exited), summary(await second.exited)];
    expect(one.added).toBeGreaterThan(0);
    expect(one.during).toBeGreaterThan(0);
    expect(two.before).toBeGreaterThan(0);
    // What the first had confirmed but not yet marked, the second published again: both count it.
    expect(one.added + two.added).toBeGreaterThanOrEqual(items.length);
    expect(one.added + two.added).toBeLessThanOrEqual(items.length + SEED_WINDOW);
    expect(await amqpCount(brokers.amqp, queue)).toBeGreaterThanOrEqual(items.length);
  });
});
