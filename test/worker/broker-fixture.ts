import type { ChannelModel } from 'amqplib';
import type { RedisClientType } from 'redis';
import { connectAmqp, connectRedis, deleteAmqpQueue, deleteRedisQueue, killLeftovers, uniqueQueue } from './helpers';

export type BrokerKind = 'redis' | 'amqp';

/** The live brokers of a describe block, or of a file when called outside any. */
export interface BrokerFixture {
  /** The client of the generation's Redis, connected before the first test. */
  readonly redis: RedisClientType;
  /** The connection to the generation's RabbitMQ, made before the first test. */
  readonly amqp: ChannelModel;
  /**
   * A queue name no other test uses, beginning with `prefix`; after the last test the queue is
   * deleted from the brokers named, by default from every broker of the fixture.
   */
  queue(prefix: string, ...on: BrokerKind[]): string;
}

/**
 * Connects to the brokers named before the block's first test; after its last, kills whatever CLI
 * process a test left running, deletes every queue named through `queue`, and closes the
 * connections: the set-up and clean-up every broker suite of test/worker shares.
 */
export function useBrokers(...brokers: BrokerKind[]): BrokerFixture {
  const clients: { redis?: RedisClientType; amqp?: ChannelModel } = {};
  const queues: { on: BrokerKind[]; name: string }[] = [];

  beforeAll(async () => {
    if (brokers.includes('redis')) clients.redis = await connectRedis();
    if (brokers.includes('amqp')) clients.amqp = await connectAmqp();
  });

  afterAll(async () => {
    killLeftovers();
    // A broker that could not be reached failed beforeAll, naming it; there is nothing to delete there.
    const { redis, amqp } = clients;
    for (const { on, name } of queues) {
      if (redis && on.includes('redis')) await deleteRedisQueue(redis, name);
      if (amqp && on.includes('amqp')) await deleteAmqpQueue(amqp, name);
    }
    await redis?.close();
    await amqp?.close();
  });

  function asked(broker: BrokerKind): void {
    if (!brokers.includes(broker))
      throw new Error(`useBrokers(${brokers.map((b) => `'${b}'`).join(', ')}): ${broker} was not asked for`);
  }
  function connected<T>(broker: BrokerKind, client: T | undefined): T {
    asked(broker);
    if (!client)
      throw new Error(
        `useBrokers: the ${broker} connection is made in beforeAll, before the first test; it was read sooner`,
      );
    return client;
  }

  return {
    get redis() {
      return connected('redis', clients.redis);
    },
    get amqp() {
      return connected('amqp', clients.amqp);
    },
    queue(prefix, ...on) {
      on.forEach(asked);
      const name = uniqueQueue(prefix);
      queues.push({ on: on.length > 0 ? on : brokers, name });
      return name;
    },
  };
}
