import { hostname } from 'node:os';
import type { BrokerConfig } from '../config';
import { ExitCode } from '../contract';
import { CliError } from '../errors';
import type { ConnectOptions } from '../queue';
import { type ConnectionKind, Reconnecting, isSocketUnreachable } from '../reconnect';
import { brokerAt, describeCause } from '../unreachable';

/** What the seeder's and status reader's amqplib connections and the consumer's own one have in common. */

/** The heartbeat interval asked of the broker. */
export const HEARTBEAT_SECONDS = 30;
export const CONNECT_TIMEOUT_MS = 5000;

/** The user and password of BROKER_URL; RabbitMQ's own `guest` where the URL gives none. */
export function amqpCredentials(broker: BrokerConfig): { username: string; password: string } {
  return { username: broker.username ?? 'guest', password: broker.password ?? 'guest' };
}

/** Shown by `rabbitmqctl list_connections client_properties` and the management UI. */
export function connectionName(clientName: string): string {
  return `work-queue ${clientName} on ${hostname()} pid ${process.pid}`;
}

export interface ClosableConnection {
  /**
   * Aborts when the connection closes, with an exit-code-3 `CliError` as its reason: what was
   * delivered on it can no longer be acknowledged (the broker delivers it again).
   */
  readonly closed: AbortSignal;
}

/** Why each connection closed, by its `closed` signal. */
const closeErrors = new WeakMap<AbortSignal, Error>();

/** A connection's `closed` signal, and what its client calls when it closes (with why, unless we closed it). */
export function closedSignal(broker: BrokerConfig): { readonly signal: AbortSignal; readonly close: (error?: Error) => void } {
  const closed = new AbortController();
  return {
    signal: closed.signal,
    close(error) {
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

/**
 * Opens a connection that is replaced when it is lost (see Reconnecting). `setUp` runs on every
 * new connection before it is used (declarations, the seeder's lock); a `CliError` from it ends
 * all retrying.
 */
export function openReconnectingAmqp<C extends ClosableConnection>(
  broker: BrokerConfig,
  options: ConnectOptions,
  client: { connect(): Promise<C>; close(connection: C): Promise<void> },
  setUp: (connection: C) => Promise<void>,
): Promise<Reconnecting<C>> {
  const kind: ConnectionKind<C> = {
    async open() {
      const connection = await client.connect();
      try {
        await setUp(connection);
      } catch (error) {
        await client.close(connection);
        throw error;
      }
      return connection;
    },
    isLost: (connection) => connection.closed.aborted,
    // A connect timeout, and a broker that closes the socket while it is starting.
    isUnreachable: (error) => isSocketUnreachable(error) || /^(connect ETIMEDOUT|Socket closed abruptly)/.test(String((error as Error)?.message)),
    cause: (connection) => closeErrors.get(connection.closed),
    close: (connection) => client.close(connection),
  };
  return Reconnecting.connect(kind, broker, options);
}
