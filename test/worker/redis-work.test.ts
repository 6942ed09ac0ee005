import { ExitCode, queueKeys } from '../../contract';
import { existsSync, readFileSync } from 'node:fs';
import { useBrokers } from './broker-fixture';
import { processGone, processed, redisEnv, runCli, sorted, startCli, tempDir } from './helpers';

/** Fails the item "poison" and succeeds on everything else, reading the item from stdin. */
const POISON_COMMAND = 'item=$(cat); echo "handled $item"; [ "$item" != poison ]';

describe('work on Redis (fine pattern)', () => {
  const brokers = useBrokers('redis');
  const newQueue = () => brokers.queue('work-redis');
  const files = tempDir();

  afterAll(() => files.remove());

  test('tutorial: 9 items, two concurrent drain workers, each item processed exactly once', async () => {
    const queue = newQueue();
    const items = ['apple', 'banana', 'cherry', 'date', 'fig', 'grape', 'lemon', 'melon', 'orange'];
    expect((await runCli(['seed', ...items], redisEnv(queue))).code).toBe(ExitCode.ok);
    const env = redisEnv(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '0.2', LEASE_SECONDS: '5' });
    const results = await Promise.all([runCli(['work'], env), runCli(['work'], env)]);
    for (const result of results) {
      expect(result.code).toBe(ExitCode.ok);
      expect(result.stderr).toMatch(/is drained: nothing pending or in progress/);
    }
    const [a, b] = results.map((r) => processed(r.stdout));
    expect(sorted([...a, ...b])).toEqual(sorted(items));
    expect(a.length).toBeGreaterThan(0); // slow items spread over both workers
    expect(b.length).toBeGreaterThan(0);
    const status = await runCli(['status'], redisEnv(queue));
    expect(status.stdout).toBe(`queue ${queue}: pending 0, in progress 0, done 9, dead 0 (seeded 9)\n`);
  });

  test('duplicates and items pushed by hand (rpush) are all processed', async () => {
    const queue = newQueue();
    await brokers.redis.rPush(queue, ['apple', 'apple', 'pear']);
    const env = redisEnv(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '0' });
    const results = await Promise.all([runCli(['work'], env), runCli(['work'], env)]);
    expect(results.map((r) => r.code)).toEqual([0, 0]);
    expect(sorted(results.flatMap((r) => processed(r.stdout)))).toEqual(['apple', 'apple', 'pear']);
    expect(await brokers.redis.get(queueKeys(queue).done)).toBe('3');
  });

  test('single mode takes one item and exits; an empty queue exits 0 after a short wait', async () => {
    const queue = newQueue();
    await brokers.redis.rPush(queue, ['one', 'two']);
    const first = await runCli(['work'], redisEnv(queue, { WORK_SECONDS: '0' }));
    expect(first.code).toBe(ExitCode.ok);
    expect(processed(first.stdout)).toEqual(['one']);
    expect(await brokers.redis.lRange(queue, 0, -1)).toEqual(['two']);
    await brokers.redis.del(queue);
    const empty = await runCli(['work'], redisEnv(queue, { WORK_SECONDS: '0' }));
    expect(empty.code).toBe(ExitCode.ok);
    expect(empty.stderr).toMatch(/stayed empty for \d+ s: nothing to do/);
  });

  test('a poison item is dead-lettered after MAX_ATTEMPTS while the rest complete', async () => {
    const queue = newQueue();
    await brokers.redis.rPush(queue, ['a', 'poison', 'b', 'c']);
    const result = await runCli(
      ['work'],
      redisEnv(queue, { WORKER_MODE: 'drain', WORK_COMMAND: POISON_COMMAND, MAX_ATTEMPTS: '3' }),
    );
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout.match(/handled poison/g)).toHaveLength(3);
    expect(result.stderr).toMatch(/"poison" failed \(attempt 3 of 3\): moved to dead-letter queue .*\.dead/);
    expect(await brokers.redis.lRange(queueKeys(queue).dead, 0, -1)).toEqual(['poison']);
    const status = await runCli(['status'], redisEnv(queue));
    expect(status.stdout).toMatch(/pending 0, in progress 0, done 3, dead 1/);
  });

  test('work that outlasts WORK_TIMEOUT_SECONDS (longer than its renewed lease) is stopped and counted as a failed attempt, dead-lettered after MAX_ATTEMPTS', async () => {
    const queue = newQueue();
    expect((await runCli(['seed', 'quick', 'slow'], redisEnv(queue))).code).toBe(ExitCode.ok);
    const command = 'item=$(cat); if [ "$item" = slow ]; then sleep 60; fi; echo "handled $item"';
    const env = redisEnv(queue, {
      WORKER_MODE: 'drain',
      WORK_COMMAND: command,
      WORK_TIMEOUT_SECONDS: '2',
      LEASE_SECONDS: '1',
      MAX_ATTEMPTS: '2',
    });
    const started = Date.now();
    const result = await runCli(['work'], env);
    expect(result.code).toBe(ExitCode.ok);
    expect(Date.now() - started).toBeLessThan(30000);
    expect(result.stdout).toMatch(/^handled quick$/m);
    expect(result.stdout).not.toMatch(/handled slow/);
    expect(
      result.stderr.match(/"slow" outlasted WORK_TIMEOUT_SECONDS \(2 s\): stopped, a failed attempt/g),
    ).toHaveLength(2);
    expect(result.stderr).toMatch(/"slow" failed \(attempt 2 of 2\): moved to dead-letter queue/);
    expect(await brokers.redis.lRange(queueKeys(queue).dead, 0, -1)).toEqual(['slow']);
  });

  test('a worker killed mid-item leaves it to another worker once its lease expires', async () => {
    const queue = newQueue();
    await brokers.redis.rPush(queue, ['precious']);
    const victim = startCli(
      ['work'],
      redisEnv(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '60', LEASE_SECONDS: '1' }),
    );
    await victim.waitFor(/Processing precious/);
    // Leased, not pending: a drain worker must wait for it instead of exiting.
    expect((await runCli(['status'], redisEnv(queue))).stdout).toMatch(/pending 0, in progress 1, done 0/);
    victim.kill('SIGKILL');
    await victim.exited;
    const rescuer = await runCli(
      ['work'],
      redisEnv(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '0', LEASE_SECONDS: '1' }),
    );
    expect(rescuer.code).toBe(ExitCode.ok);
    expect(processed(rescuer.stdout)).toEqual(['precious']);
    expect((await runCli(['status'], redisEnv(queue))).stdout).toMatch(/pending 0, in progress 0, done 1, dead 0/);
  });

  test('a crash loop ends in the dead-letter list too', async () => {
    const queue = newQueue();
    await brokers.redis.rPush(queue, ['crasher']);
    for (let attempt = 1; attempt <= 2; attempt++) {
      const victim = startCli(
        ['work'],
        redisEnv(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '60', LEASE_SECONDS: '0.5', MAX_ATTEMPTS: '2' }),
      );
      await victim.waitFor(/Processing crasher/);
      victim.kill('SIGKILL');
      await victim.exited;
    }
    const last = await runCli(
      ['work'],
      redisEnv(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '0', LEASE_SECONDS: '0.5', MAX_ATTEMPTS: '2' }),
    );
    expect(last.code).toBe(ExitCode.ok);
    expect(processed(last.stdout)).toEqual([]);
    expect(last.stderr).toMatch(/"crasher" was delivered 2 times without an answer: moved to dead-letter queue/);
    expect(await brokers.redis.lRange(queueKeys(queue).dead, 0, -1)).toEqual(['crasher']);
  });

  test('SIGTERM lets the current item finish, takes no more and hands nothing out twice', async () => {
    const queue = newQueue();
    await brokers.redis.rPush(queue, ['s1', 's2', 's3']);
    const worker = startCli(['work'], redisEnv(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '1' }));
    await worker.waitFor(/Processing s1/);
    worker.kill('SIGTERM');
    const result = await worker.exited;
    expect(result.code).toBe(ExitCode.interrupted);
    expect(processed(result.stdout)).toEqual(['s1']);
    expect(result.stderr).toMatch(/SIGTERM: taking no more items/);
    expect((await runCli(['status'], redisEnv(queue))).stdout).toMatch(/pending 2, in progress 0, done 1, dead 0/);
  });

  test('a second SIGTERM gives the current item back without using up an attempt', async () => {
    const queue = newQueue();
    await brokers.redis.rPush(queue, ['long']);
    const worker = startCli(['work'], redisEnv(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '60', MAX_ATTEMPTS: '1' }));
    await worker.waitFor(/Processing long/);
    worker.kill('SIGTERM');
    await worker.waitFor(/SIGTERM: taking no more items/);
    worker.kill('SIGTERM');
    const result = await worker.exited;
    expect(result.code).toBe(ExitCode.interrupted);
    expect(result.stderr).toMatch(/gave "long" back to the queue unfinished/);
    // MAX_ATTEMPTS=1: had the release counted as an attempt, the item would now be dead.
    const next = await runCli(
      ['work'],
      redisEnv(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '0', MAX_ATTEMPTS: '1' }),
    );
    expect(processed(next.stdout)).toEqual(['long']);
    expect(await brokers.redis.lLen(queueKeys(queue).dead)).toBe(0);
  });

  test('a second SIGTERM ends the whole process group of WORK_COMMAND, its children included', async () => {
    const queue = newQueue();
    await brokers.redis.rPush(queue, ['grouped']);
    const pidFile = `${files.dir}/${queue}.pid`;
    const worker = startCli(
      ['work'],
      redisEnv(queue, { WORKER_MODE: 'drain', WORK_COMMAND: `sleep 60 & echo $! > ${pidFile}; wait` }),
    );
    const child = await readPid(pidFile);
    worker.kill('SIGTERM');
    await worker.waitFor(/SIGTERM: taking no more items/);
    worker.kill('SIGTERM');
    const result = await worker.exited;
    expect(result.code).toBe(ExitCode.interrupted);
    expect(result.stderr).toMatch(/gave "grouped" back to the queue unfinished/);
    expect(processGone(child)).toBe(true);
  });

  test("the worker's exit ends what WORK_COMMAND left running", async () => {
    const queue = newQueue();
    await brokers.redis.rPush(queue, ['leaves-a-child']);
    const pidFile = `${files.dir}/${queue}.pid`;
    const result = await runCli(
      ['work'],
      redisEnv(queue, { WORKER_MODE: 'drain', WORK_COMMAND: `sleep 60 >/dev/null 2>&1 & echo $! > ${pidFile}` }),
    );
    expect(result.code).toBe(ExitCode.ok);
    expect(processGone(await readPid(pidFile))).toBe(true);
  });

  test('status --watch prints plain lines until the queue is drained, the rate and ETA from the second read', async () => {
    const queue = newQueue();
    await brokers.redis.rPush(queue, ['w1', 'w2', 'w3']);
    const watch = startCli(['status', '--watch'], redisEnv(queue));
    await watch.waitFor(/pending 3/);
    const worker = await runCli(['work'], redisEnv(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '0.3' }));
    expect(worker.code).toBe(ExitCode.ok);
    const result = await watch.exited;
    expect(result.code).toBe(ExitCode.ok);
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toBe(`queue ${queue}: pending 3, in progress 0, done 0, dead 0`);
    expect(lines[lines.length - 1]).toMatch(
      new RegExp(`^queue ${queue}: pending 0, in progress 0, done 3, dead 0, [0-9.]+ items/s, ETA 0s$`),
    );
    expect(result.stdout).not.toContain('\r');
  });
});

/** The pid a WORK_COMMAND wrote into a file, once it is there. */
async function readPid(file: string): Promise<number> {
  for (let i = 0; i < 400; i++) {
    if (existsSync(file)) {
      const text = readFileSync(file, 'utf8').trim();
      if (text) return Number(text);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no pid in ${file} within 20 s`);
}
