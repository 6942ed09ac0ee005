import { connect, type Channel, type ChannelModel } from 'amqplib';
import { runProbe, timedDrain } from './probe';

/**
 * The channel is closed before the connection: amqplib sends each channel's frames from a buffer of
 * its own, so a Connection.Close can overtake a basic.ack just written, and the broker requeues the
 * message. Channel.Close-Ok comes after the ack.
 */
async function withChannel<T>(url: string, use: (channel: Channel) => Promise<T>): Promise<T> {
  const connection: ChannelModel = await connect(url, { noDelay: true });
  try {
    const channel = await connection.createChannel();
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
      const message = await channel.get(queue, { noAck: false });
      if (!message) throw new Error(`queue ${queue} is empty`);
      channel.ack(message);
      return message.content.toString();
    }),
  drain: (url, queue) =>
    withChannel(url, (channel) =>
      timedDrain(1, async () => {
        const message = await channel.get(queue, { noAck: false });
        if (!message) return 0;
        channel.ack(message);
        return 1;
      }),
    ),
});
