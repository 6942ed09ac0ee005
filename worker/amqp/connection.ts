import { hostname } from 'node:os';
import {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type Options,
  type SocketOptions,
  connect,
} from 'amqplib';
import { ReplyTimeoutError, ReplyTooLargeError, replyTimeoutMs } from '../broker-limits';
import { type BrokerConfig, tlsServerName } from '../config';
import { ExitCode } from '../../contract';
import { CliError } from '../errors';
import type { ConnectOptions } from '../queue';
import { type ConnectionKind, Reconnecting, isSocketUnreachable } from '../reconnect';
import { thrownField } from '../thrown';
import { brokerAt, describeCause } from '../unreachable';
import { answered, breakConnection, setReplyTimeout, withBoundedClose, withBoundedReplies } from './bounded-replies';

/** The heartbeat interval asked of the broker. */
const HEARTBEAT_SECONDS = 30;
/**
 * amqplib's socket timeout while it connects and logs in: it fires after this long without a byte
 * from the peer, so a peer that keeps sending (heartbeats) defeats it; Reconnecting's deadline
 * bounds the whole attempt.
 */
const IDLE_TIMEOUT_MS = 5000;
/**
 * The largest frame asked for (RabbitMQ's default frame_max). amqplib accepts frames up to 64 MiB
 * whatever was negotiated unless told otherwise: here a larger one ends the connection.
 */
const FRAME_MAX = 131072;

/** One amqplib connection with its one channel. */
export interface AmqpConnection<C extends Channel = ConfirmChannel> {
  readonly model: ChannelModel;
  readonly channel: C;
  /**
   * Aborts when the connection closes, with an exit-code-3 `CliError` as its reason: what was
   * delivered on it can no longer be acknowledged (the broker delivers it again).
   */
  readonly closed: AbortSignal;
  /** Gives the connection up because of `error` (the broker misbehaved): it is lost from now on; returns `error`. */
  lose(error: Error): Error;
}

/**
 * The seeder's and the status reader's connection, with a confirm channel; replaced when it is
 * lost (see Reconnecting). `setUp` runs on every new connection before it is used (declarations,
 * the seeder's lock); a `CliError` from it ends all retrying. An operation the broker refuses
 * closes the channel and fails; the connection goes on.
 */
export function openAmqp(
  broker: BrokerConfig,
  options: ConnectOptions,
  setUp: (connection: AmqpConnection) => Promise<void>,
  purpose?: string,
): Promise<Reconnecting<AmqpConnection>> {
  return openReconnecting(
    broker,
    options,
    { create: (model) => model.createConfirmChannel(), lostWithChannel: false, purpose },
    setUp,
  );
}

/**
 * The consumer's connection, with a plain channel (no confirms, which cost a round trip at
 * start-up). A channel the broker closes (406 PRECONDITION_FAILED "delivery acknowledgement timed
 * out" once an item outlasts the consumer timeout) can settle nothing it delivered: its deliveries
 * are lost to this worker, as when the connection closes. The connection goes too, so that the
 * next operation opens a new one (with its channel) and work goes on.
 */
export function openAmqpConsumerConnection(
  broker: BrokerConfig,
  options: ConnectOptions,
  setUp: (connection: AmqpConnection<Channel>) => Promise<void>,
): Promise<Reconnecting<AmqpConnection<Channel>>> {
  return openReconnecting(broker, options, { create: (model) => model.createChannel(), lostWithChannel: true }, setUp);
}

/** Runs `use` on a channel of its own, for operations whose refusal closes the channel (a 404 on checkQueue). */
export async function withChannel<T>(model: ChannelModel, use: (channel: Channel) => Promise<T>): Promise<T> {
  const channel = await openChannel(model);
  try {
    return await use(channel);
  } finally {
    await channel.close().catch(() => undefined);
  }
}

/** A plain channel with the reply bounds; its errors are reported by the operation that fails. */
export async function openChannel(model: ChannelModel): Promise<Channel> {
  return prepared(await answered(model, 'channel.open', model.createChannel()));
}

/** A confirm channel with the reply bounds; its errors are reported by the operation that fails. */
export async function openConfirmChannel(model: ChannelModel): Promise<ConfirmChannel> {
  return prepared(await answered(model, 'channel.open', model.createConfirmChannel()));
}

