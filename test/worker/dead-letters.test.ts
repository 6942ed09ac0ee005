import { spawnSync } from 'node:child_process';
import { deadLetterQueueOptions, workQueueOptions } from '../../worker/amqp/topology';
import { DeadLetters, ExitCode, amqpQueueNames, queueKeys } from '../../contract';
import { useBrokers } from './broker-fixture';
import {
  type CliProcess,
  amqpCount,
  amqpEnv,
  amqpTakeAll,
  cliPath,
  deleteAmqpQueue,
  deleteRedisQueue,
  processed,
  redisEnv,
  runCli,
  sorted,
  startCli,
  uniqueQueue,
} from './helpers';

/** `work-queue dead list|redrive|purge` on both brokers, with items that real workers dead-lettered. */

interface Broker {
  name: string;
  env: (queue: string, extra?: Record<string, string>) => Record<string, string>;
  /** Items on the work queue, not taken. */
  pending: (queue: string) => Promise<string[]>;
  /** Items waiting on the work queue as a ScaledWorkQueueJob's KEDA trigger counts them (constructs/scaled-work-queue-job.ts). */
  scalerCount: (queue: string) => Promise<number>;
  /** Takes every item off the work queue. */
  takePending: (queue: string) => Promise<string[]>;
  deadCount: (queue: string) => Promise<number>;
  /** Puts items into dead without a record, as a hand would, in one round trip. */
  putDeadByHand: (queue: string, items: string[]) => Promise<void>;
  /** What must be left over after a redrive finished: nothing of its bookkeeping. */
  leftover: (queue: string) => Promise<number>;
  /** Deletes the queue and what a redrive made beside it (RabbitMQ: its exchange). */
  remove: (queue: string) => Promise<void>;
}

const brokers = useBrokers('redis', 'amqp');

const BROKERS: Broker[] = [
  {
    name: 'Redis',
    env: redisEnv,
    pending: (queue) => brokers.redis.lRange(queueKeys(queue).pending, 0, -1),
    // The redis trigger's listName is the queue: LLEN of the pending list.
    scalerCount: (queue) => brokers.redis.lLen(queueKeys(queue).pending),
    takePending: async (queue) => {
      const key = queueKeys(queue).pending;
      const [items] = (await brokers.redis.multi().lRange(key, 0, -1).del(key).exec()) as unknown as [string[]];
      return items;
    },
    deadCount: (queue) => brokers.redis.lLen(queueKeys(queue).dead),
    putDeadByHand: async (queue, items) => {
      await brokers.redis.rPush(queueKeys(queue).dead, items);
    },
    leftover: (queue) => brokers.redis.lLen(queueKeys(queue).deadRecords),
    remove: (queue) => deleteRedisQueue(brokers.redis, queue),
  },
  {
    name: 'RabbitMQ',
    env: amqpEnv,
    pending: async (queue) => {
      // Taken and put back, in order.
      const items = await amqpTakeAll(brokers.amqp, queue);
      const channel = await brokers.amqp.createConfirmChannel();
      for (const item of items) channel.sendToQueue(queue, Buffer.from(item), { persistent: true });
      await channel.waitForConfirms();
      await channel.close();
      return items;
    },
    // The rabbitmq trigger's QueueLength over AMQP: the ready messages of a passive queue.declare.
    scalerCount: (queue) => amqpCount(brokers.amqp, queue),
    takePending: (queue) => amqpTakeAll(brokers.amqp, queue),
    deadCount: (queue) => amqpCount(brokers.amqp, amqpQueueNames(queue).dead),
    putDeadByHand: async (queue, items) => {
      const channel = await brokers.amqp.createConfirmChannel();
      await channel.assertQueue(queue, workQueueOptions(queue));
      await channel.assertQueue(amqpQueueNames(queue).dead, deadLetterQueueOptions);
      for (const item of items)
        channel.sendToQueue(amqpQueueNames(queue).dead, Buffer.from(item), { persistent: true });
      await channel.waitForConfirms();
      await channel.close();
    },
    leftover: (queue) => amqpCount(brokers.amqp, amqpQueueNames(queue).redriveJournal),
    remove: async (queue) => {
      await deleteAmqpQueue(brokers.amqp, queue);
      const channel = await brokers.amqp.createChannel();
      await channel.deleteExchange(`${queue}.redrive`);
      await channel.close();
    },
  },
];

