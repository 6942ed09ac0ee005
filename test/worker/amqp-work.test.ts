import { readFileSync } from 'node:fs';
import type { ChannelModel } from 'amqplib';
import { ExitCode, deadLetterQueue } from '../../contract';
import { waitForConnectionOf } from './rabbitmq-connections';
import { useBrokers } from './broker-fixture';
import {
  amqpCount,
  amqpEnv,
  amqpTakeAll,
  closedPort,
  processGone,
  processed,
  runCli,
  sorted,
  startCli,
  tempDir,
} from './helpers';

const POISON_COMMAND = 'item=$(cat); echo "handled $item"; [ "$item" != poison ]';

describe('work on RabbitMQ (coarse pattern)', () => {
  const brokers = useBrokers('amqp');
  const newQueue = () => brokers.queue('work-amqp');

  test('tutorial: 8 items, one process per item, two at a time, each item processed exactly once', async () => {
    const queue = newQueue();
    const items = ['apple', 'banana', 'cherry', 'date', 'fig', 'grape', 'lemon', 'melon'];
    expect((await runCli(['seed', ...items], amqpEnv(queue))).code).toBe(ExitCode.ok);
    const env = amqpEnv(queue, { WORKER_MODE: 'single', WORK_SECONDS: '0.1' });
    const seen: string[] = [];
    for (let i = 0; i < items.length; i += 2) {
      const pair = await Promise.all([runCli(['work'], env), runCli(['work'], env)]);
      for (const result of pair) {
        expect(result.code).toBe(ExitCode.ok);
        expect(processed(result.stdout)).toHaveLength(1);
        seen.push(...processed(result.stdout));
      }
    }
    expect(sorted(seen)).toEqual(sorted(items));
    expect(await amqpCount(brokers.amqp, queue)).toBe(0);
    const status = await runCli(['status'], amqpEnv(queue));
    expect(status.stdout).toMatch(
      new RegExp(`^queue ${queue}: pending 0, in progress or done 8, dead 0 \\(seeded 8\\)$`, 'm'),
    );
    expect(status.stdout).toMatch(/^note: AMQP does not report unacknowledged messages/m);
  });

  test('BROKER_REPLICAS sets the group size a queue is created with; a queue created with another is taken as it is, one created with a group size refuses clients without one', async () => {
    const queue = newQueue();
    expect((await runCli(['seed', 'one'], amqpEnv(queue, { BROKER_REPLICAS: '1' }))).code).toBe(ExitCode.ok);
    const larger = await runCli(['work'], amqpEnv(queue, { BROKER_REPLICAS: '3', WORK_SECONDS: '0' }));
    expect(larger.code).toBe(ExitCode.ok);
    expect(processed(larger.stdout)).toEqual(['one']);
    const without = await runCli(['work'], amqpEnv(queue, { WORK_SECONDS: '0' }));
    expect(without.code).toBe(ExitCode.failed);
    expect(without.stderr.trim()).toMatch(
      new RegExp(
        `^work-queue: QUEUE: got "${queue}", expected .*inequivalent arg 'x-quorum-initial-group-size'.*; ${queue} was created for a RabbitMQ cluster: set BROKER_REPLICAS to the broker's node count, as its other clients have it$`,
      ),
    );
    const bad = await runCli(['work'], amqpEnv(queue, { BROKER_REPLICAS: '0' }));
    expect(bad.code).toBe(ExitCode.badInput);
    expect(bad.stderr).toMatch(/^work-queue: BROKER_REPLICAS: got "0", expected a whole number of at least 1$/m);
  });

  test("status names the quorum queue's leader and members only through BROKER_MANAGEMENT_URL, and says why not otherwise", async () => {
    const queue = newQueue();
    expect((await runCli(['seed', 'a'], amqpEnv(queue))).code).toBe(ExitCode.ok);
    const unset = await runCli(['status'], amqpEnv(queue));
    expect(unset.code).toBe(ExitCode.ok);
    expect(unset.stdout).toMatch(
      new RegExp(
        `^queue ${queue}: leader and members not readable \\(BROKER_MANAGEMENT_URL is not set; the RabbitMQ management API tells them\\)$`,
        'm',
      ),
    );
    // The shared broker runs without the management plugin: nothing listens on the port.
    const port = await closedPort();
    const refused = await runCli(['status'], amqpEnv(queue, { BROKER_MANAGEMENT_URL: `http://127.0.0.1:${port}` }));
    expect(refused.code).toBe(ExitCode.ok);
    expect(refused.stdout).toMatch(
      new RegExp(
        `^queue ${queue}: leader and members not readable \\(http://127\\.0\\.0\\.1:${port}/: connect ECONNREFUSED.*\\)$`,
        'm',
      ),
    );
    expect(refused.stdout).toMatch(
      new RegExp(`^queue ${queue}: pending 1, in progress or done 0, dead 0 \\(seeded 1\\)$`, 'm'),
    );
    const bad = await runCli(['status'], amqpEnv(queue, { BROKER_MANAGEMENT_URL: 'ftp://127.0.0.1:15672' }));
    expect(bad.code).toBe(ExitCode.badInput);
    expect(bad.stderr).toMatch(
      /^work-queue: BROKER_MANAGEMENT_URL: got "ftp:\/\/127\.0\.0\.1:15672", expected the URL of the RabbitMQ management API, such as http:\/\/host:15672 \(scheme http:\/\/ or https:\/\/\)$/m,
    );
  });

  test('an empty queue: single exits 0 after a short wait, drain at once', async () => {
    const queue = newQueue();
    const single = await runCli(['work'], amqpEnv(queue, { WORK_SECONDS: '0' }));
    expect(single.code).toBe(ExitCode.ok);
    expect(single.stderr).toMatch(/stayed empty for \d+ s: nothing to do/);
    const drain = await runCli(['work'], amqpEnv(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '0' }));
    expect(drain.code).toBe(ExitCode.ok);
    expect(drain.stderr).toMatch(/is drained/);
  });

  test('duplicates are two items; drain mode works through them all', async () => {
    const queue = newQueue();
    expect((await runCli(['seed', 'apple', 'apple', 'kiwi'], amqpEnv(queue))).code).toBe(ExitCode.ok);
    const result = await runCli(['work'], amqpEnv(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '0' }));
    expect(result.code).toBe(ExitCode.ok);
    expect(processed(result.stdout)).toEqual(['apple', 'apple', 'kiwi']);
  });

  test('a worker killed mid-item: the broker hands the item to the next worker', async () => {
    const queue = newQueue();
    expect((await runCli(['seed', 'precious'], amqpEnv(queue))).code).toBe(ExitCode.ok);
    const victim = startCli(['work'], amqpEnv(queue, { WORK_SECONDS: '60' }));
    await victim.waitFor(/Processing precious/);
    victim.kill('SIGKILL');
    await victim.exited;
    const next = await runCli(['work'], amqpEnv(queue, { WORK_SECONDS: '0' }));
    expect(next.code).toBe(ExitCode.ok);
    expect(processed(next.stdout)).toEqual(['precious']);
    expect(await amqpCount(brokers.amqp, queue)).toBe(0);
  });

  test('a poison item is dead-lettered after MAX_ATTEMPTS while the rest complete', async () => {
    const queue = newQueue();
    expect((await runCli(['seed', 'a', 'poison', 'b'], amqpEnv(queue))).code).toBe(ExitCode.ok);
    const env = amqpEnv(queue, { WORK_COMMAND: POISON_COMMAND, MAX_ATTEMPTS: '2' });
    const codes: (number | null)[] = [];
    let output = '';
    for (let run = 0; run < 10 && (await amqpCount(brokers.amqp, queue)) > 0; run++) {
      const result = await runCli(['work'], env);
      codes.push(result.code);
      output += result.stdout + result.stderr;
    }
    // a, b: success. poison: a failed attempt (exit 1, handed back), then dead-lettered (exit 0).
    expect(sorted(codes.map(String))).toEqual(['0', '0', '0', '1']);
    expect(output).toMatch(/"poison" failed \(attempt 1 of 2\): handed back for another attempt/);
    expect(output).toMatch(/"poison" failed \(attempt 2 of 2\): moved to dead-letter queue .*\.dead/);
    expect(sorted([...output.matchAll(/^handled (.*)$/gm)].map((m) => m[1]))).toEqual(['a', 'b', 'poison', 'poison']);
    expect(await waitForCount(brokers.amqp, deadLetterQueue(queue), 1)).toBe(1);
    const status = await runCli(['status'], amqpEnv(queue));
    expect(status.stdout).toMatch(/pending 0, in progress or done 2, dead 1 \(seeded 3\)/);
    expect(await amqpTakeAll(brokers.amqp, deadLetterQueue(queue))).toEqual(['poison']);
  });

  test('a crash loop ends in the dead-letter queue: the quorum queue counts the deliveries', async () => {
    const queue = newQueue();
    expect((await runCli(['seed', 'crasher'], amqpEnv(queue))).code).toBe(ExitCode.ok);
    const env = amqpEnv(queue, { WORK_SECONDS: '60', MAX_ATTEMPTS: '2' });
    for (let attempt = 1; attempt <= 2; attempt++) {
      const victim = startCli(['work'], env);
      await victim.waitFor(/Processing crasher/);
      victim.kill('SIGKILL');
      await victim.exited;
    }
    const last = await runCli(['work'], { ...env, WORK_SECONDS: '0' });
    expect(last.code).toBe(ExitCode.ok);
    expect(processed(last.stdout)).toEqual([]);
    expect(last.stderr).toMatch(/"crasher" was delivered 2 times without an answer: moved to dead-letter queue/);
    expect(await waitForCount(brokers.amqp, deadLetterQueue(queue), 1)).toBe(1);
  });

  test('work that outlasts WORK_TIMEOUT_SECONDS is stopped (its whole process group) and counted as a failed attempt, dead-lettered after MAX_ATTEMPTS', async () => {
    const queue = newQueue();
    const pids = tempDir();
    expect((await runCli(['seed', 'slow'], amqpEnv(queue))).code).toBe(ExitCode.ok);
    // The command and a child of its own both outlive the timeout unless their group is stopped.
    const command = `sleep 60 & echo $! >> ${pids.dir}/pids; echo $$ >> ${pids.dir}/pids; wait`;
    const env = amqpEnv(queue, { WORK_COMMAND: command, WORK_TIMEOUT_SECONDS: '1', MAX_ATTEMPTS: '2' });
    try {
      const first = await runCli(['work'], env);
      expect(first.code).toBe(ExitCode.failed);
      expect(first.stderr).toMatch(/"slow" outlasted WORK_TIMEOUT_SECONDS \(1 s\): stopped, a failed attempt/);
      expect(first.stderr).toMatch(/"slow" failed \(attempt 1 of 2\): handed back for another attempt/);
      const second = await runCli(['work'], env);
      expect(second.code).toBe(ExitCode.ok);
      expect(second.stderr).toMatch(/"slow" failed \(attempt 2 of 2\): moved to dead-letter queue/);
      const started = readFileSync(`${pids.dir}/pids`, 'utf8').trim().split('\n').map(Number);
      expect(started).toHaveLength(4);
      for (const pid of started) expect(processGone(pid)).toBe(true);
      expect(await waitForCount(brokers.amqp, deadLetterQueue(queue), 1)).toBe(1);
      expect(await amqpCount(brokers.amqp, queue)).toBe(0);
    } finally {
      pids.remove();
    }
  });

  test('SIGTERM while waiting for an item exits at once without taking one', async () => {
    const queue = newQueue();
    const worker = startCli(['work'], amqpEnv(queue, { WORK_SECONDS: '0' }));
    // Connected, so past start-up: a SIGTERM before the handler is installed ends Node.js by the signal itself.
    await waitForConnectionOf(worker.child.pid!);
    worker.kill('SIGTERM');
    const result = await worker.exited;
    expect(result.code).toBe(ExitCode.interrupted);
    expect(processed(result.stdout)).toEqual([]);
  });

  test('SIGTERM mid-item lets it finish and acknowledges it', async () => {
    const queue = newQueue();
    expect((await runCli(['seed', 'finish-me', 'later'], amqpEnv(queue))).code).toBe(ExitCode.ok);
    const worker = startCli(['work'], amqpEnv(queue, { WORK_SECONDS: '1' }));
    await worker.waitFor(/Processing finish-me/);
    worker.kill('SIGTERM');
    const result = await worker.exited;
    expect(result.code).toBe(ExitCode.ok);
    expect(await amqpTakeAll(brokers.amqp, queue)).toEqual(['later']);
  });
});

/** Dead-lettering is asynchronous in the broker: wait briefly for the count to arrive. */
async function waitForCount(amqp: ChannelModel, name: string, expected: number): Promise<number> {
  let count = 0;
  for (let i = 0; i < 50; i++) {
    count = await amqpCount(amqp, name);
    if (count >= expected) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return count;
}
