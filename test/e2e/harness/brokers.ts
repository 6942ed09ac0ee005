/**
 * The local brokers of a generation (broker-generation.ts) as the scenarios see them from outside
 * the pods: reachability, a clean queue before a run, what is left on it after, and items fed to
 * it as any producer would. They talk to 127.0.0.1 directly, as an administrator would, not
 * through the Services' gates.
 */
import { type Channel, connect as connectAmqp } from 'amqplib';
import { createClient, type RedisClientType } from 'redis';
import { amqpQueueNames, deadLetterQueue, queueKeys } from '../../../contract';
import { listening } from '../../listening';
import type { BrokerGeneration } from './broker-generation';

/** Fails naming every broker of the generations that does not answer, where it should be, and how to start it. */
export async function requireBrokers(generations: readonly BrokerGeneration[]): Promise<void> {
  const down: string[] = [];
  for (const generation of generations) {
    for (const [broker, url] of [
      ['RabbitMQ', generation.amqpAdminUrl],
      ['Redis', generation.redisUrl],
    ] as const) {
      const { hostname, port } = new URL(url);
      if (!(await listening(hostname, Number(port))))
        down.push(`${broker} of the ${generation.description} generation on ${hostname}:${port}`);
    }
  }
  if (down.length > 0)
    throw new Error(
      `The e2e tests need ${down.join(' and ')}, which do not answer. Run \`bash .ci/start-brokers\` (as root).`,
    );
}

/** One generation's RabbitMQ and Redis, administered from the host. */
export class Brokers {
  constructor(readonly generation: BrokerGeneration) {}

  /** Deletes every key of the queue, the seeding marker included, so the seeder starts afresh. */
  resetRedisQueue(queue: string): Promise<void> {
    return this.withRedis(async (client) => {
      await client.del(Object.values(queueKeys(queue)));
    });
  }

  /** Items still waiting, held or dead-lettered, by key role; empty when the queue is fully drained. */
  redisLeftovers(queue: string): Promise<Partial<Record<string, number>>> {
    const keys = queueKeys(queue);
    return this.withRedis(async (client) =>
      nonZero({
        pending: await client.lLen(keys.pending),
        processing: await client.hLen(keys.processing),
        leases: await client.zCard(keys.leases),
        dead: await client.lLen(keys.dead),
      }),
    );
  }

  /** Appends items to the queue's list with RPUSH, as any producer feeds the fine pattern (the tutorial's `rpush job2 ...`). */
  pushRedisItems(queue: string, items: string[]): Promise<void> {
    return this.withRedis(async (client) => {
      await client.rPush(queueKeys(queue).pending, items);
    });
  }

  /** Deletes the work, dead-letter and seed-marker queues, so the seeder starts afresh. */
  resetAmqpQueue(queue: string): Promise<void> {
    return this.withAmqp(async (channel) => {
      for (const name of Object.values(amqpQueueNames(queue))) await channel.deleteQueue(name);
    });
  }

  /** Empties the queue's ready messages (its seed marker, on a queue of its own, stays). */
  purgeAmqpQueue(queue: string): Promise<void> {
    return this.withAmqp(async (channel) => {
      await channel.purgeQueue(queue);
    });
  }

  /** Publishes items to the queue as any producer feeds the coarse pattern: persistent, by the default exchange, confirmed by the broker. */
  async publishAmqpItems(queue: string, items: string[]): Promise<void> {
    const connection = await connectAmqp(this.generation.amqpAdminUrl);
    try {
      const channel = await connection.createConfirmChannel();
      for (const item of items) channel.sendToQueue(queue, Buffer.from(item, 'utf8'), { persistent: true });
      await channel.waitForConfirms();
    } finally {
      await connection.close();
    }
  }

  /** Messages left on the work and dead-letter queues, by role; empty when the queue is fully drained. */
  amqpLeftovers(queue: string): Promise<Partial<Record<string, number>>> {
    return this.withAmqp(async (channel) =>
      nonZero({
        pending: (await channel.checkQueue(queue)).messageCount,
        dead: (await channel.checkQueue(deadLetterQueue(queue))).messageCount,
      }),
    );
  }

  private async withRedis<T>(use: (client: RedisClientType) => Promise<T>): Promise<T> {
    const client = createClient({ url: this.generation.redisUrl }) as RedisClientType;
    await client.connect();
    try {
      return await use(client);
    } finally {
      await client.quit();
    }
  }

  private async withAmqp<T>(use: (channel: Channel) => Promise<T>): Promise<T> {
    const connection = await connectAmqp(this.generation.amqpAdminUrl);
    try {
      return await use(await connection.createChannel());
    } finally {
      await connection.close();
    }
  }
}

function nonZero(sizes: Record<string, number>): Partial<Record<string, number>> {
  return Object.fromEntries(Object.entries(sizes).filter(([, size]) => size > 0));
}
