import { type ChannelModel, connect } from 'amqplib';
import { amqpQueueNames } from '../../worker/contract';
import { processed, runCli, uniqueQueue } from '../worker/helpers';
import { LocalCluster, LocalNode, synthesizeCluster } from './local-rabbitmq-cluster';

/**
 * A three-node RabbitMQ cluster formed from what `new RabbitMQStatefulSet(chart, 'mq', { replicas: 3 })`
 * synthesizes (its 20-cluster.conf with the pod node names mapped to local ones, its Erlang cookie),
 * run as three local nodes beside the system broker, which is never touched. The queue's leader is
 * killed with SIGKILL while single workers spread over the three nodes take items.
 */
const ITEMS = Array.from({ length: 300 }, (_, index) => `item-${String(index).padStart(3, '0')}`);
/** Workers running at once, spread round-robin over the nodes. */
const SLOTS = 6;

let cluster: LocalCluster;

beforeAll(async () => {
  cluster = new LocalCluster(synthesizeCluster('mq', 3), {
    prefix: 'wqtest',
    firstAmqpPort: 5701,
    firstDistPort: 25701,
    // RabbitMQ 3.10 (this machine's) delays a blank node's peer discovery by 5-60 s at random to
    // keep nodes from forming clusters of their own; 4.x (the image's) coordinates the start
    // without it. Shortened for the local run only.
    extraConf: ['cluster_formation.randomized_startup_delay_range.min = 0', 'cluster_formation.randomized_startup_delay_range.max = 2'],
  });
  try {
    await cluster.start();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}, 120000);

afterAll(async () => {
  await cluster?.stop();
});

test('three local nodes form one cluster from the synthesized 20-cluster.conf and Erlang cookie', async () => {
  const names = cluster.nodes.map((node) => node.nodeName).sort();
  for (const node of cluster.nodes) expect(await cluster.runningNodes(node)).toEqual(names);
});

test('kill -9 of the queue leader mid-run: every item processed at least once, none dead, nothing left, the node back in the cluster', async () => {
  const started = Date.now();
  const queue = uniqueQueue('cluster');
  const [first] = cluster.nodes;
  const seeded = await runCli(['seed', ...ITEMS], { BROKER_URL: first.url, QUEUE: queue });
  expect(seeded).toMatchObject({ code: 0 });

  const { leader, members } = await queueLeader(first, queue);
  const leaderNode = cluster.nodes.find((node) => node.nodeName === leader)!;
  expect(leaderNode).toBeDefined();

  // Single workers, SLOTS at a time over the three nodes' ports; a slot stops when its worker
  // finds the queue empty.
  const done: string[] = [];
  const exits: Record<string, number> = {};
  let killed: { at: number; elected?: number; newLeader?: string; restartMs?: number } | undefined;
  const slot = async (index: number) => {
    const node = cluster.nodes[index % cluster.nodes.length];
    for (;;) {
      const worker = await runCli(['work'], {
        BROKER_URL: node.url, QUEUE: queue, WORKER_MODE: 'single', WORK_SECONDS: '0', BROKER_RETRY_SECONDS: '40',
      });
      const key = String(worker.code ?? worker.signal);
      exits[key] = (exits[key] ?? 0) + 1;
      if (worker.code === 0) done.push(...processed(worker.stdout));
      if (/stayed empty/.test(worker.stdout + worker.stderr)) return;
      if (worker.code !== 0 && worker.code !== 3) throw new Error(`worker on ${node.nodeName} exited ${key}:\n${worker.stdout}\n${worker.stderr}`);
    }
  };
  const killer = async () => {
    while (new Set(done).size < ITEMS.length / 3) await pause(50);
    leaderNode.kill();
    killed = { at: Date.now() };
    await leaderNode.exited();
    const survivor = cluster.nodes.find((node) => node !== leaderNode)!;
    for (;;) {
      const now = await queueLeader(survivor, queue).catch(() => undefined);
      if (now && now.leader !== leader && now.leader !== '') {
        killed.elected = Date.now() - killed.at;
        killed.newLeader = now.leader;
        break;
      }
      if (Date.now() - killed.at > 20000) throw new Error(`no new leader of ${queue} 20 s after killing ${leader}`);
      await pause(100);
    }
    await pause(2000);
    const restarting = Date.now();
    await leaderNode.start();
    killed.restartMs = Date.now() - restarting;
  };
  await Promise.all([killer(), ...Array.from({ length: SLOTS }, (_, index) => slot(index))]);

  const unique = new Set(done);
  const duplicated = done.length - unique.size;
  const lost = ITEMS.filter((item) => !unique.has(item));
  const names = cluster.nodes.map((node) => node.nodeName).sort();
  const survivor = cluster.nodes.find((node) => node !== leaderNode)!;
  const left = await takeAll(survivor.url, queue);
  const dead = await takeAll(survivor.url, amqpQueueNames(queue).dead);
  const running = await cluster.runningNodes(leaderNode);
  console.log(
    `cluster run: ${ITEMS.length} items, quorum group of ${members.length} (${members.join(', ')}), leader ${leader} killed after ` +
    `${ITEMS.length / 3} items; new leader ${killed?.newLeader} seen after ${killed?.elected} ms (polled every 100 ms); ` +
    `restarted in ${killed?.restartMs} ms; ${done.length} acknowledged, ${unique.size} distinct, ${duplicated} duplicated, ` +
    `${lost.length} lost, ${left.length} left, ${dead.length} dead; worker exits ${JSON.stringify(exits)}; ${Date.now() - started} ms`,
  );

  expect(lost).toEqual([]);
  expect([...unique].every((item) => ITEMS.includes(item))).toBe(true);
  expect(left).toEqual([]);
  expect(dead).toEqual([]);
  expect(running).toEqual(names);
}, 150000);

/** The quorum queue's leader and members as a node reports them, once the queue is known there. */
async function queueLeader(node: LocalNode, queue: string): Promise<{ leader: string; members: string[] }> {
  const deadline = Date.now() + 10000;
  for (;;) {
    const rows = JSON.parse(await node.ctl(['list_queues', 'name', 'type', 'leader', 'members', '--formatter', 'json'])) as
      { name: string; type: string; leader: string; members: string[] }[];
    const row = rows.find((r) => r.name === queue);
    if (row) {
      if (row.type !== 'quorum') throw new Error(`${queue} is a ${row.type} queue, expected quorum`);
      return { leader: row.leader, members: row.members };
    }
    if (Date.now() > deadline) throw new Error(`${node.nodeName} does not list ${queue}: ${rows.map((r) => r.name).join(', ')}`);
    await pause(200);
  }
}

/** Takes every message a consumer gets from a queue within a second of the last one (list_queues counts lag). */
async function takeAll(url: string, queue: string): Promise<string[]> {
  const model: ChannelModel = await connect(url);
  model.on('error', () => undefined);
  try {
    const channel = await model.createChannel();
    const bodies: string[] = [];
    let last = Date.now();
    await channel.prefetch(100);
    await channel.consume(queue, (message) => {
      if (!message) return;
      bodies.push(message.content.toString('utf8'));
      channel.ack(message);
      last = Date.now();
    });
    while (Date.now() - last < 1000) await pause(100);
    return bodies;
  } finally {
    await model.close().catch(() => undefined);
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
