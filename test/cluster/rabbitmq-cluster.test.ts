import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { type ChannelModel, connect } from 'amqplib';
import { amqpQueueNames } from '../../worker/contract';
import { closedPort, processed, runCli, startCli, uniqueQueue } from '../worker/helpers';
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
/** Enough items that the seed is still under way when its node is killed. */
const SEED_ITEMS = 20000;
const SEED_KILL_AFTER_MS = 400;

let cluster: LocalCluster;

beforeAll(async () => {
  // Names and ports of this run's own, so that two runs on one machine do not meet.
  const ports: [number, number][] = [];
  for (let index = 0; index < 3; index++) ports.push([await closedPort(), await closedPort()]);
  cluster = new LocalCluster(synthesizeCluster('mq', 3), {
    prefix: `wqtest${process.pid}n`,
    ports,
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
  // The worker declares no x-quorum-initial-group-size: RabbitMQ puts a member on every node.
  expect(members.sort()).toEqual(cluster.nodes.map((node) => node.nodeName).sort());

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
      const now = await raLeader(survivor, queue).catch(() => undefined);
      if (now !== undefined && now !== leader) {
        killed.elected = Date.now() - killed.at;
        killed.newLeader = now;
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
    `${ITEMS.length / 3} items; new leader ${killed?.newLeader} seen ${killed?.elected} ms after the kill (an upper bound: each look takes ~0.8 s of CLI start); ` +
    `restarted in ${killed?.restartMs} ms; ${done.length} acknowledged, ${unique.size} distinct, ${duplicated} duplicated, ` +
    `${lost.length} lost, ${left.length} left, ${dead.length} dead; worker exits ${JSON.stringify(exits)}; ${Date.now() - started} ms`,
  );

  expect(lost).toEqual([]);
  expect([...unique].every((item) => ITEMS.includes(item))).toBe(true);
  expect(left).toEqual([]);
  expect(dead).toEqual([]);
  expect(running).toEqual(names);
}, 150000);

describe('seeding, interrupted mid-seed', () => {
  const items = Array.from({ length: SEED_ITEMS }, (_, index) => `seed-${index}`);
  let itemsFile: string;
  beforeAll(() => {
    itemsFile = path.join(cluster.dir, 'seed-items.json');
    writeFileSync(itemsFile, JSON.stringify(items));
  });

  /** What a consumer takes off the queue, against the items: none missing, and (with `exactly`) none twice. */
  async function expectTheItems(url: string, queue: string, exactly: boolean): Promise<string> {
    const onQueue = await takeAll(url, queue);
    const counts = new Map<string, number>();
    for (const item of onQueue) counts.set(item, (counts.get(item) ?? 0) + 1);
    const missing = items.filter((item) => !counts.has(item));
    const duplicated = [...counts.values()].filter((count) => count > 1).length;
    if (missing.length > 0) {
      console.log(`${queue}: ${onQueue.length} on the queue, ${missing.length} missing (${missing[0]} to ${missing[missing.length - 1]}), ${duplicated} duplicated`);
    }
    expect(missing).toEqual([]);
    expect([...counts.keys()].every((item) => item.startsWith('seed-'))).toBe(true);
    if (exactly) {
      expect(duplicated).toBe(0);
      expect(onQueue.length).toBe(items.length);
    }
    return `${onQueue.length} on the queue, ${missing.length} missing, ${duplicated} duplicated`;
  }

  test('kill -9 of the seeding node, restarted: the seeder rides it out, every item on the queue', async () => {
    const started = Date.now();
    const queue = uniqueQueue('cluster-seed');
    const [, seedingNode, other] = cluster.nodes;
    const seeder = startCli(['seed'], { BROKER_URL: seedingNode.url, QUEUE: queue, ITEMS_FILE: itemsFile, BROKER_RETRY_SECONDS: '60' });
    await pause(SEED_KILL_AFTER_MS);
    seedingNode.kill();
    await seedingNode.exited();
    const restarting = Date.now();
    await seedingNode.start();
    const restartMs = Date.now() - restarting;
    const seeded = await seeder.exited;
    expect(seeded).toMatchObject({ code: 0 });
    expect(seeded.stderr).toMatch(/lost the connection/);
    // At least once only: the resumed seeder publishes again what its marker no longer shows (see the todo below).
    const counts = await expectTheItems(other.url, queue, false);
    expect(await cluster.runningNodes(seedingNode)).toEqual(cluster.nodes.map((node) => node.nodeName).sort());
    console.log(`cluster seed run (node killed): ${items.length} items, ${seedingNode.nodeName} killed ${SEED_KILL_AFTER_MS} ms into the seed, ` +
      `restarted in ${restartMs} ms; seeder: ${seeded.stdout.trim()}; ${counts}; ${Date.now() - started} ms`);
  }, 90000);

  // Known defect: the seed marker queue is a classic queue that can run ahead of the quorum queue
  // when the seeder dies, so a re-run resumes past items that never reached the queue (seen once in
  // six runs: some items missing). It fails intermittently until the marker is replicated with the queue.
  test.todo('kill -9 of the seeder, re-run through another node: exactly the items (today, now and then, some are missing)');
  test.todo('kill -9 of the seeding node, restarted: exactly the items (today some are seeded twice)');
  test.todo('kill -9 of the seeding node, the seeder re-run through another node while it is down');
});

/**
 * The quorum queue's leader and members as `rabbitmq-queues quorum_status` on a node reports them
 * (each call takes about 0.8 s, most of it the CLI's own start; `list_queues` waits on a down node).
 */
async function queueLeader(node: LocalNode, queue: string): Promise<{ leader?: string; members: string[] }> {
  const rows = JSON.parse(await node.tool('rabbitmq-queues', ['quorum_status', queue, '--formatter', 'json'])) as { 'Node Name': string; 'Raft State': unknown }[];
  return { leader: rows.find((row) => row['Raft State'] === 'leader')?.['Node Name'], members: rows.map((row) => row['Node Name']) };
}

/** The leader a node's own Raft member of the queue knows, one local call (`ra:members`). */
async function raLeader(node: LocalNode, queue: string): Promise<string | undefined> {
  const answer = await node.ctl(['eval', `ra:members({'%2F_${queue}', node()}).`]);
  return /\{'[^']+',([^}]+)\}\}\s*$/.exec(answer.trim())?.[1];
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
