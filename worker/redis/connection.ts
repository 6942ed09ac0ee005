import { ConnectionTimeoutError, ErrorReply, RedisClient, SocketClosedUnexpectedlyError } from '@redis/client';
import type { RedisClientType } from 'redis';
import { type BrokerConfig, tlsServerName } from '../config';
import type { ConnectOptions } from '../queue';
import { type ConnectionKind, Reconnecting, isSocketUnreachable } from '../reconnect';
import { type LuaScript, type ScriptCall, evalScript } from './script';

/** Replies of a Redis that is starting up or has no primary: the connection is as good as lost. */
const NOT_READY_REPLY = /^(LOADING|MASTERDOWN|TRYAGAIN)\b/;

/** The last error each client reported: why its connection went away ("The client is closed" says little). */
const lastErrors = new WeakMap<RedisClientType, Error>();

/** A Redis connection that is replaced when it is lost (see Reconnecting); scripts run through it. */
export class RedisConnection {
  private constructor(private readonly connection: Reconnecting<RedisClientType>) {}

  static async open(broker: BrokerConfig, options: ConnectOptions): Promise<RedisConnection> {
    return new RedisConnection(await Reconnecting.connect(redisClients(broker), broker, options));
  }

  /** Aborts (reason: the exit-code-3 error) once the connection is lost for good. */
  get gaveUp(): AbortSignal {
    return this.connection.gaveUp;
  }

  /**
   * Runs a script, again after a lost connection; `call` is told whether this is such a repeat
   * (the first run may or may not have taken effect).
   */
  run<K extends string, A extends string>(script: LuaScript<K, A>, call: ScriptCall<K, A> | ((retried: boolean) => ScriptCall<K, A>)): Promise<unknown> {
    return this.connection.use((client, retried) => evalScript(client, script, typeof call === 'function' ? call(retried) : call));
  }

  /** Runs several commands on one client (a pipeline), all again after a lost connection. */
  use<T>(operation: (client: RedisClientType) => Promise<T>): Promise<T> {
    return this.connection.use((client) => operation(client));
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

function notReady(error: unknown): boolean {
  return error instanceof ErrorReply && NOT_READY_REPLY.test(error.message);
}

function redisClients(broker: BrokerConfig): ConnectionKind<RedisClientType> {
  return {
    async open() {
      // The core client of node-redis: `redis`'s createClient would also attach (and the bundle would
      // carry) the commands of every Redis module (search, JSON, ...), which costs start-up time.
      // Reconnecting is ours (Reconnecting), so that every command knows whether it was repeated.
      const socket = { host: broker.hostname, port: broker.port, connectTimeout: 5000, reconnectStrategy: false, noDelay: true } as const;
      const client = RedisClient.create({
        // Over TLS the certificate is always verified, whatever NODE_TLS_REJECT_UNAUTHORIZED says.
        socket: broker.tls ? { ...socket, tls: true, servername: tlsServerName(broker), rejectUnauthorized: true } : socket,
        username: broker.username,
        password: broker.password,
        database: Number(broker.path),
        disableClientInfo: true,
      }) as RedisClientType;
      client.on('error', (error: Error) => {
        lastErrors.set(client, error);
      });
      try {
        await client.connect();
      } catch (error) {
        throw lastErrors.get(client) ?? error;
      }
      return client;
    },
    cause: (client) => lastErrors.get(client),
    isLost: (client, error) => !client.isReady || notReady(error),
    isUnreachable: (error) => isSocketUnreachable(error) || error instanceof ConnectionTimeoutError || error instanceof SocketClosedUnexpectedlyError || notReady(error),
    async close(client) {
      try {
        if (client.isReady) await client.close();
        else if (client.isOpen) client.destroy();
      } catch {
        // Already closed.
      }
    },
  };
}
