import { ExitCode, queueKeys } from '../../contract';
import { killLeftovers, processed, runCli, startCli, uniqueQueue } from './helpers';
import { OwnRedis } from './own-redis';

const STACK_LINE = /^\s+at /m;
const TAKEN_OVER = /its lease expired and another worker took it over/;

describe('an item whose lease Redis no longer has (a redis-server of the test)', () => {
  let server: OwnRedis;

  beforeAll(async () => {
    // No persistence of its own: a restart loads what the test saved with SAVE, and nothing after it.
    server = await OwnRedis.start({ persistent: false });
  });

  afterAll(async () => {
    killLeftovers();
    await server.stop();
  });

  test('Redis restarted without its last writes: the worker names the lost writes, not an expired lease, and the item is done again', async () => {
    const queue = uniqueQueue('lost-writes');
    const env = { BROKER_URL: server.url, QUEUE: queue };
    expect((await runCli(['seed', 'kept'], env)).code).toBe(ExitCode.ok);
    const client = await server.client();
    await client.sendCommand(['SAVE']); // the seeded item, not yet claimed
    await client.close();

    const worker = startCli(['work'], { ...env, WORKER_MODE: 'drain', WORK_SECONDS: '3', LEASE_SECONDS: '60' });
    await worker.waitFor(/^Processing kept$/m);
    // The claim, written after the SAVE, is what the restart loses.
    await server.kill();
    await server.restart();
    const result = await worker.exited;
    expect(result.stderr).not.toMatch(STACK_LINE);
    expect(result.stderr).toMatch(
      new RegExp(
        `"kept" was processed but not completed: Redis at 127\\.0\\.0\\.1:${server.port} lost its last writes, this worker's lease of it among them \\(a restart or failover without them; the lease had not expired\\): it is on the queue again and may be processed twice`,
      ),
    );
    expect(result.stderr).not.toMatch(TAKEN_OVER);
    expect(result.code).toBe(ExitCode.ok);
    expect(processed(result.stdout)).toEqual(['kept', 'kept']);
    const after = await server.client();
    expect(await after.get(queueKeys(queue).done)).toBe('1');
    await after.close();
  });

  test('a lease that expired while its worker was stopped, and another worker took over, is still reported as taken over', async () => {
    const queue = uniqueQueue('taken-over');
    const env = { BROKER_URL: server.url, QUEUE: queue, WORKER_MODE: 'drain', LEASE_SECONDS: '1' };
    expect((await runCli(['seed', 'slow'], env)).code).toBe(ExitCode.ok);
    const stopped = startCli(['work'], { ...env, WORK_SECONDS: '2' });
    await stopped.waitFor(/^Processing slow$/m);
    process.kill(stopped.child.pid!, 'SIGSTOP');
    let other;
    try {
      other = await runCli(['work'], { ...env, WORK_SECONDS: '0' });
    } finally {
      process.kill(stopped.child.pid!, 'SIGCONT');
    }
    expect(other.code).toBe(ExitCode.ok);
    expect(processed(other.stdout)).toEqual(['slow']);
    const result = await stopped.exited;
    expect(result.stderr).toMatch(
      /"slow" was processed but not completed: its lease expired and another worker took it over: it may be processed twice/,
    );
    expect(result.stderr).not.toMatch(/lost its last writes/);
    expect(result.code).toBe(ExitCode.ok);
  });
});