/** Publishes on a confirm channel and resolves once the broker confirmed it (within the connection's reply deadline). */
export function publishConfirmed(
  channel: ConfirmChannel,
  exchange: string,
  routingKey: string,
  content: Buffer,
  options: Options.Publish,
): Promise<void> {
  const confirmed = new Promise<void>((resolve, reject) => {
    channel.publish(exchange, routingKey, content, options, (error: unknown) =>
      error ? reject(error instanceof Error ? error : new Error('the broker refused the message')) : resolve(),
    );
  });
  return answered(channel, 'the confirm of a publish', confirmed);
}

interface ChannelKind<C extends Channel> {
  create(model: ChannelModel): Promise<C>;
  /** Whether the broker closing the channel loses the connection. */
  readonly lostWithChannel: boolean;
  /**
   * What the connection is for, after the process in its name, when a process has more than one.
   * @default - nothing: the process's main connection
   */
  readonly purpose?: string;
}

/** Errors of an attempt that lost its connection before it was set up, by the error. */
const lostWhileOpening = new WeakSet();
/** Why each connection closed, by its `closed` signal. */
const closeErrors = new WeakMap<AbortSignal, Error>();

function openReconnecting<C extends Channel>(
  broker: BrokerConfig,
  options: ConnectOptions,
  channelKind: ChannelKind<C>,
  setUp: (connection: AmqpConnection<C>) => Promise<void>,
): Promise<Reconnecting<AmqpConnection<C>>> {
  const kind: ConnectionKind<AmqpConnection<C>> = {
    async open(signal) {
      // Not the attempt's signal itself: net.connect keeps the signal it is given for the life of
      // the socket, and the attempt's deadline passing later must not end a connection in use.
      const opening = new AbortController();
      const abort = () => opening.abort(signal.reason);
      signal.throwIfAborted();
      signal.addEventListener('abort', abort, { once: true });
      try {
        const connection = await connectOnce(broker, options, channelKind, opening.signal);
        try {
          await setUp(connection);
        } catch (error) {
          if (connection.closed.aborted && !(error instanceof CliError) && typeof error === 'object' && error)
            lostWhileOpening.add(error);
          await closeConnection(connection);
          throw error;
        }
        return connection;
      } catch (error) {
        throw signal.aborted ? signal.reason : error;
      } finally {
        signal.removeEventListener('abort', abort);
      }
    },
    isLost: (connection, error) => connection.closed.aborted || error instanceof ReplyTimeoutError,
    isUnreachable,
    cause: (connection) => closeErrors.get(connection.closed),
    close: closeConnection,
  };
  return Reconnecting.connect(kind, broker, options);
}

async function connectOnce<C extends Channel>(
  broker: BrokerConfig,
  { clientName, retrySeconds }: ConnectOptions,
  channelKind: ChannelKind<C>,
  signal: AbortSignal,
): Promise<AmqpConnection<C>> {
  const socketOptions: SocketOptions & { signal: AbortSignal } = {
    // Nagle plus delayed ACKs would stall each small frame; the pod's one item must not wait.
    noDelay: true,
    timeout: IDLE_TIMEOUT_MS,
    // amqplib copies its socket options into net.connect or tls.connect: aborting destroys the socket.
    signal,
    // Over TLS the certificate is always verified, whatever NODE_TLS_REJECT_UNAUTHORIZED says.
    ...(broker.tls && { servername: tlsServerName(broker), rejectUnauthorized: true }),
    clientProperties: { connection_name: connectionName(clientName, channelKind.purpose) },
  };
  const model = await connect(
    {
      protocol: broker.tls ? 'amqps' : 'amqp',
      hostname: broker.hostname,
      port: broker.port,
      ...amqpCredentials(broker),
      vhost: broker.path,
      heartbeat: HEARTBEAT_SECONDS,
      frameMax: FRAME_MAX,
      maxFrameSize: FRAME_MAX,
    } satisfies Options.Connect,
    socketOptions,
  ).catch((error: unknown) => {
    throw vhostRefused(error, broker) ?? error;
  });
  setReplyTimeout(model, replyTimeoutMs(retrySeconds));
  withBoundedClose(model);
  const closed = closedSignal(broker);
  // amqplib emits 'error' before 'close' for a connection that failed; the close is what counts,
  // and without a listener the error would end the process.
  model.on('error', () => undefined);
  model.on('close', (error?: Error) => closed.close(error));
  const lose = (error: Error) => {
    closed.close(error);
    breakConnection(model, error);
    return error;
  };
  try {
    const channel = prepared(await answered(model, 'channel.open', channelKind.create(model)));
    if (channelKind.lostWithChannel) channel.on('error', (error: Error) => lose(error));
    return { model, channel, closed: closed.signal, lose };
  } catch (error) {
    if (closed.signal.aborted && typeof error === 'object' && error) lostWhileOpening.add(error);
    breakConnection(model, error as Error);
    throw error;
  }
}

