import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { type ChannelModel, connect } from 'amqplib';
import { SEED_WINDOW } from '../../worker/amqp/seeder';
import { amqpQueueNames } from '../../contract';
import { closedPort, processed, runCli, startCli, uniqueQueue } from '../worker/helpers';
import { expectAllOnce } from '../worker/seed-window';
import { LocalCluster, type LocalNode, type SynthesizedCluster, synthesizeCluster } from './local-rabbitmq-cluster';
import type { RabbitMQInstall } from './rabbitmq-install';

/**
 * A three-node RabbitMQ cluster formed from what `new RabbitMQStatefulSet(chart, 'mq', { replicas: 3 })`
 * synthesizes (its 20-cluster.conf with the pod node names mapped to local ones, its Erlang cookie),
 * run as three local nodes beside the system broker, which is never touched, once on each broker
 * generation (the machine's RabbitMQ 3.10 and the deployed 4.0). The queue's leader is killed with
 * SIGKILL while single workers spread over the three nodes take items.
 */
const ITEMS = Array.from({ length: 300 }, (_, index) => `item-${String(index).padStart(3, '0')}`);
/** Workers running at once, spread round-robin over the nodes. */
const SLOTS = 6;
/** Enough items that the seed is still under way when its node is killed. */
const SEED_ITEMS = 20000;
/** The seeder's first progress line: it has connected and pushed a tenth of the items. */
const SEEDING = /^seeding \d+\/\d+ items/m;

/** The items a worker processed and acknowledged without the broker's confirmation, as it says so. */
function unconfirmedItems(stderr: string): string[] {
  return [
    ...stderr.matchAll(/^work-queue: (".*") was processed but not completed: its acknowledgement was sent,/gm),
  ].map((match) => JSON.parse(match[1]) as string);
}

/**
 * The suite on one generation's RabbitMQ. Each generation has a test file of its own
 * (rabbitmq-cluster-3.10.test.ts, rabbitmq-cluster-4.0.test.ts), so that jest runs them side by side.
 */
