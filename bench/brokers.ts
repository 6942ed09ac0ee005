import { connect as amqpConnect, type Channel, type ConfirmChannel } from 'amqplib';
import { createClient, type RedisClientType } from 'redis';
import { amqpQueueNames, queueKeys } from '../contract';
import { thrownMessage } from '../worker/thrown';

export const AMQP_URL = process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

let queues = 0;
/** A queue name no other round or run uses. */
export function freshQueue(prefix: string): string {
  return `bench-${prefix}-${process.pid}-${queues++}-${Date.now().toString(36)}`;
}

async function withAmqpChannel<T>(use: (channel: Channel) => Promise<T>): Promise<T> {
  const connection = await amqpConnect(AMQP_URL);
  try {
    const channel = await connection.createChannel();
    // A refused operation closes the channel and rejects the call: the rejection carries the error.
    channel.on('error', () => undefined);
    const result = await use(channel);
    await channel.close();
    return result;
  } finally {
    await connection.close();
  }
}

/** Deletes a queue and its companions (dead-letter, seed marker, seed lock) on RabbitMQ. */
export function deleteAmqpQueues(queue: string): Promise<void> {
  return withAmqpChannel(async (channel) => {
    for (const name of Object.values(amqpQueueNames(queue))) await channel.deleteQueue(name);
  });
}

/** Declares a durable classic queue for the tutorial tools, which publish to and consume from it. */
export function declareClassicQueue(queue: string): Promise<void> {
  return withAmqpChannel(async (channel) => {
    await channel.assertQueue(queue, { durable: true });
  });
}

/** Ready messages on a queue, or undefined when it does not exist. */
function readyMessages(queue: string): Promise<number | undefined> {
  return withAmqpChannel(async (channel) => (await channel.checkQueue(queue)).messageCount).catch((error: unknown) => {
    if (/NOT_FOUND/.test(thrownMessage(error))) return undefined;
    throw error;
  });
}

/** Fails unless the queue holds exactly `expected` ready messages and none are dead. */
export async function expectAmqpMessages(queue: string, expected: number): Promise<void> {
  const ready = await readyMessages(queue);
  const dead = (await readyMessages(amqpQueueNames(queue).dead)) ?? 0;
  if (ready === undefined) throw new Error(`queue ${queue} does not exist, expected it to hold ${expected} messages`);
  if (ready !== expected || dead !== 0)
    throw new Error(`queue ${queue} holds ${ready} messages and ${dead} dead ones, expected ${expected} and 0`);
}

/** Runs `use` with a Redis client, closing it afterwards. */
export async function withRedis<T>(use: (client: RedisClientType) => Promise<T>, url = REDIS_URL): Promise<T> {
  const client = createClient({ url }) as RedisClientType;
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.close();
  }
}

/** Deletes every key of a queue on Redis, those that expire on their own included. */
export function deleteRedisQueue(queue: string, url = REDIS_URL): Promise<void> {
  return withRedis(async (client) => {
    const keys = new Set(Object.values(queueKeys(queue)));
    for await (const found of client.scanIterator({ MATCH: `{${queue}}:*`, COUNT: 1000 }))
      for (const key of found) keys.add(key);
    await client.del([...keys]);
  }, url);
}

/** Fails unless the list holds exactly `expected` items. */
export async function expectListLength(client: RedisClientType, key: string, expected: number): Promise<void> {
  const length = await client.lLen(key);
  if (length !== expected) throw new Error(`list ${key} holds ${length} items, expected ${expected}`);
}

/**
 * CPU seconds the server's main thread has used, by INFO cpu. Unlike INFO commandstats, this
 * counts each command once (commandstats counts a script's inner commands within the script and
 * again on their own) and includes reading and writing the clients' sockets, which is what bounds
 * a single-threaded server.
 */
export async function serverCpuSeconds(client: RedisClientType): Promise<number> {
  const info = await client.info('cpu');
  const field = (name: string) => {
    const match = new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info);
    if (!match) throw new Error(`INFO cpu has no ${name}: ${info}`);
    return Number(match[1]);
  };
  return field('used_cpu_user_main_thread') + field('used_cpu_sys_main_thread');
}

/** Publishes `count` copies of `body` to an existing queue with publisher confirms (not timed). */
export function publishAmqpMessages(queue: string, body: Buffer, count: number): Promise<void> {
  return withAmqpConfirmChannel(async (channel) => {
    for (let i = 0; i < count; i++) channel.sendToQueue(queue, body);
    await channel.waitForConfirms();
  });
}

async function withAmqpConfirmChannel(use: (channel: ConfirmChannel) => Promise<void>): Promise<void> {
  const connection = await amqpConnect(AMQP_URL);
  try {
    await use(await connection.createConfirmChannel());
  } finally {
    await connection.close();
  }
}

/** Appends `count` copies of `item` to a Redis list, 1,000 at a time, or 16 at a time for large items (not timed). */
export function pushRedisItems(list: string, item: string, count: number, url = REDIS_URL): Promise<void> {
  const chunk = item.length > 64 * 1024 ? 16 : 1000;
  return withRedis(async (client) => {
    for (let i = 0; i < count; i += chunk)
      await client.rPush(list, Array<string>(Math.min(chunk, count - i)).fill(item));
    await expectListLength(client, list, count);
  }, url);
}
