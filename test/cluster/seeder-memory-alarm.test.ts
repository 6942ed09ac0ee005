import { type ChannelModel, connect } from 'amqplib';
import { RabbitMQStatefulSet } from '../../constructs';
import { DeadLetters, ExitCode, amqpQueueNames } from '../../contract';
import { type ManifestValue, only, synth } from '../manifests';
import { type Sample, sampleValue, scrape } from '../prometheus-text';
import { SEED_WINDOW } from '../../worker/amqp/seeder';
import {
  type CliProcess,
  amqpCount,
  amqpTakeAll,
  runCli,
  sorted,
  startCli,
  tempDir,
  uniqueQueue,
} from '../worker/helpers';
import { OWN_RABBITMQ_NODES, type OwnRabbitMQNode } from './own-rabbitmq-node';

/**
 * `seed` while a memory alarm is on, on RabbitMQ nodes of this test's own (an alarm is node-wide:
 * the shared brokers' publishers would be blocked too), one per broker generation, started together.
 * The alarm is raised by a high watermark so low that any node is above it; RabbitMQ then blocks
 * every connection that publishes. The nodes serve Prometheus metrics as the official image does
 * (the rabbitmq_prometheus plugin), and are scraped as RabbitMQStatefulSet's PodMonitor scrapes them.
 */
const ITEMS = Array.from({ length: 3000 }, (_, index) => `item-${index}`);
const BLOCKED =
  /blocks publishing \(low on memory: a memory or disk alarm is on\); waiting for up to \d+ s \(BROKER_RETRY_SECONDS\)/g;

/** An item of `dead list --json`. */
interface DeadListed {
  item: string;
  attempts: number | null;
  lastError: string | null;
  notKept: string | null;
}

/** The paths and parameters RabbitMQStatefulSet's PodMonitor scrapes, as URLs below a node's metrics port. */
function podMonitorPaths(): string[] {
  const monitor = only(
    synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { password: 'unused', monitoring: {} })),
    'PodMonitor',
  );
  return monitor.spec.podMetricsEndpoints.map(({ path, params }: ManifestValue) => {
    const query = new URLSearchParams(
      Object.entries((params ?? {}) as Record<string, string[]>).flatMap(([key, values]) =>
        values.map((value): [string, string] => [key, value]),
      ),
    );
    return query.size > 0 ? `${String(path)}?${query.toString()}` : path;
  });
}

const files = tempDir();
const itemsFile = files.file('items.json', JSON.stringify(ITEMS));
const nodes = new Map<string, OwnRabbitMQNode>();

beforeAll(async () => {
  // Test-only: queues report their counts every second instead of every 5 s, so a scrape sees them sooner.
  const conf = 'collect_statistics_interval = 1000\n';
  const started = await Promise.allSettled(
    OWN_RABBITMQ_NODES.map(async ([generation, start]) =>
      nodes.set(generation, await start(conf, { prometheus: true })),
    ),
  );
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}, 120000);

afterAll(async () => {
  await Promise.all([...nodes.values()].map((node) => node.stop()));
  files.remove();
});

