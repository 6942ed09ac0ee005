import { type BrokerConfig, tlsServerName } from '../config';
import type { ConnectOptions } from '../queue';
import { type ConnectionKind, Reconnecting, isSocketUnreachable } from '../reconnect';
import { RedisConnectTimeoutError, RedisConnectionClosedError, RedisReplyError, RespClient } from './resp-client';
import { type LuaScript, type ScriptCall, evalScript } from './script';

/** Replies of a Redis that is starting up or has no primary: the connection is as good as lost. */
const NOT_READY_REPLY = /^(LOADING|MASTERDOWN|TRYAGAIN)\b/;

/** A Redis connection that is replaced when it is lost (see Reconnecting); scripts run through it. */
export class RedisConnection {
  private constructor(private readonly connection: Reconnecting<RespClient>) {}

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
  use<T>(operation: (client: RespClient) => Promise<T>): Promise<T> {
    return this.connection.use((client) => operation(client));
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

function notReady(error: unknown): boolean {
  return error instanceof RedisReplyError && NOT_READY_REPLY.test(error.message);
}

function redisClients(broker: BrokerConfig): ConnectionKind<RespClient> {
  return {
    open: () =>
      RespClient.connect({
        host: broker.hostname,
        port: broker.port,
        // Over TLS the certificate is always verified, whatever NODE_TLS_REJECT_UNAUTHORIZED says.
        tls: broker.tls ? { servername: tlsServerName(broker) } : undefined,
        username: broker.username,
        password: broker.password,
        database: Number(broker.path),
        connectTimeoutMs: 5000,
      }),
    cause: (client) => client.lastError,
    isLost: (client, error) => !client.isReady || error instanceof RedisConnectionClosedError || notReady(error),
    isUnreachable: (error) =>
      isSocketUnreachable(error) || error instanceof RedisConnectTimeoutError || error instanceof RedisConnectionClosedError || notReady(error),
    async close(client) {
      try {
        if (client.isReady) await client.close();
      } catch {
        // Already closed.
      }
      client.destroy();
    },
  };
}