/** A command that fails every item but `ok`, with exit code 7. */
const FAIL_BUT_OK = 'read item; [ "$item" = ok ] || exit 7';

describe.each(BROKERS)('$name: work-queue dead', (broker) => {
  const queues: string[] = [];
  const newQueue = () => {
    const queue = uniqueQueue(`dead-${broker.name.toLowerCase()}`);
    queues.push(queue);
    return queue;
  };

  afterAll(async () => {
    for (const queue of queues) await broker.remove(queue);
  });

  /** Seeds the items and lets a draining worker fail them (all but `ok`) until they are dead. */
  async function deadLettered(queue: string, items: string[], maxAttempts: number): Promise<void> {
    expect((await runCli(['seed', ...items], broker.env(queue))).code).toBe(ExitCode.ok);
    const work = await runCli(
      ['work'],
      broker.env(queue, { WORKER_MODE: 'drain', MAX_ATTEMPTS: String(maxAttempts), WORK_COMMAND: FAIL_BUT_OK }),
    );
    expect(work.code).toBe(ExitCode.ok);
  }

  const dead = (queue: string, args: string[], extra: Record<string, string> = {}) =>
    runCli(['dead', ...args], broker.env(queue, extra));

  test('list shows each dead item with its attempts and last error, as text and as JSON; an item put there by hand has no record', async () => {
    const queue = newQueue();
    await deadLettered(queue, ['apple', 'ok', 'apple', 'pear'], 2);
    await broker.putDeadByHand(queue, ['by-hand']);
    const text = await dead(queue, ['list']);
    expect(text).toMatchObject({ code: ExitCode.ok, stderr: '' });
    const lines = text.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`${queue}.dead: 4 dead items`);
    const failed = '2 attempts, last error: WORK_COMMAND exited with code 7';
    expect(sorted(lines.slice(1))).toEqual(
      sorted([
        `"apple": ${failed}`,
        `"apple": ${failed}`,
        `"pear": ${failed}`,
        `"by-hand": attempts and last error not kept: ${DeadLetters.notKept.byHand}`,
      ]),
    );
    const json = await dead(queue, ['list', '--json', '--limit', '3']);
    expect(json.code).toBe(ExitCode.ok);
    const document = JSON.parse(json.stdout) as {
      queue: string;
      count: number;
      items: { item: string; attempts: number | null; lastError: string | null; notKept: string | null }[];
    };
    expect(document).toMatchObject({ queue, deadLetterQueue: `${queue}.dead`, count: 4 });
    expect(document.items).toHaveLength(3);
    for (const entry of document.items) {
      expect(entry).toEqual(
        entry.item === 'by-hand'
          ? { item: 'by-hand', attempts: null, lastError: null, notKept: DeadLetters.notKept.byHand }
          : { item: entry.item, attempts: 2, lastError: 'WORK_COMMAND exited with code 7', notKept: null },
      );
    }
    // A reader that goes away early (here before the first line) ends nothing but the output: exit 0, nothing on stderr.
    const piped = spawnSync(
      '/bin/sh',
      ['-c', `{ "${process.execPath}" "${cliPath()}" dead list; echo "exit $?" >&2; } | true`],
      {
        env: { PATH: process.env.PATH, ...broker.env(queue) },
        encoding: 'utf8',
      },
    );
    expect({ stdout: piped.stdout, stderr: piped.stderr }).toEqual({ stdout: '', stderr: 'exit 0\n' });
    // Listing takes nothing.
    expect(await broker.deadCount(queue)).toBe(4);
  });

  test('a dry run prints what it would move and moves nothing', async () => {
    const queue = newQueue();
    await deadLettered(queue, ['fig', 'kiwi'], 1);
    const result = await dead(queue, ['redrive', '--dry-run', '--limit', '1']);
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout).toMatch(
      new RegExp(
        `^dry run: would move 1 of 2 dead items from ${queue}\\.dead back to ${queue}\\nwould move "(fig|kiwi)": 1 attempt, last error: WORK_COMMAND exited with code 7\\n$`,
      ),
    );
    expect(await broker.deadCount(queue)).toBe(2);
    expect(await broker.pending(queue)).toEqual([]);
  });

  test('a redriven item is processed by workers like any other, its attempts counted from 1 again', async () => {
    const queue = newQueue();
    await deadLettered(queue, ['plum'], 2);
    const moved = await dead(queue, ['redrive']);
    expect(moved.code).toBe(ExitCode.ok);
    expect(moved.stdout).toMatch(
      `moved "plum": 2 attempts, last error: WORK_COMMAND exited with code 7\nmoved 1 item from ${queue}.dead back to ${queue} in `,
    );
    expect(await broker.deadCount(queue)).toBe(0);
    // Fails again: attempt 1, then 2, then dead again with its new record.
    const again = await runCli(
      ['work'],
      broker.env(queue, { WORKER_MODE: 'drain', MAX_ATTEMPTS: '2', WORK_COMMAND: 'exit 9' }),
    );
    expect(again.stderr).toContain('"plum" failed (attempt 1 of 2): handed back for another attempt');
    expect(again.stderr).toContain(`"plum" failed (attempt 2 of 2): moved to dead-letter queue ${queue}.dead`);
    expect((await dead(queue, ['list'])).stdout).toContain(
      '"plum": 2 attempts, last error: WORK_COMMAND exited with code 9',
    );
    // Redriven again, and done this time.
    expect((await dead(queue, ['redrive'])).code).toBe(ExitCode.ok);
    const done = await runCli(['work'], broker.env(queue, { WORKER_MODE: 'single', WORK_SECONDS: '0' }));
    expect(done.code).toBe(ExitCode.ok);
    expect(processed(done.stdout)).toEqual(['plum']);
    expect(await broker.deadCount(queue)).toBe(0);
    expect(await broker.leftover(queue)).toBe(0);
  });

  test('--rate paces a redrive: 300 items at 200/s take at least 1.4 s', async () => {
    const queue = newQueue();
    const items = Array.from({ length: 300 }, (_, i) => `rate-${i}`);
    // The pace does not depend on the records: put there at once.
    await broker.putDeadByHand(queue, items);
    const started = Date.now();
    const result = await dead(queue, ['redrive', '--rate', '200/s']);
    const seconds = (Date.now() - started) / 1000;
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout).toContain(`... and 200 more\nmoved 300 items from ${queue}.dead back to ${queue} in `);
    // Steps of 20 at 0, 0.1, ... 1.4 s; generous on the slow side, for a busy machine.
    expect(seconds).toBeGreaterThanOrEqual(1.4);
    expect(seconds).toBeLessThan(20);
    // A ScaledWorkQueueJob's scaler sees every redriven item.
    expect(await broker.scalerCount(queue)).toBe(items.length);
    expect(sorted(await broker.takePending(queue))).toEqual(sorted(items));
  });

  test('killed mid-redrive, again and again, then run to the end: every dead item is back on the queue exactly once', async () => {
    const queue = newQueue();
    const items = Array.from({ length: 120 }, (_, i) => `kill-${i}`);
    await deadLettered(queue, items, 1);
    for (const after of [5, 17, 31]) {
      const redrive: CliProcess = startCli(['dead', 'redrive', '--rate', '150/s'], broker.env(queue));
      // Its stdout begins with one line per item moved.
      await redrive.waitFor(new RegExp(`^(?:moved "[^\\n]*\\n){${after}}`));
      redrive.kill('SIGKILL');
      expect((await redrive.exited).signal).toBe('SIGKILL');
    }
    const rest = await dead(queue, ['redrive']);
    expect(rest.code).toBe(ExitCode.ok);
    expect(await broker.deadCount(queue)).toBe(0);
    expect(sorted(await broker.takePending(queue))).toEqual(sorted(items));
    expect(await broker.leftover(queue)).toBe(0);
  });

  test('purge deletes every dead item only with --yes; without it exits 2 with one line and touches nothing', async () => {
    const queue = newQueue();
    await deadLettered(queue, ['nut', 'ok', 'yam'], 1);
    const refused = await dead(queue, ['purge']);
    expect(refused).toMatchObject({ code: ExitCode.badInput, stdout: '' });
    expect(refused.stderr).toBe(
      `work-queue: --yes: got nothing, expected --yes to confirm that every item of ${queue}.dead is deleted for good\n`,
    );
    expect(await broker.deadCount(queue)).toBe(2);
    const purged = await dead(queue, ['purge', '--yes']);
    expect(purged).toMatchObject({ code: ExitCode.ok, stdout: `purged ${queue}.dead: 2 dead items deleted\n` });
    expect(await broker.deadCount(queue)).toBe(0);
    expect(await broker.leftover(queue)).toBe(0);
  });
});

