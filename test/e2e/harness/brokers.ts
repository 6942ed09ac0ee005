/**
 * The local brokers as the scenarios see them from outside the pods: reachability, a clean queue
 * before a run, what is left on it after, and the RabbitMQ user the synthesized Secret names.
 */
import { connect as connectTcp } from 'net';
import { type Channel, connect as connectAmqp } from 'amqplib';
import { createClient, type RedisClientType } from 'redis';
import { amqpQueueNames, deadLetterQueue, Defaults, queueKeys } from '../../../worker/contract';

const HOST = '127.0.0.1';
const REDIS_URL = `redis://${HOST}:${Defaults.redisPort}`;
/** The local RabbitMQ's administrator; guest may log in from localhost only, which is where the harness runs. */
const AMQP_ADMIN_URL = `amqp://guest:guest@${HOST}:${Defaults.amqpPort}`;

export async function requireBrokers(): Promise<void> {
  const down: string[] = [];
  for (const [name, port] of [
    ['Redis', Defaults.redisPort],
    ['RabbitMQ', Defaults.amqpPort],
  ] as const) {
    if (!(await listening(port))) down.push(`${name} on ${HOST}:${port}`);
  }
  if (down.length > 0) throw new Error(`The e2e tests need ${down.join(' and ')}, which do not answer. Run \`bash .ci/start-brokers\`.`);
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: HOST, port, timeout: 2000 });
    const answer = (up: boolean) => {
      socket.destroy();
      resolve(up);
    };
    socket.once('connect', () => answer(true));
    socket.once('error', () => answer(false));
    socket.once('timeout', () => answer(false));
  });
}

async function withRedis<T>(use: (client: RedisClientType) => Promise<T>): Promise<T> {
  const client = createClient({ url: REDIS_URL }) as RedisClientType;
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.quit();
  }
}

/** Deletes every key of the queue, the seeding marker included, so the seeder starts afresh. */
export function resetRedisQueue(queue: string): Promise<void> {
  return withRedis(async (client) => {
    await client.del(Object.values(queueKeys(queue)));
  });
}

/** Items still waiting, held or dead-lettered, by key role; empty when the queue is fully drained. */
export function redisLeftovers(queue: string): Promise<Record<string, number>> {
  const keys = queueKeys(queue);
  return withRedis(async (client) => {
    const sizes: Record<string, number> = {
      pending: await client.lLen(keys.pending),
      processing: await client.hLen(keys.processing),
      leases: await client.zCard(keys.leases),
      dead: await client.lLen(keys.dead),
    };
    return Object.fromEntries(Object.entries(sizes).filter(([, size]) => size > 0));
  });
}

/** Appends items to the queue's list with RPUSH, as any producer feeds the fine pattern (the tutorial's `rpush job2 ...`). */
export function pushRedisItems(queue: string, items: string[]): Promise<void> {
  return withRedis(async (client) => {
    await client.rPush(queueKeys(queue).pending, items);
  });
}

async function withAmqp<T>(use: (channel: Channel) => Promise<T>): Promise<T> {
  const connection = await connectAmqp(AMQP_ADMIN_URL);
  try {
    return await use(await connection.createChannel());
  } finally {
    await connection.close();
  }
}

/** Deletes the work, dead-letter and seed-marker queues, so the seeder starts afresh. */
export function resetAmqpQueue(queue: string): Promise<void> {
  return withAmqp(async (channel) => {
    for (const name of Object.values(amqpQueueNames(queue))) await channel.deleteQueue(name);
  });
}

/** Publishes items to the queue as any producer feeds the coarse pattern: persistent, by the default exchange, confirmed by the broker. */
export async function publishAmqpItems(queue: string, items: string[]): Promise<void> {
  const connection = await connectAmqp(AMQP_ADMIN_URL);
  try {
    const channel = await connection.createConfirmChannel();
    for (const item of items) channel.sendToQueue(queue, Buffer.from(item, 'utf8'), { persistent: true });
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}

/** Messages left on the work and dead-letter queues, by role; empty when the queue is fully drained. */
export function amqpLeftovers(queue: string): Promise<Record<string, number>> {
  return withAmqp(async (channel) => {
    const sizes: Record<string, number> = {
      pending: (await channel.checkQueue(queue)).messageCount,
      dead: (await channel.checkQueue(deadLetterQueue(queue))).messageCount,
    };
    return Object.fromEntries(Object.entries(sizes).filter(([, size]) => size > 0));
  });
}
