import { readFileSync } from 'node:fs';
import { SEED_WINDOW } from '../../worker/amqp/seeder';
import { ExitCode } from '../../contract';
import { AckCuttingProxy } from './ack-cutting-proxy';
import { AMQP, AMQP_URL } from './brokers';
import { useBrokers } from './broker-fixture';
import { amqpCount, amqpEnv, amqpTakeAll, processGone, processed, runCli, startCli, tempDir } from './helpers';
import { closeConnectionOf } from './rabbitmq-connections';
import { expectResumedInOrder } from './seed-window';

/** A stack trace line, which no error path of the CLI may print. */
const STACK_LINE = /^\s+at /m;

describe('RabbitMQ connection loss (one connection closed by the broker: rabbitmqctl close_connection)', () => {
  const brokers = useBrokers('amqp');
  const files = tempDir();
  const newQueue = () => brokers.queue('outage-amqp');

  afterAll(() => files.remove());

  test('the seeder whose connection is closed resumes on a new one and leaves every item, in order, at most the unconfirmed ones twice', async () => {
    const queue = newQueue();
    const items = Array.from({ length: 30_000 }, (_, i) => `item-${i}`);
    const file = files.file(`${queue}.json`, JSON.stringify(items));
    const seeder = startCli(['seed'], amqpEnv(queue, { ITEMS_FILE: file }));
    // Paused while its connection is closed: a seeder faster than rabbitmqctl cannot finish first.
    await closeConnectionOf(seeder.child.pid!, { whilePaused: true });
    const result = await seeder.exited;
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(result.stderr).toMatch(
      new RegExp(
        `lost the connection to RabbitMQ \\(AMQP\\) at ${AMQP.address} \\(.*CONNECTION_FORCED.*\\); reconnecting`,
      ),
    );
    expect(result.stderr).toMatch(/reconnected to RabbitMQ/);
    expect(result.code).toBe(ExitCode.ok);
    const twice = expectResumedInOrder(await amqpTakeAll(brokers.amqp, queue), items, SEED_WINDOW);
    console.log(`seed of ${items.length} through a closed connection: ${twice} items on the queue twice`);
  });

  test('a single worker whose connection closes mid-item stops its command and exits 3 with one line; the next worker gets the item', async () => {
    const queue = newQueue();
    expect((await runCli(['seed', 'precious'], amqpEnv(queue))).code).toBe(ExitCode.ok);
    const pidFile = `${files.dir}/${queue}.pid`;
    const worker = startCli(['work'], amqpEnv(queue, { WORK_COMMAND: `cat; sleep 60 & echo $! > ${pidFile}; wait` }));
    await worker.waitFor(/precious/);
    await closeConnectionOf(worker.child.pid!);
    const result = await worker.exited;
    expect(result.code).toBe(ExitCode.brokerUnreachable);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(
          `^work-queue: the connection to RabbitMQ \\(AMQP\\) at ${AMQP.address} closed while an item was in progress \\(.*CONNECTION_FORCED.*\\): it was not acknowledged, so the broker delivers it again$`,
        ),
      ),
    ]);

    expect(processGone(Number(readFileSync(pidFile, 'utf8')))).toBe(true);

    const next = await runCli(['work'], amqpEnv(queue, { WORK_SECONDS: '0' }));
    expect(next.code).toBe(ExitCode.ok);
    expect(processed(next.stdout)).toEqual(['precious']);
    expect(await amqpCount(brokers.amqp, queue)).toBe(0);
  });

  test('a single worker whose connection is cut after its ack reached the broker, before the confirming answer: exit 3, one line saying it may be delivered again; the broker took the ack', async () => {
    const queue = newQueue();
    expect((await runCli(['seed', 'acked'], amqpEnv(queue))).code).toBe(ExitCode.ok);
    const proxy = await AckCuttingProxy.start(AMQP);
    try {
      const terminationMessage = `${files.dir}/${queue}.termination-log`;
      const result = await runCli(['work'], {
        ...amqpEnv(queue, { WORK_SECONDS: '0', TERMINATION_MESSAGE_PATH: terminationMessage }),
        BROKER_URL: proxy.url(AMQP_URL),
      });
      expect(proxy.acksCut).toBe(1);
      expect(processed(result.stdout)).toEqual(['acked']);
      expect(result.code).toBe(ExitCode.brokerUnreachable);
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          /^work-queue: "acked" was processed but not completed: its acknowledgement was sent, but the connection closed \(.+\) before the broker confirmed it: the broker may deliver it again, so it may be processed twice$/,
        ),
      ]);
      expect(JSON.parse(readFileSync(terminationMessage, 'utf8'))).toEqual({
        item: 'acked',
        outcome: 'unacknowledged',
        attempt: 1,
        exitCode: ExitCode.brokerUnreachable,
        reason:
          'the item was processed, but its connection closed before the broker confirmed its completion: it may be delivered again',
      });
    } finally {
      await proxy.stop();
    }
    // Here the broker had taken the ack: the item is not delivered again.
    expect(await amqpCount(brokers.amqp, queue)).toBe(0);
  });

  test('status --watch rides out its connection being closed and ends when the queue is drained', async () => {
    const queue = newQueue();
    expect((await runCli(['seed', 'watched'], amqpEnv(queue))).code).toBe(ExitCode.ok);
    const watch = startCli(['status', '--watch'], amqpEnv(queue));
    await watch.waitFor(/pending 1/);
    await closeConnectionOf(watch.child.pid!);
    await watch.waitFor(/reconnected to RabbitMQ/);
    expect((await runCli(['work'], amqpEnv(queue, { WORK_SECONDS: '0' }))).code).toBe(ExitCode.ok);
    const result = await watch.exited;
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout.trim().split('\n').pop()).toMatch(
      new RegExp(`^queue ${queue}: pending 0, in progress or done 1, dead 0 \\(seeded 1\\), [0-9.]+ taken/s, ETA 0s$`),
    );
  });
});
