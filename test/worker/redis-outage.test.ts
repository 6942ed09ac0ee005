import { ExitCode, queueKeys } from '../../contract';
import { type CliProcess, killLeftovers, processed, runCli, sorted, startCli, tempDir, uniqueQueue } from './helpers';
import { OwnRedis } from './own-redis';

/** A stack trace line, which no error path of the CLI may print. */
const STACK_LINE = /^\s+at /m;
const DOWN_MS = 2000;

describe('Redis outages (a redis-server of the test, killed with SIGKILL and restarted)', () => {
  const files = tempDir();
  const servers: OwnRedis[] = [];
  const own = async (persistent: boolean) => {
    const server = await OwnRedis.start({ persistent });
    servers.push(server);
    return server;
  };

  afterAll(async () => {
    killLeftovers();
    for (const server of servers) await server.stop();
    files.remove();
  });

  /** Kills the server, keeps it down for DOWN_MS, starts it again. */
  async function outage(server: OwnRedis): Promise<void> {
    await server.kill();
    await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
    await server.restart();
  }

  test('two drain workers ride out two restarts: both exit 0, every item done, nothing pending, leased or dead', async () => {
    const server = await own(true);
    const queue = uniqueQueue('outage');
    const items = Array.from({ length: 1000 }, (_, i) => `item-${i}`);
    const env = { BROKER_URL: server.url, QUEUE: queue };
    expect((await runCli(['seed', ...items], env)).code).toBe(ExitCode.ok);

    const workEnv = { ...env, WORKER_MODE: 'drain', WORK_SECONDS: '0.01' };
    const workers = [startCli(['work'], workEnv), startCli(['work'], workEnv)];
    for (const progress of [100, 400]) {
      await waitForProcessed(workers, progress);
      await outage(server);
    }
    const results = await Promise.all(workers.map((w) => w.exited));
    for (const result of results) {
      expect(result.stderr).not.toMatch(STACK_LINE);
      expect(result.stderr).toMatch(/lost the connection to Redis at .*; reconnecting for up to 60 s/);
      expect(result.stderr).toMatch(/reconnected to Redis at /);
      expect(result.code).toBe(ExitCode.ok);
    }
    expect(sorted([...new Set(results.flatMap((r) => processed(r.stdout)))])).toEqual(sorted(items));

    const client = await server.client();
    const keys = queueKeys(queue);
    expect(await client.get(keys.done)).toBe(String(items.length));
    expect(await client.lLen(keys.pending)).toBe(0);
    expect(await client.zCard(keys.leases)).toBe(0);
    expect(await client.hLen(keys.processing)).toBe(0);
    expect(await client.lLen(keys.dead)).toBe(0);
    await client.close();
  });

  test('a seeder rides out two restarts and leaves exactly the items, in order', async () => {
    const server = await own(true);
    const queue = uniqueQueue('outage-seed');
    const items = Array.from({ length: 400_000 }, (_, i) => `item-${i}`);
    const file = files.file(`${queue}.json`, JSON.stringify(items));
    const seeder = startCli(['seed'], { BROKER_URL: server.url, QUEUE: queue, ITEMS_FILE: file });
    await seeder.waitFor(/^seeding \d+\/\d+ items/m);
    await outage(server);
    await seeder.waitFor(/reconnected to Redis/);
    await outage(server);
    const result = await seeder.exited;
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(result.stderr.match(/reconnected to Redis/g)).toHaveLength(2);
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout).toMatch(/seeded \d+ items onto queue/);

    const client = await server.client();
    expect(await client.lLen(queue)).toBe(items.length);
    expect((await client.lRange(queue, 0, -1)).every((item, i) => item === items[i])).toBe(true);
    await client.close();
  });

  test('fails with "lost the queue\'s data" when a Redis without persistence restarts mid-drain', async () => {
    const server = await own(false);
    const queue = uniqueQueue('outage-lost');
    const items = Array.from({ length: 1000 }, (_, i) => `item-${i}`);
    const env = { BROKER_URL: server.url, QUEUE: queue };
    expect((await runCli(['seed', ...items], env)).code).toBe(ExitCode.ok);
    const workEnv = { ...env, WORKER_MODE: 'drain', WORK_SECONDS: '0.01' };
    const workers = [startCli(['work'], workEnv), startCli(['work'], workEnv)];
    await waitForProcessed(workers, 100);
    await outage(server);
    for (const result of await Promise.all(workers.map((w) => w.exited))) {
      expect(result.code).toBe(ExitCode.failed);
      expect(result.stderr).not.toMatch(STACK_LINE);
      expect(result.stderr).not.toMatch(/is drained/);
      expect(result.stderr.trim().split('\n').pop()).toMatch(
        new RegExp(
          `^work-queue: queue ${queue}: Redis at 127\\.0\\.0\\.1:${server.port} lost the queue's data \\(its seed marker .* is gone\\)`,
        ),
      );
    }
  });

  test('a worker started while Redis is down waits for it, then works', async () => {
    const server = await own(true);
    const queue = uniqueQueue('outage-start');
    const env = { BROKER_URL: server.url, QUEUE: queue };
    expect((await runCli(['seed', 'a', 'b'], env)).code).toBe(ExitCode.ok);
    await server.kill();
    const worker = startCli(['work'], { ...env, WORKER_MODE: 'drain', WORK_SECONDS: '0' });
    await worker.waitFor(/cannot reach Redis at .* yet \(.*ECONNREFUSED.*\); retrying for up to 60 s/);
    await server.restart();
    const result = await worker.exited;
    expect(result.code).toBe(ExitCode.ok);
    expect(sorted(processed(result.stdout))).toEqual(['a', 'b']);
    expect(result.stderr).toMatch(/connected to Redis at .* after \d+\.\d s/);
  });

  test('SIGTERM stops a worker that waits for Redis: exit 143', async () => {
    const server = await own(false);
    await server.kill();
    const worker = startCli(['work'], {
      BROKER_URL: server.url,
      QUEUE: uniqueQueue('outage-term'),
      WORKER_MODE: 'drain',
    });
    await worker.waitFor(/cannot reach Redis at .* yet/);
    worker.kill('SIGTERM');
    const result = await worker.exited;
    expect(result.code).toBe(ExitCode.interrupted);
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(result.stderr.trim().split('\n').pop()).toBe('work-queue: stopped while waiting for the broker');
  });

  test('gives up after BROKER_RETRY_SECONDS with exit 3 and one line', async () => {
    const server = await own(true);
    const queue = uniqueQueue('outage-gone');
    const env = { BROKER_URL: server.url, QUEUE: queue };
    expect((await runCli(['seed', 'slow'], env)).code).toBe(ExitCode.ok);
    const worker = startCli(['work'], {
      ...env,
      WORKER_MODE: 'drain',
      WORK_SECONDS: '60',
      LEASE_SECONDS: '0.6',
      BROKER_RETRY_SECONDS: '1',
    });
    await worker.waitFor(/Processing slow/);
    await server.kill();
    const result = await worker.exited;
    expect(result.code).toBe(ExitCode.brokerUnreachable);
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(result.stderr.trim().split('\n').pop()).toMatch(
      new RegExp(
        `^work-queue: lost the connection to Redis at 127\\.0\\.0\\.1:${server.port} and could not reconnect within 1 s \\(BROKER_RETRY_SECONDS\\): .*ECONNREFUSED`,
      ),
    );
  });
});

/** Waits until the workers together printed `count` items. */
async function waitForProcessed(workers: CliProcess[], count: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (workers.reduce((sum, w) => sum + processed(w.stdout).length, 0) < count) {
    if (Date.now() > deadline)
      throw new Error(`fewer than ${count} items processed within 30 s:\n${workers.map((w) => w.stderr).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