describe.each(OWN_RABBITMQ_NODES)('seed under a memory alarm on %s', (generation) => {
  let node: OwnRabbitMQNode;
  let amqp: ChannelModel | undefined;

  /** The AMQP connection, which beforeAll starts. */
  function connection(): ChannelModel {
    if (amqp === undefined) throw new Error('the AMQP connection did not start (see beforeAll)');
    return amqp;
  }

  function seed(queue: string, retrySeconds: number): CliProcess {
    return startCli(['seed'], {
      BROKER_URL: node.url,
      QUEUE: queue,
      ITEMS_FILE: itemsFile,
      BROKER_RETRY_SECONDS: String(retrySeconds),
    });
  }

  async function alarm(on: boolean): Promise<void> {
    await node.ctl(['set_vm_memory_high_watermark', on ? '0.0000001' : '0.4']);
  }

  /** `dead list --json`'s items once at least `count` are dead. */
  async function deadItems(queue: string, count: number): Promise<DeadListed[]> {
    for (;;) {
      if ((await amqpCount(connection(), amqpQueueNames(queue).dead)) >= count) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const listed = await runCli(['dead', 'list', '--json'], { BROKER_URL: node.url, QUEUE: queue });
    expect(listed.code).toBe(ExitCode.ok);
    return (JSON.parse(listed.stdout) as { items: DeadListed[] }).items;
  }

  beforeAll(async () => {
    node = nodes.get(generation)!;
    amqp = await connect(node.url);
  });

  afterEach(async () => {
    await alarm(false);
  });

  afterAll(async () => {
    await amqp?.close();
  });

  test("the metrics the PodMonitor scrapes: each queue's ready and unacknowledged items, and the memory alarm that holds a seed", async () => {
    const queue = uniqueQueue('metrics');
    const names = amqpQueueNames(queue);
    const metricsUrl = node.metricsUrl;
    if (metricsUrl === undefined)
      throw new Error(`the ${generation} node was started without the rabbitmq_prometheus plugin`);
    const [aggregated, perQueue] = podMonitorPaths();
    expect([aggregated, perQueue]).toEqual(['/metrics', '/metrics/detailed?family=queue_coarse_metrics']);
    expect((await runCli(['seed', 'one', 'two', 'three'], { BROKER_URL: node.url, QUEUE: queue })).code).toBe(
      ExitCode.ok,
    );
    const until = async (path: string, ready: (samples: Sample[]) => boolean): Promise<Sample[]> => {
      let samples = await scrape(metricsUrl + path);
      for (let tries = 0; !ready(samples) && tries < 100; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        samples = await scrape(metricsUrl + path);
      }
      return samples;
    };
    // Each queue reports on its own tick: wait for both.
    const queues = await until(
      perQueue,
      (samples) =>
        sampleValue(samples, 'rabbitmq_detailed_queue_messages_ready', { queue }) === 3 &&
        sampleValue(samples, 'rabbitmq_detailed_queue_messages_ready', { queue: names.dead }) !== undefined,
    );
    const series = (name: string, of: string) => sampleValue(queues, name, { vhost: '/', queue: of });
    expect({
      ready: series('rabbitmq_detailed_queue_messages_ready', queue),
      unacked: series('rabbitmq_detailed_queue_messages_unacked', queue),
      total: series('rabbitmq_detailed_queue_messages', queue),
      dead: series('rabbitmq_detailed_queue_messages_ready', names.dead),
    }).toEqual({ ready: 3, unacked: 0, total: 3, dead: 0 });

    expect(sampleValue(await scrape(metricsUrl + aggregated), 'rabbitmq_alarms_memory_used_watermark')).toBe(0);
    await alarm(true);
    const alarmed = await until(
      aggregated,
      (samples) => sampleValue(samples, 'rabbitmq_alarms_memory_used_watermark') === 1,
    );
    expect(sampleValue(alarmed, 'rabbitmq_alarms_memory_used_watermark')).toBe(1);
  }, 30000);

  test('a blocked seed says so in one line, and when it is unblocked after how long; every item is on the queue once', async () => {
    const queue = uniqueQueue('alarm');
    await alarm(true);
    const seeder = seed(queue, 20);
    await seeder.waitFor(BLOCKED);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await alarm(false);
    const { code, stderr, stdout } = await seeder.exited;
    expect({ code, stderr }).toEqual({ code: ExitCode.ok, stderr: expect.any(String) });
    const lines = stderr.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(BLOCKED),
      expect.stringMatching(/unblocked publishing after \d+\.\d s; going on$/),
    ]);
    expect(Number(/unblocked publishing after (\d+\.\d) s/.exec(stderr)![1])).toBeGreaterThanOrEqual(3);
    expect(stdout).toMatch(/seeded 3000 items onto queue/);
    expect(await amqpTakeAll(connection(), amqpQueueNames(queue).work)).toEqual(ITEMS);
  }, 30000);

  test('a seed blocked past BROKER_RETRY_SECONDS exits 3 with one line naming the alarm; the rerun after the alarm adds what is missing', async () => {
    const queue = uniqueQueue('alarm-held');
    await alarm(true);
    const started = Date.now();
    const blocked = await seed(queue, 3).exited;
    expect(blocked.code).toBe(ExitCode.brokerUnreachable);
    expect(Date.now() - started).toBeLessThan(10000);
    expect(blocked.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(BLOCKED),
      expect.stringMatching(
        /blocked publishing for 3 s \(BROKER_RETRY_SECONDS\): low on memory, a memory or disk alarm is on; rerun seed to resume once it is cleared$/,
      ),
    ]);
    await alarm(false);
    expect((await seed(queue, 20).exited).code).toBe(ExitCode.ok);
    // What the broker took in before it stopped reading, unconfirmed, is published again: at most SEED_WINDOW items, as after any interruption.
    const onQueue = await amqpTakeAll(connection(), amqpQueueNames(queue).work);
    expect(sorted([...new Set(onQueue)])).toEqual(sorted(ITEMS));
    expect(onQueue.length - ITEMS.length).toBeLessThanOrEqual(SEED_WINDOW);
  }, 30000);

  test("a drain worker goes on under the alarm: it takes, acks and rejects on a connection that never publishes; its dead letters go the broker's way while publishing is blocked, none lost", async () => {
    const queue = uniqueQueue('alarm-work');
    const env = { BROKER_URL: node.url, QUEUE: queue, BROKER_RETRY_SECONDS: '3' };
    expect((await runCli(['seed', 'fine', 'poison-1', 'poison-2'], env)).code).toBe(ExitCode.ok);
    await alarm(true);
    const command = 'item=$(cat); [ "$item" = fine ] && echo "handled $item"';
    const worker = await runCli(['work'], { ...env, WORKER_MODE: 'drain', WORK_COMMAND: command, MAX_ATTEMPTS: '1' });
    expect({ code: worker.code, stdout: worker.stdout }).toEqual({ code: ExitCode.ok, stdout: 'handled fine\n' });
    expect(worker.stderr).toMatch(/"poison-1" failed \(attempt 1 of 1\): moved to dead-letter queue/);
    expect(worker.stderr).toMatch(/"poison-2" failed \(attempt 1 of 1\): moved to dead-letter queue/);
    expect(worker.stderr).toMatch(
      /blocks publishing \(low on memory: a memory or disk alarm is on\); until it unblocks, the broker dead-letters items itself/,
    );
    // The broker moves a rejected item to the dead-letter queue on its own time (a quorum queue's may wait for the alarm).
    await alarm(false);
    const listed = await deadItems(queue, 2);
    // Each item at least once; the publish that got the connection blocked may have gone both ways.
    expect(sorted([...new Set(listed.map(({ item }) => item))])).toEqual(['poison-1', 'poison-2']);
    expect(listed.length).toBeLessThanOrEqual(3);
    // Sent while the connection was blocked: the broker's dead-lettering, which says why it has no record.
    expect(listed).toContainEqual({
      item: 'poison-2',
      attempts: null,
      lastError: null,
      notKept: DeadLetters.notKept.byBrokerForWorker,
    });
    for (const entry of listed) {
      if (entry.attempts !== null)
        expect(entry).toEqual({
          item: entry.item,
          attempts: 1,
          lastError: 'WORK_COMMAND exited with code 1',
          notKept: null,
        });
    }
  }, 30000);
});
