import { AMQPClient, type AMQPChannel, type AMQPTlsOptions } from '@cloudamqp/amqp-client';
import { runProbe, timedDrain } from './probe';

async function withChannel<T>(url: string, use: (channel: AMQPChannel) => Promise<T>): Promise<T> {
  // Its socket options pass through to net.connect: Nagle's algorithm off, as for the other clients.
  const connection = await new AMQPClient(url, { noDelay: true } as AMQPTlsOptions).connect();
  try {
    // Closed before the connection, as with the other clients: the same round trips for each.
    const channel = await connection.channel();
    const result = await use(channel);
    await channel.close();
    return result;
  } finally {
    await connection.close();
  }
}

runProbe({
  connect: (url) => withChannel(url, () => Promise.resolve()),
  takeOne: (url, queue) =>
    withChannel(url, async (channel) => {
      const message = await channel.basicGet(queue, { noAck: false });
      if (!message) throw new Error(`queue ${queue} is empty`);
      await message.ack();
      return message.bodyToString() ?? '';
    }),
  drain: (url, queue) =>
    withChannel(url, (channel) =>
      timedDrain(1, async () => {
        const message = await channel.basicGet(queue, { noAck: false });
        if (!message) return 0;
        await message.ack();
        return 1;
      }),
    ),
});
