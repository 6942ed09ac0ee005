import type { ChannelModel } from 'amqplib';
import type { AmqpChannel } from '../../worker/amqp/wire/channel';
import { AmqpClient, type AmqpConnectOptions } from '../../worker/amqp/wire/client';
import { AMQP } from './brokers';
import { closedPort, connectAmqp, uniqueQueue } from './helpers';
import { closeConnectionOf } from './rabbitmq-connections';

/** The worker's own AMQP client (worker/amqp/wire) against the real RabbitMQ of the generation (./brokers); amqplib publishes. */
describe('AmqpClient', () => {
  const options: AmqpConnectOptions = {
    host: AMQP.host,
    port: AMQP.port,
    username: AMQP.username,
    password: AMQP.password,
    vhost: '/',
    heartbeatSeconds: 30,
    connectTimeoutMs: 3000,
  };
  let amqp: ChannelModel;
  let client: AmqpClient;
  let channel: AmqpChannel;
  const queue = uniqueQueue('wire');

  beforeAll(async () => {
    amqp = await connectAmqp();
    // The smallest frame-max the broker allows, so that a body of a few KB spans several frames.
    client = await AmqpClient.connect({ ...options, frameMax: 4096 });
    channel = await client.openChannel();
  });

  afterAll(async () => {
    await client.close();
    const ch = await amqp.createChannel();
    await ch.deleteQueue(queue);
    await amqp.close();
  });

  test('declares a quorum queue with arguments, equivalent to amqplib declaring it', async () => {
    const args = { 'x-queue-type': 'quorum', 'x-delivery-limit': 1000, 'x-overflow': 'reject-publish' };
    expect(await channel.declareQueue(queue, { durable: true, arguments: args })).toEqual({ queue, messageCount: 0, consumerCount: 0 });
    const ch = await amqp.createChannel();
    await ch.assertQueue(queue, { durable: true, arguments: args });
    await ch.close();
  });

  test('gets messages whole (a body over several frames, headers, an empty body), acks, nacks with and without requeue', async () => {
    const big = 'ä'.repeat(6000);
    const ch = await amqp.createConfirmChannel();
    for (const [text, headers] of [
      [big, { 'x-app': 'one', nested: { n: 1 } }],
      ['', {}],
      ['small', {}],
    ] as const) {
      ch.sendToQueue(queue, Buffer.from(text), { headers, contentType: 'text/plain' });
    }
    await ch.waitForConfirms();
    await ch.close();
    const first = await channel.get(queue);
    expect(first && first.body.toString()).toBe(big);
    expect(first && first.headers).toMatchObject({ 'x-app': 'one', nested: { n: 1 } });
    const second = await channel.get(queue);
    expect(second && second.body.length).toBe(0);
    const third = await channel.get(queue);
    expect(third && third.messageCount).toBe(0);
    if (!first || !second || !third) throw new Error('expected three messages');
    channel.ack(first.deliveryTag);
    channel.nack(second.deliveryTag, false);
    channel.nack(third.deliveryTag, true);
    const again = await channel.get(queue);
    expect(again && again.body.toString()).toBe('small');
    expect(again && again.headers['x-delivery-count']).toBe(1);
    if (again) channel.ack(again.deliveryTag);
    expect(await channel.get(queue)).toBe(false);
    expect((await channel.checkQueue(queue)).messageCount).toBe(0);
  });

  test('a refused declaration fails with the reply code and closes its channel only', async () => {
    const other = await client.openChannel();
    const refused = other.declareQueue(queue, { durable: false });
    await expect(refused).rejects.toMatchObject({
      code: 406,
      message: expect.stringMatching(/^Operation failed: QueueDeclare: 406 \(PRECONDITION_FAILED - inequivalent arg 'durable'/),
    });
    expect(other.isOpen).toBe(false);
    await expect(other.checkQueue(queue)).rejects.toThrow();
    const missing = await client.openChannel();
    await expect(missing.checkQueue(`${queue}-missing`)).rejects.toMatchObject({ code: 404 });
    expect((await channel.checkQueue(queue)).queue).toBe(queue);
  });

  test('refused credentials and a missing vhost fail the handshake with the broker reason', async () => {
    await expect(AmqpClient.connect({ ...options, password: 'wrong' })).rejects.toMatchObject({ code: 403, message: expect.stringMatching(/ACCESS_REFUSED/) });
    await expect(AmqpClient.connect({ ...options, vhost: 'no-such-vhost' })).rejects.toMatchObject({ code: 530 });
    await expect(AmqpClient.connect({ ...options, port: await closedPort() })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  test('a connection closed by the broker tells its close listener why and fails waiting calls without a reply code', async () => {
    const victim = await AmqpClient.connect({ ...options, clientProperties: { connection_name: `wire test pid ${process.pid}` } });
    const victimChannel = await victim.openChannel();
    const why = new Promise<Error | undefined>((resolve) => victim.onClose(resolve));
    await closeConnectionOf(process.pid);
    expect((await why)?.message).toMatch(/^Connection closed: 320 \(CONNECTION_FORCED/);
    await expect(victimChannel.get(queue)).rejects.not.toHaveProperty('code');
    expect(victim.isOpen).toBe(false);
  });
});