describe('work-queue dead: usage and bad input', () => {
  test('--help describes the command', async () => {
    const result = await runCli(['dead', '--help'], {});
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout).toMatch(/^usage: work-queue dead list \[--limit N\] \[--json\]\n/);
    expect(result.stdout).toContain(`at most ${DeadLetters.maxErrorLength} characters`);
  });

  test.each([
    [['frob'], 'dead: got "frob", expected one of list, redrive, purge (work-queue dead --help)'],
    [[], 'dead: got nothing, expected one of list, redrive, purge (work-queue dead --help)'],
    [['list', '--limit', '0'], '--limit: got "0", expected a whole number of items of at least 1'],
    [['list', '--limit'], '--limit: got nothing, expected a whole number of items of at least 1'],
    [
      ['redrive', '--rate', 'fast'],
      '--rate: got "fast", expected items per second, a number above 0 such as 200 or 200/s',
    ],
    [['list', '--rate', '3'], 'dead list argument: got "--rate", expected one of --limit, --json'],
    [['purge', '--yes=please'], '--yes: got "please", expected no value'],
  ])('fails for dead %j with one line and exit 2, before any broker is asked', async (args, line) => {
    const result = await runCli(['dead', ...args], { BROKER_URL: 'redis://127.0.0.1:1', QUEUE: 'never-used' });
    expect(result).toMatchObject({ code: ExitCode.badInput, stdout: '', stderr: `work-queue: ${line}\n` });
  });
});

