import { connect as amqpConnect } from 'amqplib';
import { createClient, type RedisClientType } from 'redis';
import { amqpQueueNames, queueKeys } from '../worker/contract';

export const AMQP_URL = process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A queue name no earlier run used. */
export function freshQueue(prefix: string): string {
  return `bench-${prefix}-${process.pid}-${Date.now().toString(36)}`;
}

/** Deletes a queue and its companions (dead-letter, seed marker) on RabbitMQ. */
export async function deleteAmqpQueues(queue: string): Promise<void> {
  const connection = await amqpConnect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    for (const name of Object.values(amqpQueueNames(queue))) await channel.deleteQueue(name);
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** Declares a durable classic queue for the tutorial tools, which publish to and consume from it. */
export async function declareClassicQueue(queue: string): Promise<void> {
  const connection = await amqpConnect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    await channel.assertQueue(queue, { durable: true });
    await channel.close();
  } finally {
    await connection.close();
  }
}

/** Runs `use` with a Redis client, closing it afterwards. */
export async function withRedis<T>(use: (client: RedisClientType) => Promise<T>): Promise<T> {
  const client = createClient({ url: REDIS_URL }) as RedisClientType;
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

/** Deletes every key of a queue on Redis. */
export async function deleteRedisQueue(queue: string): Promise<void> {
  await withRedis((client) => client.del(Object.values(queueKeys(queue))));
}
