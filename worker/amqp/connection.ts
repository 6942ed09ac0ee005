import { type Channel, type ChannelModel, type ConfirmChannel, type Options, connect } from 'amqplib';
import { type BrokerConfig, tlsServerName } from '../config';
import type { ConnectOptions } from '../queue';
import type { Reconnecting } from '../reconnect';
import type { QueueDeclarer } from './declare';
import {
  CONNECT_TIMEOUT_MS,
  type ClosableConnection,
  amqpCredentials,
  HEARTBEAT_SECONDS,
  closedSignal,
  connectionName,
  openReconnectingAmqp,
} from './reconnecting-amqp';

export { firstLine, isNotFound, refusedByBroker } from './broker-errors';

/** One amqplib connection with its one confirm channel: the seeder's and the status reader's. */
export interface AmqpConnection extends ClosableConnection, QueueDeclarer {
  readonly model: ChannelModel;
  readonly channel: ConfirmChannel;
}

/**
 * Opens a connection that is replaced when it is lost (see Reconnecting). `setUp` runs on every
 * new connection before it is used (declarations, the seeder's lock); a `CliError` from it ends
 * all retrying.
 */
export function openAmqp(
  broker: BrokerConfig,
  options: ConnectOptions,
  setUp: (connection: AmqpConnection) => Promise<void>,
): Promise<Reconnecting<AmqpConnection>> {
  return openReconnectingAmqp(broker, options, { connect: () => connectOnce(broker, options.clientName), close: closeConnection }, setUp);
}

async function closeConnection({ model, channel }: AmqpConnection): Promise<void> {
  try {
    // Channel first: on RabbitMQ 3.10 a connection closed right after an ack can lose the ack
    // to a quorum queue (the message comes back), while channel.close is ordered after it.
    await channel.close();
    await model.close();
  } catch {
    // Already closed: unacknowledged messages are requeued by the broker either way.
  }
}

async function connectOnce(broker: BrokerConfig, clientName: string): Promise<AmqpConnection> {
  const model = await connect(
    {
      protocol: broker.tls ? 'amqps' : 'amqp',
      hostname: broker.hostname,
      port: broker.port,
      ...amqpCredentials(broker),
      vhost: broker.path,
      heartbeat: HEARTBEAT_SECONDS,
    },
    {
      // Nagle plus delayed ACKs would stall each small frame; the pod's one item must not wait.
      // Over TLS the certificate is always verified, whatever NODE_TLS_REJECT_UNAUTHORIZED says.
      noDelay: true,
      timeout: CONNECT_TIMEOUT_MS,
      ...(broker.tls && { servername: tlsServerName(broker), rejectUnauthorized: true }),
      clientProperties: { connection_name: connectionName(clientName) },
    },
  );
  const closed = closedSignal(broker);
  model.on('error', () => {
    // The close that follows is what counts.
  });
  model.on('close', (error?: Error) => closed.close(error));
  try {
    const channel = await model.createConfirmChannel();
    ignoreErrors(channel);
    return {
      model,
      channel,
      closed: closed.signal,
      declareQueue: (name: string, queueOptions: Options.AssertQueue) => channel.assertQueue(name, queueOptions),
      declareQueueAlone: (name: string, queueOptions: Options.AssertQueue) => withChannel(model, (ch) => ch.assertQueue(name, queueOptions)),
    };
  } catch (error) {
    await model.close().catch(() => undefined);
    throw error;
  }
}

/** Channel errors are reported by the operation that fails; without a listener they would crash the process. */
export function ignoreErrors(channel: Channel): void {
  channel.on('error', () => undefined);
}

/** Runs `use` on a channel of its own, for operations whose failure closes the channel (a 404 on checkQueue). */
export async function withChannel<T>(model: ChannelModel, use: (channel: ConfirmChannel) => Promise<T>): Promise<T> {
  const channel = await model.createConfirmChannel();
  ignoreErrors(channel);
  try {
    return await use(channel);
  } finally {
    await channel.close().catch(() => undefined);
  }
}
