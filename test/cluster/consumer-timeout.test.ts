import { type ChannelModel, connect } from 'amqplib';
import { Chart, Duration, Testing } from 'cdk8s';
import { RabbitMQStatefulSet } from '../../constructs';
import { deadLetterQueue, ExitCode } from '../../contract';
import { runCli, uniqueQueue } from '../worker/helpers';
import { OWN_RABBITMQ_NODES, type OwnRabbitMQNode } from './own-rabbitmq-node';

/**
 * An item whose work outlasts RabbitMQ's consumer timeout, on a node of this test's own (the
 * machine's RabbitMQ 3.10, and the deployed generation's 4.0 from its Debian 13 root) configured with the conf.d file that `RabbitMQStatefulSet` synthesizes
 * for `consumerTimeout: Duration.seconds(3)`. The workers' own WORK_TIMEOUT_SECONDS is set far above it on
 * purpose: this is a worker that hangs, which only the broker notices. RabbitMQ looks at the
 * timeout on its channel tick (once a minute); the node's tick is shortened to a second here.
 */
const CONSUMER_TIMEOUT_SECONDS = 3;
const NAME = 'ct';

/** The single node's `30-work-queue.conf` as `RabbitMQStatefulSet` synthesizes it. */
function synthesizedConf(): string {
  const chart = new Chart(Testing.app(), 'broker');
  new RabbitMQStatefulSet(chart, NAME, {
    name: NAME,
    consumerTimeout: Duration.seconds(CONSUMER_TIMEOUT_SECONDS),
    password: 'unused',
  });
  const objects = chart.toJson() as { kind: string; metadata: { name: string }; data?: Record<string, string> }[];
  const conf = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${NAME}-work-queue`)?.data?.[
    '30-work-queue.conf'
  ];
  if (conf === undefined)
    throw new Error(
      `no ConfigMap ${NAME}-work-queue with 30-work-queue.conf in: ${objects.map((o) => `${o.kind} ${o.metadata.name}`).join(', ')}`,
    );
  expect(conf).toBe(`consumer_timeout = ${CONSUMER_TIMEOUT_SECONDS * 1000}\n`);
  return conf;
}

describe.each(OWN_RABBITMQ_NODES)('consumer timeout on %s', (_generation, startNode) => {
  let node: OwnRabbitMQNode | undefined;
  let amqp: ChannelModel | undefined;

  /** The RabbitMQ node, which beforeAll starts. */
  function startedNode(): OwnRabbitMQNode {
    if (node === undefined) throw new Error('the RabbitMQ node did not start (see beforeAll)');
    return node;
  }

  /** The AMQP connection, which beforeAll starts. */
  function connection(): ChannelModel {
    if (amqp === undefined) throw new Error('the AMQP connection did not start (see beforeAll)');
    return amqp;
  }

  function env(queue: string, extra: Record<string, string> = {}): Record<string, string> {
    // The command hangs; the worker's own limit is far away, so the broker's timeout acts.
    return {
      BROKER_URL: startedNode().url,
      QUEUE: queue,
      WORK_COMMAND: 'sleep 120',
      WORK_TIMEOUT_SECONDS: '600',
      MAX_ATTEMPTS: '2',
      ...extra,
    };
  }

  async function deadCount(queue: string): Promise<number> {
    const channel = await connection().createChannel();
    try {
      for (let i = 0; i < 50; i++) {
        const { messageCount } = await channel.checkQueue(deadLetterQueue(queue));
        if (messageCount > 0) return messageCount;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return 0;
    } finally {
      await channel.close();
    }
  }

  beforeAll(async () => {
    node = await startNode(synthesizedConf());
    // Test-only: the channel tick that checks the timeout, once a second instead of once a minute.
    await node.ctl(['eval', 'application:set_env(rabbit, channel_tick_interval, 1000).']);
    amqp = await connect(node.url);
  }, 150000);

  afterAll(async () => {
    await amqp?.close();
    await node?.stop();
  });

  test('single: each pod whose item outlasts the consumer timeout exits 3 (never 0); after MAX_ATTEMPTS the next pod dead-letters it untried and exits 0', async () => {
    const queue = uniqueQueue('ct-single');
    expect((await runCli(['seed', 'hangs'], env(queue))).code).toBe(ExitCode.ok);
    for (let attempt = 1; attempt <= 2; attempt++) {
      const pod = await runCli(['work'], env(queue));
      expect({ attempt, code: pod.code }).toEqual({ attempt, code: ExitCode.brokerUnreachable });
      expect(pod.stderr).toMatch(
        /closed while an item was in progress \(.*406.*timed out.*\): it was not acknowledged/,
      );
      expect(pod.stderr).not.toMatch(/unexpected error/);
    }
    const last = await runCli(['work'], env(queue));
    expect(last.code).toBe(ExitCode.ok);
    expect(last.stderr).toMatch(/"hangs" was delivered 2 times without an answer: moved to dead-letter queue/);
    expect(await deadCount(queue)).toBe(1);
  }, 120000);

  test('drain: a channel closed under the worker by the consumer timeout is reopened and work goes on; the item is dead-lettered after MAX_ATTEMPTS, exit 0', async () => {
    const queue = uniqueQueue('ct-drain');
    expect((await runCli(['seed', 'hangs', 'fine'], env(queue))).code).toBe(ExitCode.ok);
    const command = 'item=$(cat); if [ "$item" = hangs ]; then sleep 120; fi; echo "handled $item"';
    const pod = await runCli(['work'], env(queue, { WORKER_MODE: 'drain', WORK_COMMAND: command }));
    expect(pod.code).toBe(ExitCode.ok);
    expect(pod.stderr).not.toMatch(/unexpected error/);
    expect(pod.stderr.match(/lost the connection to .*406.*timed out/g)).toHaveLength(2);
    expect(pod.stderr).toMatch(/"hangs" was delivered 2 times without an answer: moved to dead-letter queue/);
    expect(pod.stdout).toMatch(/^handled fine$/m);
    expect(await deadCount(queue)).toBe(1);
  }, 120000);
});
