import type { RedisClientType } from 'redis';
import { ExitCode, queueKeys } from '../../contract';
import { type RunResult, killLeftovers, runCli, uniqueQueue } from './helpers';
import { OwnRedis } from './own-redis';

/** A stack trace line, which no error path of the CLI may print. */
const STACK_LINE = /^\s+at /m;
const RETRY_SECONDS = 3;
/** "After BROKER_RETRY_SECONDS": the last attempt, a backoff step and the start-up of a CLI on a loaded machine. */
const A_FEW_SECONDS = 5;
/** Connections of one run within its window: backoff from 100 ms doubling to 2 s allows about seven; no backoff makes hundreds. */
const MAX_CONNECTIONS = 10;

interface TimedRun extends RunResult {
  elapsedMs: number;
}

/**
 * A Redis replica is a reachable Redis that refuses every write with `-READONLY` (a BROKER_URL
 * that names a replica, or a primary demoted by a failover): a reconnect, in the hope of reaching
 * the primary again, and exit 3 after BROKER_RETRY_SECONDS, not an unexpected error (exit 1).
 * Primary and replica are the test's own servers, so no replication setting of the shared Redis changes.
 */
describe('a Redis replica (-READONLY to every write)', () => {
  let primary: OwnRedis;
  let replica: OwnRedis;
  let replicaClient: RedisClientType;
  let seededQueue: string;

  beforeAll(async () => {
    [primary, replica] = await Promise.all([
      OwnRedis.start({ persistent: false }),
      OwnRedis.start({ persistent: false }),
    ]);
    replicaClient = await replica.client();
    await replicaClient.replicaOf('127.0.0.1', primary.port);
    seededQueue = uniqueQueue('replica');
    const seeded = await runCli(['seed', 'apple', 'banana'], { BROKER_URL: primary.url, QUEUE: seededQueue });
    expect(seeded.code).toBe(ExitCode.ok);
    await waitUntil(
      async () => (await replicaClient.lLen(queueKeys(seededQueue).pending)) === 2,
      'the replica has the seeded items',
    );
  });

  afterAll(async () => {
    killLeftovers();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when beforeAll failed
    await replicaClient?.close();
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- unset when beforeAll failed
    await Promise.all([primary?.stop(), replica?.stop()]);
  });

  async function runAgainstReplica(args: string[], env: Record<string, string>): Promise<TimedRun> {
    const started = Date.now();
    const result = await runCli(args, { BROKER_URL: replica.url, BROKER_RETRY_SECONDS: String(RETRY_SECONDS), ...env });
    return { ...result, elapsedMs: Date.now() - started };
  }

  function expectReconnectedThenGaveUp(result: TimedRun): void {
    const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
    const what = `exit ${String(result.code ?? result.signal)} after ${(result.elapsedMs / 1000).toFixed(1)} s; stderr:\n${result.stderr}`;
    expect({ code: result.code, what }).toEqual({ code: ExitCode.brokerUnreachable, what });
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(result.stderr).not.toMatch(/unexpected error/);
    expect(lines.at(-1)).toMatch(/^work-queue: .*Redis.*READONLY/);
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines.length).toBeLessThanOrEqual(3);
    expect({ retriedForTheWindow: result.elapsedMs >= RETRY_SECONDS * 1000, what }).toEqual({
      retriedForTheWindow: true,
      what,
    });
    expect({ endedInTime: result.elapsedMs <= (RETRY_SECONDS + A_FEW_SECONDS) * 1000, what }).toEqual({
      endedInTime: true,
      what,
    });
    expect(result.stdout).not.toMatch(/Processing|seeded/);
  }

  test('work (single and drain) on a seeded queue, and seed, retry for BROKER_RETRY_SECONDS, then exit 3 with a line naming READONLY', async () => {
    const before = await connectionsReceived(replicaClient);
    const [single, drain, seed] = await Promise.all([
      runAgainstReplica(['work'], { QUEUE: seededQueue, WORKER_MODE: 'single', WORK_SECONDS: '0' }),
      runAgainstReplica(['work'], { QUEUE: seededQueue, WORKER_MODE: 'drain', WORK_SECONDS: '0' }),
      runAgainstReplica(['seed', 'cherry'], { QUEUE: uniqueQueue('replica-seed') }),
    ]);
    expectReconnectedThenGaveUp(single);
    expectReconnectedThenGaveUp(drain);
    expectReconnectedThenGaveUp(seed);
    const connections = (await connectionsReceived(replicaClient)) - before;
    expect(connections).toBeLessThanOrEqual(3 * MAX_CONNECTIONS);
    // Nothing was taken: the items are still pending on the primary.
    const primaryClient = await primary.client();
    expect(await primaryClient.lLen(queueKeys(seededQueue).pending)).toBe(2);
    await primaryClient.close();
  });
});

async function connectionsReceived(client: RedisClientType): Promise<number> {
  return Number(/^total_connections_received:(\d+)/m.exec(await client.info('stats'))![1]);
}

async function waitUntil(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within 20 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