describe("RabbitMQ: the dead-letter queue's delivery limit", () => {
  test('a dead item looked at 25 times is still there (RabbitMQ 4 drops a message after 20 deliveries unless its queue says otherwise)', async () => {
    const queue = brokers.queue('dead-limit', 'amqp');
    expect((await runCli(['seed', 'stays'], amqpEnv(queue))).code).toBe(ExitCode.ok);
    expect((await runCli(['work'], amqpEnv(queue, { MAX_ATTEMPTS: '1', WORK_COMMAND: 'exit 3' }))).code).toBe(
      ExitCode.ok,
    );
    // Each look of dead list is a get and a return: 24 of them here, the 25th by dead list.
    const channel = await brokers.amqp.createChannel();
    for (let look = 1; look < 25; look++) {
      const message = await channel.get(amqpQueueNames(queue).dead, { noAck: false });
      expect(message).not.toBe(false);
      if (message) channel.nack(message, false, true);
    }
    await channel.close();
    for (let look = 25; look <= 26; look++) {
      const result = await runCli(['dead', 'list', '--json'], amqpEnv(queue));
      expect(JSON.parse(result.stdout)).toMatchObject({ count: 1, items: [{ item: 'stays', attempts: 1 }] });
    }
  });

  test('an item the broker dead-lettered for a worker (rejected while publishing was blocked) is listed with why it has no record, and redriven', async () => {
    const queue = brokers.queue('dead-rejected', 'amqp');
    expect((await runCli(['seed', 'late'], amqpEnv(queue))).code).toBe(ExitCode.ok);
    // What a worker does when it cannot publish the dead letter: a reject without requeue, which the work queue dead-letters.
    const channel = await brokers.amqp.createChannel();
    const message = await channel.get(queue, { noAck: false });
    expect(message).not.toBe(false);
    if (message) channel.reject(message, false);
    await channel.close();
    for (let polls = 0; (await amqpCount(brokers.amqp, amqpQueueNames(queue).dead)) === 0; polls++) {
      expect(polls).toBeLessThan(100);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const listed = await runCli(['dead', 'list'], amqpEnv(queue));
    expect(listed).toMatchObject({
      code: ExitCode.ok,
      stdout: `${queue}.dead: 1 dead item\n"late": attempts and last error not kept: ${DeadLetters.notKept.byBrokerForWorker}\n`,
    });
    const moved = await runCli(['dead', 'redrive'], amqpEnv(queue));
    expect(moved.code).toBe(ExitCode.ok);
    expect(moved.stdout).toMatch(
      `moved "late": attempts and last error not kept: ${DeadLetters.notKept.byBrokerForWorker}\nmoved 1 item from ${queue}.dead back to ${queue} in `,
    );
    expect(await amqpTakeAll(brokers.amqp, queue)).toEqual(['late']);
    expect(await amqpCount(brokers.amqp, amqpQueueNames(queue).redriveJournal)).toBe(0);
  });

  test('a dead-letter queue declared before it had the limit: workers take it as it is; dead list refuses it on RabbitMQ 4 with one line, and lists it before 4', async () => {
    const queue = brokers.queue('dead-legacy', 'amqp');
    const channel = await brokers.amqp.createChannel();
    await channel.assertQueue(queue, workQueueOptions(queue));
    await channel.assertQueue(amqpQueueNames(queue).dead, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.close();
    expect((await runCli(['seed', 'old'], amqpEnv(queue))).code).toBe(ExitCode.ok);
    expect((await runCli(['work'], amqpEnv(queue, { MAX_ATTEMPTS: '1', WORK_COMMAND: 'exit 3' }))).code).toBe(
      ExitCode.ok,
    );
    const version = (brokers.amqp as unknown as { connection: { serverProperties: { version: string } } }).connection
      .serverProperties.version;
    const listed = await runCli(['dead', 'list'], amqpEnv(queue));
    if (Number.parseInt(version, 10) >= 4) {
      expect(listed).toMatchObject({ code: ExitCode.failed, stdout: '' });
      expect(listed.stderr).toBe(
        `work-queue: ${queue}.dead was declared by an earlier work-queue, without x-delivery-limit: RabbitMQ 4 drops a message that was delivered 20 times, and each look of dead list counts as a delivery; redrive or purge its items, then delete it (rabbitmqctl delete_queue ${queue}.dead) and the next worker declares it anew\n`,
      );
    } else {
      expect(listed).toMatchObject({
        code: ExitCode.ok,
        stdout: `${queue}.dead: 1 dead item\n"old": 1 attempt, last error: WORK_COMMAND exited with code 3\n`,
      });
    }
    expect((await runCli(['dead', 'redrive'], amqpEnv(queue))).code).toBe(ExitCode.ok);
    expect(await amqpTakeAll(brokers.amqp, queue)).toEqual(['old']);
  });
});
