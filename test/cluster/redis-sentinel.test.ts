import { existsSync } from 'node:fs';
import path from 'node:path';
import { ExitCode } from '../../contract';
import { MAX_BATCH_SIZE } from '../../worker/work';
import { type CliProcess, processed, runCli, startCli, tempDir, uniqueQueue } from '../worker/helpers';
import { LocalSentinelSet, type ServerFamily, synthesizeReplicas, valkeyFromTrixie } from './local-redis-sentinels';
import { asError } from '../e2e/harness/caught';

/**
 * A replicated RedisPod (`replicas: 3`) run from its synthesized start scripts as three local
 * members, each a data node and a Sentinel on its own loopback address, with the manifests'
 * Sentinel timings (down-after 5 s), on the Valkey 8.1 the default image runs (from the Debian 13
 * root that .ci/start-brokers builds; WQ_TEST_SENTINEL_SERVER=machine runs this machine's Redis 7.0
 * instead). The primary is killed with SIGKILL while workers drain and while a seeder seeds, cut
 * off from its replicas, its pod deleted (with its preStop hook) and replaced (without); two
 * members are lost at once.
 */
const HOSTS = ['127.0.0.31', '127.0.0.32', '127.0.0.33'];
const DRAIN_ITEMS = Array.from({ length: 3000 }, (_, index) => `item-${String(index).padStart(4, '0')}`);
/** About 7 MB of JSON, within the items file's 8 MiB: a seed that takes long enough to be interrupted. */
const SEED_ITEMS = Array.from(
  { length: 120_000 },
  (_, index) => `seeded-${String(index).padStart(6, '0')}-${'x'.repeat(40)}`,
);
const WORKERS = 2;

const TRIXIE_ROOT = process.env.WQ_TRIXIE_ROOT ?? '/var/cache/work-queue-stack/trixie';

/** The servers the members run: the default image's Valkey 8.1, or with WQ_TEST_SENTINEL_SERVER=machine this machine's Redis 7.0. */
function serverFamily(): ServerFamily {
  if (process.env.WQ_TEST_SENTINEL_SERVER === 'machine') return { name: 'Redis 7.0 (this machine)' };
  if (!existsSync(path.join(TRIXIE_ROOT, '.work-queue-complete'))) {
    throw new Error(`no Debian 13 root at ${TRIXIE_ROOT} with Valkey 8.1: run .ci/start-brokers (as root) first`);
  }
  return valkeyFromTrixie();
}

