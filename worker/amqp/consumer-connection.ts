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
import type { AmqpChannel } from './wire/channel';
import { AmqpClient } from './wire/client';

/** One connection of the worker's own AMQP client (wire/) with its one channel: the consumer's. */
export interface ConsumerConnection extends ClosableConnection, QueueDeclarer {
  readonly client: AmqpClient;
  readonly channel: AmqpChannel;
}

/** Opens the consumer's connection, replaced when it is lost (see Reconnecting); `setUp` runs on every new one. */
export function openConsumerConnection(
  broker: BrokerConfig,
  options: ConnectOptions,
  setUp: (connection: ConsumerConnection) => Promise<void>,
): Promise<Reconnecting<ConsumerConnection>> {
  return openReconnectingAmqp(broker, options, { connect: () => connectOnce(broker, options.clientName), close: closeConnection }, setUp);
}

async function closeConnection({ client, channel }: ConsumerConnection): Promise<void> {
  // Channel first: on RabbitMQ 3.10 a connection closed right after an ack can lose the ack to a
  // quorum queue (the message comes back), while Channel.Close is ordered after it. Neither throws:
  // on a closed connection the broker has requeued what was unacknowledged.
  await channel.close();
  await client.close();
}

async function connectOnce(broker: BrokerConfig, clientName: string): Promise<ConsumerConnection> {
  const client = await AmqpClient.connect({
    host: broker.hostname,
    port: broker.port,
    // Over TLS the certificate is always verified, whatever NODE_TLS_REJECT_UNAUTHORIZED says.
    ...(broker.tls && { tls: { servername: tlsServerName(broker) } }),
    ...amqpCredentials(broker),
    vhost: broker.path,
    heartbeatSeconds: HEARTBEAT_SECONDS,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    clientProperties: { connection_name: connectionName(clientName) },
  });
  const closed = closedSignal(broker);
  client.onClose((error) => closed.close(error));
  try {
    const channel = await client.openChannel();
    // A channel the broker closed (406 PRECONDITION_FAILED "delivery acknowledgement timed out" once
    // an item outlasts the consumer timeout) can settle nothing it delivered: its deliveries are
    // lost to this worker, as when the connection closes. The connection goes too, so that the
    // next operation opens a new one (with its channel) and work goes on.
    channel.onBrokerClose((error) => {
      closed.close(error);
      void client.close();
    });
    return {
      client,
      channel,
      closed: closed.signal,
      declareQueue: (name, queueOptions) => channel.declareQueue(name, queueOptions),
      declareQueueAlone: (name, queueOptions) => withChannel(client, (ch) => ch.declareQueue(name, queueOptions)),
    };
  } catch (error) {
    await client.close();
    throw error;
  }
}

/** Runs `use` on a channel of its own, for operations whose refusal closes the channel (a 404 on checkQueue). */
export async function withChannel<T>(client: AmqpClient, use: (channel: AmqpChannel) => Promise<T>): Promise<T> {
  const channel = await client.openChannel();
  try {
    return await use(channel);
  } finally {
    await channel.close();
  }
}