/** A channel with the reply bounds and a listener for its errors, without which they would end the process. */
function prepared<C extends Channel>(channel: C): C {
  channel.on('error', () => undefined);
  return withBoundedReplies(channel);
}

async function closeConnection({ model, channel, closed }: AmqpConnection<Channel>): Promise<void> {
  if (closed.aborted) {
    breakConnection(model, new Error('closed'));
    return;
  }
  try {
    // Channel first: on RabbitMQ 3.10 a connection closed right after an ack can lose the ack
    // to a quorum queue (the message comes back), while channel.close is ordered after it.
    await channel.close();
    await model.close();
  } catch {
    // Already closed, or no answer: unacknowledged messages are requeued by the broker either way.
    breakConnection(model, new Error('closed'));
  }
}

/**
 * Failures to open that say the peer is not (yet) a broker this worker can use, retried within
 * BROKER_RETRY_SECONDS: a socket that fails or stays silent, a broker that closes it while
 * starting, and replies that are not AMQP (an HTTP server, random bytes, frames cut short or too
 * large). Refused credentials and TLS failures are not: they fail at once.
 */
function isUnreachable(error: unknown): boolean {
  if (isSocketUnreachable(error) || error instanceof ReplyTimeoutError || error instanceof ReplyTooLargeError)
    return true;
  if (typeof error === 'object' && error !== null && lostWhileOpening.has(error)) return true;
  const code = thrownField(error, 'code');
  // Buffer reads past the end of a frame that is cut short.
  if (code === 'ERR_OUT_OF_RANGE' || code === 'ERR_BUFFER_OUT_OF_BOUNDS') return true;
  return NOT_AMQP.test(String(thrownField(error, 'message')));
}

/**
 * RabbitMQ answers Connection.Open for a virtual host that does not exist, or that the user may
 * not use, with a Connection.Close, which amqplib reports without its reason.
 */
function vhostRefused(error: unknown, broker: BrokerConfig): Error | undefined {
  if (!/^Expected ConnectionOpenOk; got <ConnectionClose/.test(String(thrownField(error, 'message')))) return undefined;
  return new Error(
    `the broker refused virtual host "${broker.path}": it does not exist, or user "${amqpCredentials(broker).username}" may not use it`,
  );
}

/** amqplib's messages for a silent or closing socket, and for what it cannot read as AMQP (lib/connection.js, frame.js, codec.js, defs.js). */
const NOT_AMQP =
  /^(connect ETIMEDOUT|Socket closed abruptly|Unexpected close|Heartbeat timeout|Frame size \d+ exceeds maxFrameSize|Invalid frame|Unknown frame type|Frame on channel != 0 during handshake|Expected .* got |Unknown class\/method ID|Unexpected type tag|Server frameMax)/;

/** The user and password of BROKER_URL; RabbitMQ's own `guest` where the URL gives none. */
export function amqpCredentials(broker: BrokerConfig): { username: string; password: string } {
  return { username: broker.username ?? 'guest', password: broker.password ?? 'guest' };
}

/** Shown by `rabbitmqctl list_connections client_properties` and the management UI. */
function connectionName(clientName: string, purpose: string | undefined): string {
  return `work-queue ${clientName} on ${hostname()} pid ${process.pid}${purpose ? ` (${purpose})` : ''}`;
}

/** Why `connection` closed, on one line ('closed' when this process closed it); undefined while it is open. */
export function whyClosed(connection: AmqpConnection<Channel>): string | undefined {
  if (!connection.closed.aborted) return undefined;
  const error = closeErrors.get(connection.closed);
  return error ? describeCause(error) : 'closed';
}

/** A connection's `closed` signal, and what is called when it closes (with why, unless we closed it). */
function closedSignal(broker: BrokerConfig): { readonly signal: AbortSignal; readonly close: (error?: Error) => void } {
  const closed = new AbortController();
  return {
    signal: closed.signal,
    close(error) {
      if (closed.signal.aborted) return;
      if (error) closeErrors.set(closed.signal, error);
      const why = error ? describeCause(error) : 'closed';
      closed.abort(
        new CliError(
          `the connection to ${brokerAt(broker)} closed while an item was in progress (${why}): it was not acknowledged, so the broker delivers it again`,
          ExitCode.brokerUnreachable,
        ),
      );
    },
  };
}