describe('a replicated RedisPod losing its primary, a pod or two members', () => {
  let family: ServerFamily;
  let set: LocalSentinelSet | undefined;
  const files = tempDir();

  /** The sentinel set, which beforeAll starts. */
  function sentinels(): LocalSentinelSet {
    if (set === undefined) throw new Error('the sentinel set did not start (see beforeAll)');
    return set;
  }

  beforeAll(async () => {
    family = serverFamily();
    // The members' addresses must be free: nothing else of this machine listens on 127.0.0.31-33.
    set = new LocalSentinelSet(synthesizeReplicas(3), family, HOSTS);
    try {
      await set.start();
    } catch (error) {
      await set.stop();
      throw error;
    }
  }, 90_000);

  afterAll(async () => {
    if (set?.restarts.length) console.log(`containers restarted: ${set.restarts.join('; ')}`);
    await set?.stop();
    files.remove();
  });

  const env = (queue: string, extra: Record<string, string> = {}) => ({
    BROKER_URL: sentinels().brokerUrl,
    QUEUE: queue,
    ...extra,
  });

  test('the Sentinels agree on the first member as primary, with the other two its replicas', async () => {
    const primary = await sentinels().settled(10_000);
    expect(primary.host).toBe(HOSTS[0]);
    for (const member of sentinels().members.slice(1)) {
      const role = (await sentinels().command(member.host, 6379, ['ROLE'])) as unknown[];
      expect(role.slice(0, 2)).toEqual(['slave', HOSTS[0]]);
    }
  });

  test(`${DRAIN_ITEMS.length} items, ${WORKERS} drain workers, the primary killed mid-drain: every item processed, duplicates within the batches in flight`, async () => {
    const queue = uniqueQueue('sentinel-drain');
    const itemsFile = files.file(`${queue}.json`, JSON.stringify(DRAIN_ITEMS));
    const seeded = await runCli(['seed'], env(queue, { ITEMS_FILE: itemsFile }));
    expect(seeded.stderr).toBe('');
    expect(seeded.code).toBe(0);

    const old = await sentinels().primary();
    const workers = await drainingWorkers(queue);
    const before = processedBy(workers);
    old.data!.kill('SIGKILL');
    const { primary, waitedMs } = await sentinels().newPrimary(old);

    const results = await Promise.all(workers.map((worker) => worker.exited));
    const all = results.flatMap((result) => processed(result.stdout));
    const duplicates = all.length - new Set(all).size;
    console.log(
      `${family.name}: primary ${old.host} killed after ${before} of ${DRAIN_ITEMS.length} items; Sentinel named ${primary.host} after ${(waitedMs / 1000).toFixed(1)} s; ` +
        `${new Set(all).size} items processed, ${duplicates} twice; workers: ${results.map((result) => result.stderr.trim().replace(/\n/g, ' / ')).join(' // ')}`,
    );
    if (results.some((result) => result.code !== ExitCode.ok)) console.log(sentinels().logTails());
    for (const result of results) {
      expect(result.stderr).toMatch(
        /lost the connection to Redis primary redis-master via Sentinel at .*; reconnecting for up to 60 s/,
      );
      expect(result.stderr).toMatch(/reconnected to Redis primary redis-master via Sentinel at .* after \d+\.\d s/);
      expect(result.code).toBe(ExitCode.ok);
    }
    expect(new Set(all)).toEqual(new Set(DRAIN_ITEMS));
    // What a failover can repeat: each worker's batch in progress and the one it was completing.
    expect(duplicates).toBeLessThanOrEqual(WORKERS * 2 * MAX_BATCH_SIZE);
    const status = await runCli(['status'], env(queue));
    expect(status.stdout).toMatch(/pending 0, in progress 0, done \d+, dead 0/);

    // The kubelet restarts the killed container: its script finds the new primary and follows it.
    sentinels().startData(old);
    await sentinels().settled(60_000);
    const role = (await sentinels().command(old.host, 6379, ['ROLE'])) as unknown[];
    expect(role.slice(0, 2)).toEqual(['slave', primary.host]);
  }, 180_000);

  test(`the seeder's primary killed mid-seed of ${SEED_ITEMS.length} items, then a re-run: exactly every item once, in order`, async () => {
    const queue = uniqueQueue('sentinel-seed');
    const itemsFile = files.file(`${queue}.json`, JSON.stringify(SEED_ITEMS));
    const old = await sentinels().primary();
    const seeder = startCli(['seed'], env(queue, { ITEMS_FILE: itemsFile }));
    await waitUntil(async () => {
      if (seeder.child.exitCode !== null)
        throw new Error(`the seeder ended before its primary was killed: ${seeder.stdout}${seeder.stderr}`);
      return (
        Number(
          await sentinels()
            .command(old.host, 6379, ['LLEN', queue])
            .catch(() => 0),
        ) >=
        SEED_ITEMS.length / 10
      );
    }, 60_000);
    old.data!.kill('SIGKILL');
    const { primary, waitedMs } = await sentinels().newPrimary(old);
    const first = await seeder.exited;
    const rerun = await runCli(['seed'], env(queue, { ITEMS_FILE: itemsFile }));
    console.log(
      `${family.name}: seeder's primary ${old.host} killed; Sentinel named ${primary.host} after ${(waitedMs / 1000).toFixed(1)} s; ` +
        `seeder: ${first.stdout.trim()} / ${first.stderr.trim().replace(/\n/g, ' / ')}; re-run: ${rerun.stdout.trim()}`,
    );
    // Interrupted, not finished before the kill: it lost its primary and went on on the new one.
    expect(first.stderr).toMatch(/lost the connection to Redis primary redis-master via Sentinel/);
    expect(first.code).toBe(ExitCode.ok);
    expect(rerun.code).toBe(ExitCode.ok);
    expect(rerun.stdout).toMatch(/already holds this seed \(120000 items, .*\): nothing added/);
    const onQueue = (await sentinels().command(primary.host, 6379, ['LRANGE', queue, '0', '-1'])) as string[];
    expect(onQueue.length).toBe(SEED_ITEMS.length);
    expect(onQueue).toEqual(SEED_ITEMS);

    sentinels().startData(old);
    await sentinels().settled(60_000);
  }, 180_000);

  test('a primary cut off from its replicas refuses writes, and the seeder says so in one line', async () => {
    const primary = await sentinels().primary();
    const replicas = sentinels().members.filter((member) => member !== primary);
    for (const replica of replicas) replica.data!.kill('SIGSTOP');
    try {
      // The primary counts a replica as gone once it has not acknowledged for min-replicas-max-lag (10 s).
      await waitUntil(async () => {
        const reply = await sentinels()
          .command(primary.host, 6379, ['SET', 'work-queue-test-write', '1'])
          .catch((error: unknown) => asError(error).message);
        return String(reply).startsWith('NOREPLICAS');
      }, 30_000);
      const queue = uniqueQueue('sentinel-cut-off');
      const result = await runCli(['seed', 'a', 'b'], env(queue, { BROKER_RETRY_SECONDS: '0' }));
      expect(result.code).toBe(ExitCode.brokerUnreachable);
      expect(result.stderr.trim().split('\n')).toEqual([
        `work-queue: Redis primary redis-master via Sentinel at ${HOSTS.map((host) => `${host}:26379`).join(', ')} could not serve within 0 s (BROKER_RETRY_SECONDS): ` +
          'NOREPLICAS: the primary takes no writes while fewer replicas than its min-replicas-to-write are connected',
      ]);
    } finally {
      for (const replica of replicas) replica.data!.kill('SIGCONT');
    }
    await sentinels().settled(60_000);
  }, 120_000);

  /** WORKERS drain workers on `queue`, once they have processed a quarter of DRAIN_ITEMS between them. */
  async function drainingWorkers(queue: string): Promise<CliProcess[]> {
    const workers = Array.from({ length: WORKERS }, () =>
      startCli(['work'], env(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '0.004' })),
    );
    await waitUntil(() => processedBy(workers) >= DRAIN_ITEMS.length / 4, 60_000);
    return workers;
  }

  async function seed(queue: string, items: readonly string[]): Promise<void> {
    const seeded = await runCli(
      ['seed'],
      env(queue, { ITEMS_FILE: files.file(`${queue}.json`, JSON.stringify(items)) }),
    );
    expect(seeded.code).toBe(ExitCode.ok);
  }

  test("deleting the primary's pod: its preStop hook hands over, the workers follow, the new pod replicates, nothing lost", async () => {
    const queue = uniqueQueue('sentinel-delete');
    await seed(queue, DRAIN_ITEMS);
    const old = await sentinels().primary();
    const workers = await drainingWorkers(queue);
    const promoted = sentinels().newPrimary(old);
    const { hookMs } = await sentinels().deletePod(old);
    const { primary, waitedMs } = await promoted;
    sentinels().replacePod(old);

    const results = await Promise.all(workers.map((worker) => worker.exited));
    const all = results.flatMap((result) => processed(result.stdout));
    console.log(
      `pod of primary ${old.host} deleted: Sentinel named ${primary.host} after ${(waitedMs / 1000).toFixed(1)} s, the hook ended after ${(hookMs / 1000).toFixed(1)} s; ` +
        `${new Set(all).size} items processed, ${all.length - new Set(all).size} twice; workers: ${results.map((result) => result.stderr.trim().replace(/\n/g, ' / ')).join(' // ')}`,
    );
    expect(waitedMs).toBeLessThan(hookMs + 1000);
    for (const result of results) {
      expect(result.stderr).toMatch(/reconnected to Redis primary redis-master via Sentinel at .* after \d+\.\d s/);
      expect(result.code).toBe(ExitCode.ok);
    }
    expect(new Set(all)).toEqual(new Set(DRAIN_ITEMS));
    expect(all.length - new Set(all).size).toBeLessThanOrEqual(WORKERS * 2 * MAX_BATCH_SIZE);
    await sentinels().settled(60_000);
    expect(((await sentinels().command(old.host, 6379, ['ROLE'])) as unknown[]).slice(0, 2)).toEqual([
      'slave',
      primary.host,
    ]);
  }, 180_000);

  test("the primary's pod replaced before the Sentinels notice (no hook): the new, empty data node has a replica promoted and replicates it", async () => {
    const queue = uniqueQueue('sentinel-replaced');
    const items = DRAIN_ITEMS.slice(0, 1000);
    await seed(queue, items);
    const old = await sentinels().primary();
    await sentinels().killPod(old);
    sentinels().replacePod(old);
    const { primary, waitedMs } = await sentinels().newPrimary(old);
    await sentinels().settled(60_000);
    console.log(
      `pod of primary ${old.host} replaced at once: Sentinel named ${primary.host} after ${(waitedMs / 1000).toFixed(1)} s`,
    );
    expect(((await sentinels().command(old.host, 6379, ['ROLE'])) as unknown[]).slice(0, 2)).toEqual([
      'slave',
      primary.host,
    ]);
    expect(await sentinels().command(primary.host, 6379, ['LRANGE', queue, '0', '-1'])).toEqual(items);
    expect(await sentinels().command(old.host, 6379, ['LLEN', queue])).toBe(items.length);
  }, 120_000);

  test('two members lost at once and the third promoted without the queue: the worker says the broker lost its data', async () => {
    const queue = uniqueQueue('sentinel-double-loss');
    const primary = await sentinels().primary();
    const [survivor, other] = sentinels().members.filter((member) => member !== primary);
    // The survivor's data node is down while the queue is seeded and worked: it never gets the queue.
    survivor.data!.kill('SIGKILL');
    await seed(queue, DRAIN_ITEMS.slice(0, 300));
    const worker = startCli(['work'], env(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '0.05' }));
    await waitUntil(() => processed(worker.stdout).length >= 20, 60_000);
    primary.data!.kill('SIGKILL');
    other.data!.kill('SIGKILL');
    sentinels().startData(survivor);
    const { primary: promoted } = await sentinels().newPrimary(primary);
    // Alone, the promoted node takes no writes (min-replicas-to-write): the other comes back and replicates it.
    sentinels().startData(other);
    const result = await worker.exited;
    console.log(
      `primary ${primary.host} and replica ${other.host} lost; ${promoted.host} promoted; worker: ${result.stderr.trim().replace(/\n/g, ' / ')}`,
    );
    expect(promoted).toBe(survivor);
    expect(result.stderr).toMatch(
      new RegExp(`queue ${queue}: Redis primary redis-master via Sentinel at .* lost the queue's data \\(.*\\)`),
    );
    expect(result.code).toBe(ExitCode.failed);

    sentinels().startData(primary);
    await sentinels().settled(60_000);
  }, 180_000);
});

/** The items running workers have printed so far, together. */
function processedBy(workers: readonly CliProcess[]): number {
  return workers.reduce((sum, worker) => sum + processed(worker.stdout).length, 0);
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
