import { ExitCode, queueKeys } from '../../contract';
import { MAX_BATCH_SIZE } from '../../worker/work';
import { useBrokers } from './broker-fixture';
import { processed, redisEnv, sorted, startCli } from './helpers';

/** Batches of drain workers on Redis: a worker killed mid-batch loses nothing and completes nothing twice. */
describe('drain batches on Redis', () => {
  const brokers = useBrokers('redis');

  test('a worker killed mid-batch leaves its batch to the other worker, which reclaims it when the leases expire: every item completed exactly once', async () => {
    const queue = brokers.queue('batch-kill');
    const items = Array.from({ length: 2000 }, (_, i) => `item-${i}`);
    for (let i = 0; i < items.length; i += 500) await brokers.redis.rPush(queue, items.slice(i, i + 500));
    // 1 ms per item: batches grow to their largest size, and a kill lands inside one.
    const env = redisEnv(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '0.001', LEASE_SECONDS: '1' });
    const victim = startCli(['work'], env);
    await victim.waitFor(/^Processing item-\d{3}$/m);
    const survivor = startCli(['work'], env);
    await survivor.waitFor(/^Processing /m);
    victim.kill('SIGKILL');
    const [killed, finished] = await Promise.all([victim.exited, survivor.exited]);
    expect(killed.signal).toBe('SIGKILL');
    expect(finished.code).toBe(ExitCode.ok);

    const keys = queueKeys(queue);
    expect(Number(await brokers.redis.get(keys.done))).toBe(items.length);
    expect(await brokers.redis.lLen(keys.pending)).toBe(0);
    expect(await brokers.redis.zCard(keys.leases)).toBe(0);
    expect(await brokers.redis.hLen(keys.processing)).toBe(0);
    expect(await brokers.redis.lLen(keys.dead)).toBe(0);

    const byVictim = processed(killed.stdout);
    const bySurvivor = processed(finished.stdout);
    expect(sorted([...new Set([...byVictim, ...bySurvivor])])).toEqual(sorted(items));
    // Processed twice: at most the batch the victim held when it was killed (processed, not yet completed).
    expect(byVictim.filter((item) => bySurvivor.includes(item)).length).toBeLessThanOrEqual(MAX_BATCH_SIZE);
  });
});