export function describeRabbitMQCluster(install: RabbitMQInstall): void {
  describe(`a three-node cluster on ${install.generation}`, () => {
    let cluster: LocalCluster | undefined;
    let synthesized: SynthesizedCluster;

    /** The cluster, which beforeAll starts. */
    function startedCluster(): LocalCluster {
      if (cluster === undefined) throw new Error('the cluster did not start (see beforeAll)');
      return cluster;
    }

    /** The environment the synthesized Jobs give a client of the cluster, connected to `node`. */
    function clientEnv(node: LocalNode, queue: string, extra: Record<string, string> = {}): Record<string, string> {
      return { BROKER_URL: node.url, QUEUE: queue, BROKER_REPLICAS: synthesized.brokerReplicas, ...extra };
    }

    beforeAll(async () => {
      await install.ready();
      // Names and ports of this run's own, so that two runs on one machine do not meet. The last node
      // runs the management plugin (the image does not enable it), for status's leader and members.
      const ports: ([number, number] | [number, number, number])[] = [];
      for (let index = 0; index < 3; index++) ports.push([await closedPort(), await closedPort()]);
      ports[2] = [...ports[2], await closedPort()] as [number, number, number];
      synthesized = synthesizeCluster('mq', 3);
      cluster = new LocalCluster(synthesized, {
        install,
        prefix: `test${process.pid}n`,
        ports,
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
      const names = startedCluster()
        .nodes.map((node) => node.nodeName)
        .sort();
      for (const node of startedCluster().nodes) expect(await startedCluster().runningNodes(node)).toEqual(names);
    });

    test('kill -9 of the queue leader mid-run: every item processed at least once, none dead, nothing left, the node back in the cluster', async () => {
      const started = Date.now();
      const queue = uniqueQueue('cluster');
      const [first] = startedCluster().nodes;
      const seeded = await runCli(['seed', ...ITEMS], clientEnv(first, queue));
      expect(seeded).toMatchObject({ code: 0 });

      const { leader, members } = await queueLeader(first, queue);
      const leaderNode = startedCluster().nodes.find((node) => node.nodeName === leader)!;
      expect(leaderNode).toBeDefined();
      // BROKER_REPLICAS 3 (x-quorum-initial-group-size): a member on every node.
      expect(synthesized.brokerReplicas).toBe('3');
      expect(members.sort()).toEqual(
        startedCluster()
          .nodes.map((node) => node.nodeName)
          .sort(),
      );
      // status reads the same through the management API of any node.
      const status = await runCli(
        ['status'],
        clientEnv(startedCluster().nodes[2], queue, { BROKER_MANAGEMENT_URL: startedCluster().nodes[2].managementUrl }),
      );
      expect(status.stdout).toMatch(
        new RegExp(`^queue ${queue}: leader ${String(leader)}, members ${members.sort().join(', ')}$`, 'm'),
      );

      // Single workers, SLOTS at a time over the three nodes' ports; a slot stops when its worker
      // finds the queue empty.
      const done: string[] = [];
      const unconfirmed: string[] = [];
      const exits: Record<string, number> = {};
      let killed: { at: number; elected?: number; newLeader?: string; restartMs?: number } | undefined;
      const slot = async (index: number) => {
        const node = startedCluster().nodes[index % startedCluster().nodes.length];
        for (;;) {
          const worker = await runCli(
            ['work'],
            clientEnv(node, queue, { WORKER_MODE: 'single', WORK_SECONDS: '0', BROKER_RETRY_SECONDS: '40' }),
          );
          const key = String(worker.code ?? worker.signal);
          exits[key] = (exits[key] ?? 0) + 1;
          if (worker.code === 0) done.push(...processed(worker.stdout));
          // Exit 3 after processing: its ack was sent but not confirmed before its node died. The
          // broker may have taken it (then it is not delivered again) or not (then another worker takes it).
          if (worker.code === 3) unconfirmed.push(...unconfirmedItems(worker.stderr));
          if (/stayed empty/.test(worker.stdout + worker.stderr)) return;
          if (worker.code !== 0 && worker.code !== 3)
            throw new Error(`worker on ${node.nodeName} exited ${key}:\n${worker.stdout}\n${worker.stderr}`);
        }
      };
      const killer = async () => {
        while (new Set(done).size < ITEMS.length / 3) await pause(50);
        leaderNode.kill();
        killed = { at: Date.now() };
        await leaderNode.exited();
        const survivor = startedCluster().nodes.find((node) => node !== leaderNode)!;
        for (;;) {
          const now = await raLeader(survivor, queue).catch(() => undefined);
          if (now !== undefined && now !== leader) {
            killed.elected = Date.now() - killed.at;
            killed.newLeader = now;
            break;
          }
          if (Date.now() - killed.at > 20000)
            throw new Error(`no new leader of ${queue} 20 s after killing ${String(leader)}`);
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
      const lost = ITEMS.filter((item) => !unique.has(item) && !unconfirmed.includes(item));
      const names = startedCluster()
        .nodes.map((node) => node.nodeName)
        .sort();
      const survivor = startedCluster().nodes.find((node) => node !== leaderNode)!;
      const left = await takeAll(survivor.url, queue);
      const dead = await takeAll(survivor.url, amqpQueueNames(queue).dead);
      const running = await startedCluster().runningNodes(leaderNode);
      console.log(
        `cluster run: ${ITEMS.length} items, quorum group of ${members.length} (${members.join(', ')}), leader ${String(leader)} killed after ` +
          `${ITEMS.length / 3} items; new leader ${String(killed?.newLeader)} seen ${String(killed?.elected)} ms after the kill (an upper bound: each look takes ~0.8 s of CLI start); ` +
          `restarted in ${String(killed?.restartMs)} ms; ${done.length} acknowledged, ${unique.size} distinct, ${duplicated} duplicated, ` +
          `${unconfirmed.length} processed with the ack unconfirmed (${unconfirmed.filter((item) => !unique.has(item)).length} of them not delivered again), ${lost.length} lost, ${left.length} left, ${dead.length} dead; worker exits ${JSON.stringify(exits)}; ${Date.now() - started} ms`,
      );

      expect(lost).toEqual([]);
      expect([...unique].every((item) => ITEMS.includes(item))).toBe(true);
      expect(left).toEqual([]);
      expect(dead).toEqual([]);
      expect(running).toEqual(names);
    }, 150000);

    test('BROKER_REPLICAS is the group size a queue is created with: 1 gives one member, on the node the client declared it on', async () => {
      const queue = uniqueQueue('cluster-size');
      const node = startedCluster().nodes[1];
      expect((await runCli(['seed', 'a'], clientEnv(node, queue, { BROKER_REPLICAS: '1' }))).code).toBe(0);
      expect(await queueLeader(startedCluster().nodes[0], queue)).toEqual({
        leader: node.nodeName,
        members: [node.nodeName],
      });
    });

    describe('seeding, interrupted mid-seed', () => {
      const items = Array.from({ length: SEED_ITEMS }, (_, index) => `seed-${index}`);
      let itemsFile: string;
      beforeAll(() => {
        itemsFile = path.join(startedCluster().dir, 'seed-items.json');
        writeFileSync(itemsFile, JSON.stringify(items));
      });

      /** Takes the queue's items and checks them: none missing, none foreign, at most SEED_WINDOW twice. */
      async function expectTheItems(url: string, queue: string): Promise<string> {
        const onQueue = await takeAll(url, queue);
        const { duplicated } = expectAllOnce(onQueue, items, SEED_WINDOW);
        return `${onQueue.length} on the queue, none missing, ${duplicated} twice (at most ${SEED_WINDOW})`;
      }

      test('kill -9 of the seeding node, restarted: the seeder rides it out; every item on the queue, at most SEED_WINDOW twice', async () => {
        const started = Date.now();
        const queue = uniqueQueue('cluster-seed');
        const [, seedingNode, other] = startedCluster().nodes;
        const seeder = startCli(
          ['seed'],
          clientEnv(seedingNode, queue, { ITEMS_FILE: itemsFile, BROKER_RETRY_SECONDS: '60' }),
        );
        // Killed once the seed is under way, not at a fixed time: a slow start would kill the node before the seeder connects.
        await seeder.waitFor(SEEDING);
        seedingNode.kill();
        await seedingNode.exited();
        const restarting = Date.now();
        await seedingNode.start();
        const restartMs = Date.now() - restarting;
        const seeded = await seeder.exited;
        expect(seeded).toMatchObject({ code: 0 });
        expect(seeded.stderr).toMatch(/lost the connection/);
        const counts = await expectTheItems(other.url, queue);
        expect(await startedCluster().runningNodes(seedingNode)).toEqual(
          startedCluster()
            .nodes.map((node) => node.nodeName)
            .sort(),
        );
        console.log(
          `cluster seed run (node killed): ${items.length} items, ${seedingNode.nodeName} killed at the seeder's first progress line, ` +
            `restarted in ${restartMs} ms; seeder: ${String(seeded.stdout.trim().split('\n').pop())}; ${counts}; ${Date.now() - started} ms`,
        );
      }, 90000);

      test('kill -9 of the seeder, re-run through another node (twice): every item on the queue, none skipped, at most SEED_WINDOW twice', async () => {
        for (let round = 0; round < 2; round++) {
          const started = Date.now();
          const queue = uniqueQueue('cluster-reseed');
          const [seedingNode, rerunNode] =
            round === 0
              ? [startedCluster().nodes[0], startedCluster().nodes[2]]
              : [startedCluster().nodes[2], startedCluster().nodes[1]];
          const seeder = startCli(['seed'], clientEnv(seedingNode, queue, { ITEMS_FILE: itemsFile }));
          await seeder.waitFor(SEEDING);
          seeder.kill('SIGKILL');
          expect((await seeder.exited).signal).toBe('SIGKILL');
          const rerun = await runCli(['seed'], clientEnv(rerunNode, queue, { ITEMS_FILE: itemsFile }));
          expect(rerun.code).toBe(0);
          expect(rerun.stdout).toMatch(/^resuming seed [0-9a-f]+ at item \d+ of \d+/m);
          const counts = await expectTheItems(rerunNode.url, queue);
          console.log(
            `cluster seed run (seeder killed, round ${round + 1}): ${rerun.stdout.trim().split('\n')[0]}; ${counts}; ${Date.now() - started} ms`,
          );
        }
      }, 90000);

      test('items the queue refuses (a max-length policy with reject-publish) are retried over new connections, then the seed fails; the re-run finishes it', async () => {
        const queue = uniqueQueue('cluster-refused');
        const node = startedCluster().nodes[0];
        const limit = 5000;
        await node.ctl([
          'set_policy',
          '--apply-to',
          'queues',
          `${queue}-limit`,
          `^${queue}$`,
          JSON.stringify({ 'max-length': limit }),
        ]);
        const refused = await runCli(
          ['seed'],
          clientEnv(node, queue, { ITEMS_FILE: itemsFile, BROKER_RETRY_SECONDS: '2' }),
        );
        expect(refused.code).toBe(1);
        expect(refused.stderr).toMatch(
          new RegExp(
            `^work-queue: queue ${queue}: the broker refused a seeded item \\(message nacked\\); going on over a new connection$`,
            'm',
          ),
        );
        expect(refused.stderr.trim().split('\n').pop()).toBe(
          `work-queue: queue ${queue}: the broker refused a seeded item (message nacked); rerun seed to resume`,
        );
        await node.ctl(['clear_policy', `${queue}-limit`]);
        const rerun = await runCli(['seed'], clientEnv(node, queue, { ITEMS_FILE: itemsFile }));
        expect(rerun.code).toBe(0);
        // The queue took `limit` items (a quorum queue may take a few more before it refuses).
        expect(Number(/^resuming seed [0-9a-f]+ at item (\d+) of/m.exec(rerun.stdout)?.[1])).toBeGreaterThanOrEqual(
          limit + 1,
        );
        const counts = await expectTheItems(node.url, queue);
        console.log(
          `cluster seed run (refused past ${limit}): ${refused.stderr.split('going on over a new connection').length - 1} retries over new connections; ${rerun.stdout.trim().split('\n')[0]}; ${counts}`,
        );
      }, 60000);

      test('kill -9 of the seeding node, which leads the seed marker, and of the seeder; re-run through another node while it is down', async () => {
        const started = Date.now();
        const queue = uniqueQueue('cluster-marker');
        const [rerunNode, seedingNode] = startedCluster().nodes;
        const seeder = startCli(['seed'], clientEnv(seedingNode, queue, { ITEMS_FILE: itemsFile }));
        await seeder.waitFor(SEEDING);
        // Stopped while the marker's leader is looked up, so that the kills land mid-seed. A quorum
        // queue's first leader is the node its declaring client is connected to.
        seeder.kill('SIGSTOP');
        expect((await queueLeader(rerunNode, amqpQueueNames(queue).marker)).leader).toBe(seedingNode.nodeName);
        seedingNode.kill();
        seeder.kill('SIGKILL');
        await Promise.all([seedingNode.exited(), seeder.exited]);
        try {
          const rerun = await runCli(
            ['seed'],
            clientEnv(rerunNode, queue, { ITEMS_FILE: itemsFile, BROKER_RETRY_SECONDS: '30' }),
          );
          if (rerun.code !== 0)
            console.log(`re-run while ${seedingNode.nodeName} is down:\n${rerun.stdout}\n${rerun.stderr}`);
          // A node that has not yet noticed the leader's death may close the connection once (nodedown): ridden out.
          expect(rerun).toMatchObject({
            code: 0,
            stderr: expect.not.stringMatching(/home node|is down or inaccessible/),
          });
          expect(rerun.stdout).toMatch(/^resuming seed [0-9a-f]+ at item \d+ of \d+/m);
          const counts = await expectTheItems(rerunNode.url, queue);
          console.log(
            `cluster seed run (marker leader ${seedingNode.nodeName} down): ${rerun.stdout.trim().split('\n')[0]}; ${counts}; ` +
              `the re-run reconnected ${rerun.stderr.split('reconnected to').length - 1} times, met ${rerun.stderr.split('refused a seeded item').length - 1} refusals; ${Date.now() - started} ms`,
          );
        } finally {
          await seedingNode.start();
        }
        expect(await startedCluster().runningNodes(seedingNode)).toEqual(
          startedCluster()
            .nodes.map((node) => node.nodeName)
            .sort(),
        );
      }, 90000);
    });
  });
}

/**
 * The quorum queue's leader and members as `rabbitmq-queues quorum_status` on a node reports them
 * (each call takes about 0.8 s, most of it the CLI's own start; `list_queues` waits on a down node).
 */
async function queueLeader(node: LocalNode, queue: string): Promise<{ leader?: string; members: string[] }> {
  const rows = JSON.parse(await node.tool('rabbitmq-queues', ['quorum_status', queue, '--formatter', 'json'])) as {
    'Node Name': string;
    'Raft State': unknown;
  }[];
  return {
    leader: rows.find((row) => row['Raft State'] === 'leader')?.['Node Name'],
    members: rows.map((row) => row['Node Name']),
  };
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
