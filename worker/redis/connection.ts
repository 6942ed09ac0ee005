import { type BrokerConfig, tlsServerName } from '../config';
import type { ConnectOptions } from '../queue';
import { type ConnectionKind, Reconnecting, isSocketUnreachable } from '../reconnect';
import { connectError } from '../unreachable';
import { RedisConnectTimeoutError, RedisConnectionClosedError, RedisReplyError, RespClient } from './resp-client';
import { type LuaScript, type ScriptCall, evalScript } from './script';

/** Replies of a Redis that is starting up or has no primary: the connection is as good as lost. */
const NOT_READY_REPLY = /^(LOADING|MASTERDOWN|TRYAGAIN)\b/;
/**
 * Replies of a Redis that refuses the connection's credentials: a password is required and none
 * was given (NOAUTH; a large unauthenticated command is cut off with "unauthenticated multibulk
 * length"), or the user or password is wrong (WRONGPASS; "invalid password" before Redis 6).
 */
const REFUSED_REPLY = /^NOAUTH\b|^WRONGPASS\b|^ERR invalid password|\bunauthenticated (multi)?bulk length/;

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

/**
 * Refused credentials end every retry at once, at start-up and on reconnecting, with the one line
 * (exit code 3) that refused AMQP credentials get too: waiting would not change the answer.
 */
function refusedCredentials(broker: BrokerConfig, error: unknown): unknown {
  if (!(error instanceof RedisReplyError) || !REFUSED_REPLY.test(error.message)) return error;
  const given = broker.password === undefined ? 'refused: BROKER_URL gives no password, and this Redis requires one' : 'refused';
  return connectError(broker, new Error(`credentials ${given}: ${error.message}`));
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
      }).catch((error: unknown) => {
        throw refusedCredentials(broker, error);
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
