import { Connection, type Channel } from 'rabbitmq-client';
import { runProbe, timedDrain } from './probe';

async function withChannel<T>(url: string, use: (channel: Channel) => Promise<T>): Promise<T> {
  const connection = new Connection({ url, noDelay: true });
  // The connection reports its failures here and retries; acquire() rejects when it gives up.
  connection.on('error', () => undefined);
  try {
    const channel = await connection.acquire();
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
      const message = await channel.basicGet({ queue, noAck: false });
      if (!message) throw new Error(`queue ${queue} is empty`);
      channel.basicAck({ deliveryTag: message.deliveryTag });
      return Buffer.isBuffer(message.body) ? message.body.toString() : String(message.body);
    }),
  drain: (url, queue) =>
    withChannel(url, (channel) =>
      timedDrain(1, async () => {
        const message = await channel.basicGet({ queue, noAck: false });
        if (!message) return 0;
        channel.basicAck({ deliveryTag: message.deliveryTag });
        return 1;
      }),
    ),
});
