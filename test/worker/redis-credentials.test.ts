import { ExitCode, queueKeys } from '../../contract';
import { sampleValue } from '../prometheus-text';
import { killLeftovers, runCli, startCli, tempDir, uniqueQueue } from './helpers';
import { OwnRedis } from './own-redis';
import { ExporterProcess, synthesizedExporterEnv } from './synthesized-redis-exporter';

/** A stack trace line, which no error path of the CLI may print. */
const STACK_LINE = /^\s+at /m;

describe('a Redis that requires a password (a redis-server of the test, with requirepass)', () => {
  const password = 'the-right-one';
  let server: OwnRedis;
  const queue = uniqueQueue('credentials');
  /** More arguments than Redis accepts from a client that has not authenticated (its "multibulk length"). */
  const manyItems = Array.from({ length: 50 }, (_, i) => `item-${i}`);

  beforeAll(async () => {
    server = await OwnRedis.start({ persistent: false, password });
  });

  afterAll(async () => {
    killLeftovers();
    await server.stop();
  });

  const withPassword = (given: string | undefined) =>
    `redis://${given === undefined ? '' : `:${given}@`}127.0.0.1:${server.port}`;

  /** One line, exit 3, saying the credentials were refused, as refused AMQP credentials are reported. */
  function expectRefused(result: { code: number | null; stderr: string }, reason: RegExp): void {
    expect(result.code).toBe(ExitCode.brokerUnreachable);
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(result.stderr).not.toMatch(/unexpected error/);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^work-queue: BROKER_URL: got "redis://.*127\\.0\\.0\\.1:${server.port}", expected a reachable Redis broker .* accepts these credentials \\(credentials refused`,
      ),
    );
    expect(lines[0]).toMatch(reason);
    expect(lines[0]).not.toContain('wrong-one');
  }

  test.each([
    ['seed', ['seed', ...manyItems]],
    ['work', ['work']],
    ['status', ['status']],
  ])('%s without a password exits 3 at connect, saying the credentials were refused (NOAUTH)', async (_name, args) => {
    const result = await runCli(args, {
      BROKER_URL: withPassword(undefined),
      QUEUE: queue,
      WORKER_MODE: 'drain',
      WORK_SECONDS: '0',
    });
    expectRefused(result, /BROKER_URL gives no password, and this Redis requires one: NOAUTH/);
  });

  test.each([
    ['seed', ['seed', ...manyItems]],
    ['work', ['work']],
    ['status', ['status']],
  ])(
    '%s with a wrong password exits 3 at connect, saying the credentials were refused (WRONGPASS)',
    async (_name, args) => {
      const result = await runCli(args, {
        BROKER_URL: withPassword('wrong-one'),
        QUEUE: queue,
        WORKER_MODE: 'drain',
        WORK_SECONDS: '0',
      });
      expectRefused(result, /credentials refused: WRONGPASS/);
    },
  );

  test('refused credentials are not waited for: exit 3 at once, though BROKER_RETRY_SECONDS is long', async () => {
    const started = Date.now();
    const result = await runCli(['status'], {
      BROKER_URL: withPassword(undefined),
      QUEUE: queue,
      BROKER_RETRY_SECONDS: '600',
    });
    expect(result.code).toBe(ExitCode.brokerUnreachable);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  test('the right password seeds, works and reports status', async () => {
    const env = { BROKER_URL: withPassword(password), QUEUE: queue, WORKER_MODE: 'drain', WORK_SECONDS: '0' };
    expect((await runCli(['seed', ...manyItems], env)).code).toBe(ExitCode.ok);
    const worked = await runCli(['work'], env);
    expect(worked.code).toBe(ExitCode.ok);
    expect(worked.stdout.trim().split('\n')).toHaveLength(manyItems.length);
    expect((await runCli(['status'], env)).stdout).toMatch(/pending 0/);
  });

  test("RedisPod's metrics exporter, as synthesized, reads this Redis with the password of the broker's Secret and exports the queue's pending, in-progress, done and dead counts", async () => {
    const metricsQueue = uniqueQueue('metrics');
    const keys = queueKeys(metricsQueue);
    const exporter = await ExporterProcess.start(synthesizedExporterEnv(metricsQueue, password), server.url);
    const files = tempDir();
    const release = files.file('release-slow', '');
    try {
      // The slow item runs until the test removes its file.
      const command = `item=$(cat); case "$item" in poison) exit 1 ;; slow) while [ -e ${release} ]; do sleep 0.1; done ;; esac`;
      const env = {
        BROKER_URL: withPassword(password),
        QUEUE: metricsQueue,
        WORKER_MODE: 'single',
        WORK_COMMAND: command,
        MAX_ATTEMPTS: '1',
      };
      expect((await runCli(['seed', 'fine', 'poison', 'slow', 'waiting'], env)).code).toBe(ExitCode.ok);
      expect((await runCli(['work'], env)).code).toBe(ExitCode.ok);
      expect((await runCli(['work'], env)).code).toBe(ExitCode.ok);
      const slow = startCli(['work'], env);
      let samples = await exporter.scrape();
      for (let tries = 0; sampleValue(samples, 'redis_key_size', { key: keys.leases }) !== 1 && tries < 100; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        samples = await exporter.scrape();
      }
      files.remove();
      expect((await slow.exited).code).toBe(ExitCode.ok);
      const counts = {
        up: sampleValue(samples, 'redis_up'),
        pending: sampleValue(samples, 'redis_key_size', { db: 'db0', key: metricsQueue }),
        inProgress: sampleValue(samples, 'redis_key_size', { db: 'db0', key: keys.leases }),
        done: sampleValue(samples, 'redis_key_value', { db: 'db0', key: keys.done }),
        dead: sampleValue(samples, 'redis_key_size', { db: 'db0', key: keys.dead }),
      };
      expect(counts).toEqual({ up: 1, pending: 1, inProgress: 1, done: 1, dead: 1 });
    } finally {
      files.remove();
      exporter.stop();
    }
  });
});
