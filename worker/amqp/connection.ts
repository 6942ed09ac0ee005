import { hostname } from 'node:os';
import { type Channel, type ChannelModel, type ConfirmChannel, connect } from 'amqplib';
import { type BrokerConfig, tlsServerName } from '../config';
import { ExitCode } from '../contract';
import { CliError } from '../errors';
import type { ConnectOptions } from '../queue';
import { type ConnectionKind, Reconnecting, isSocketUnreachable } from '../reconnect';
import { brokerAt, describeCause } from '../unreachable';

/** Why each connection closed, by its `closed` signal. */
const closeErrors = new WeakMap<AbortSignal, Error>();

/** One AMQP connection with its one confirm channel. */
export interface AmqpConnection {
  readonly model: ChannelModel;
  readonly channel: ConfirmChannel;
  /**
   * Aborts when the connection closes, with an exit-code-3 `CliError` as its reason: what was
   * delivered on it can no longer be acknowledged (the broker delivers it again).
   */
  readonly closed: AbortSignal;
}

/**
 * Opens a connection that is replaced when it is lost (see Reconnecting). `setUp` runs on every
 * new connection before it is used (declarations, the seeder's lock); a `CliError` from it ends
 * all retrying.
 */
export function openAmqp(broker: BrokerConfig, options: ConnectOptions, setUp: (connection: AmqpConnection) => Promise<void>): Promise<Reconnecting<AmqpConnection>> {
  const kind: ConnectionKind<AmqpConnection> = {
    async open() {
      const connection = await connectOnce(broker, options.clientName);
      try {
        await setUp(connection);
      } catch (error) {
        await kind.close(connection);
        throw error;
      }
      return connection;
    },
    isLost: (connection) => connection.closed.aborted,
    // amqplib's own connect timeout, and a broker that closes the socket while it is starting.
    isUnreachable: (error) => isSocketUnreachable(error) || /^(connect ETIMEDOUT|Socket closed abruptly)/.test(String((error as Error)?.message)),
    cause: (connection) => closeErrors.get(connection.closed),
    async close({ model, channel }) {
      try {
        // Channel first: on RabbitMQ 3.10 a connection closed right after an ack can lose the ack
        // to a quorum queue (the message comes back), while channel.close is ordered after it.
        await channel.close();
        await model.close();
      } catch {
        // Already closed: unacknowledged messages are requeued by the broker either way.
      }
    },
  };
  return Reconnecting.connect(kind, broker, options);
}

async function connectOnce(broker: BrokerConfig, clientName: string): Promise<AmqpConnection> {
  const model = await connect(
    {
      protocol: broker.tls ? 'amqps' : 'amqp',
      hostname: broker.hostname,
      port: broker.port,
      username: broker.username ?? 'guest',
      password: broker.password ?? 'guest',
      vhost: broker.path,
      heartbeat: 30,
    },
    {
      // Nagle plus delayed ACKs would stall each small frame; the pod's one item must not wait.
      // Over TLS the certificate is always verified, whatever NODE_TLS_REJECT_UNAUTHORIZED says.
      noDelay: true,
      timeout: 5000,
      ...(broker.tls && { servername: tlsServerName(broker), rejectUnauthorized: true }),
      // Shown by `rabbitmqctl list_connections client_properties` and the management UI.
      clientProperties: { connection_name: `work-queue ${clientName} on ${hostname()} pid ${process.pid}` },
    },
  );
  const closed = new AbortController();
  model.on('error', () => {
    // The close that follows is what counts.
  });
  model.on('close', (error?: Error) => {
    if (error) closeErrors.set(closed.signal, error);
    const why = error ? describeCause(error) : 'closed';
    closed.abort(
      new CliError(`the connection to ${brokerAt(broker)} closed while an item was in progress (${why}): it was not acknowledged, so the broker delivers it again`, ExitCode.brokerUnreachable),
    );
  });
  try {
    const channel = await model.createConfirmChannel();
    ignoreErrors(channel);
    return { model, channel, closed: closed.signal };
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

/** Whether the broker refused an operation (it closed the channel with a reply code), rather than the connection failing. */
export function refusedByBroker(error: unknown): boolean {
  return typeof (error as { code?: unknown })?.code === 'number';
}

/** Whether an AMQP error is the broker's 404 NOT_FOUND (a passive declaration of a missing queue). */
export function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown })?.code === 404;
}

/** The first line of an error message. */
export function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0];
}
