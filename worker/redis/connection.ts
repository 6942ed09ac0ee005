import { ConnectionTimeoutError, ErrorReply, SocketClosedUnexpectedlyError } from './node-redis';
import { ReplyTimeoutError, ReplyTooLargeError, replyTimeoutMs } from '../broker-limits';
import { type BrokerConfig, tlsServerName } from '../config';
import type { ConnectOptions } from '../queue';
import { type ConnectionKind, NotServingError, Reconnecting, isSocketUnreachable } from '../reconnect';
import { connectError } from '../unreachable';
import { NotRedisError, RedisLink } from './client';
import { UnexpectedReplyError } from './reply';
import { MalformedReplyError } from './reply-guard';
import { type LuaScript, type ScriptCall, evalScript } from './script';
import { NoPrimaryKnownError, NotPrimaryError, SentinelPrimary } from './sentinel';

/** No replica confirmed a write within its time (WAIT): it could be lost in a failover. */
export class NotReplicatedError extends NotServingError {}

/**
 * Replies of a Redis that cannot serve the worker now, though another may soon (the connection is
 * as good as lost): starting up, without a primary, a replica (READONLY: after a failover the
 * address, or Sentinel, leads to the new primary on the next connection), or a primary that takes
 * no writes while fewer replicas than its `min-replicas-to-write` are connected (NOREPLICAS).
 */
const NOT_SERVING_REPLY = /^(LOADING|MASTERDOWN|TRYAGAIN|READONLY|NOREPLICAS)\b/;
/** What each of those replies means, for the log. */
const NOT_SERVING_MEANS: Record<string, string> = {
  LOADING: 'it is loading its data',
  MASTERDOWN: 'it is a replica that lost its primary',
  TRYAGAIN: 'it asks to try again',
  READONLY: 'it is a replica, no longer or not yet the primary',
  NOREPLICAS: 'the primary takes no writes while fewer replicas than its min-replicas-to-write are connected',
};
/**
 * Replies of a Redis that refuses the connection's credentials: a password is required and none
 * was given (NOAUTH; a large unauthenticated command is cut off with "unauthenticated multibulk
 * length"), or the user or password is wrong (WRONGPASS; "invalid password" before Redis 6).
 */
const REFUSED_REPLY = /^NOAUTH\b|^WRONGPASS\b|^ERR invalid password|\bunauthenticated (multi)?bulk length/;

/** A Redis connection that is replaced when it is lost (see Reconnecting); scripts run through it. */
export class RedisConnection {
  private constructor(private readonly connection: Reconnecting<RedisLink>) {}

  static async open(broker: BrokerConfig, options: ConnectOptions): Promise<RedisConnection> {
    return new RedisConnection(
      await Reconnecting.connect(redisLinks(broker, replyTimeoutMs(options.retrySeconds)), broker, options),
    );
  }

  /** Aborts (reason: the exit-code-3 error) once the connection is lost for good. */
  get gaveUp(): AbortSignal {
    return this.connection.gaveUp;
  }

  /**
   * Runs a script, again after a lost connection; `call` is told whether this is such a repeat
   * (the first run may or may not have taken effect).
   */
  run<K extends string, A extends string, R>(
    script: LuaScript<K, A, R>,
    call: ScriptCall<K, A> | ((retried: boolean) => ScriptCall<K, A>),
  ): Promise<R> {
    return this.connection.use((link, retried) =>
      evalScript(link, script, typeof call === 'function' ? call(retried) : call).catch(notServingError),
    );
  }

  /** Runs several commands on one connection (a pipeline), all again after a lost connection. */
  use<T>(operation: (link: RedisLink) => Promise<T>): Promise<T> {
    return this.connection.use((link) => operation(link).catch(notServingError));
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/** A reply saying the Redis cannot serve now, as a NotServingError that tells what it means; anything else as it is. */
function notServingError(error: unknown): never {
  const word = error instanceof ErrorReply ? NOT_SERVING_REPLY.exec(error.message)?.[1] : undefined;
  throw word === undefined ? error : new NotServingError(`${word}: ${NOT_SERVING_MEANS[word]}`);
}

/**
 * Refused credentials end every retry at once, at start-up and on reconnecting, with the one line
 * (exit code 3) that refused AMQP credentials get too: waiting would not change the answer.
 */
function refusedCredentials(broker: BrokerConfig, error: unknown): unknown {
  if (!(error instanceof ErrorReply) || !REFUSED_REPLY.test(error.message)) return error;
  const given =
    broker.password === undefined ? 'refused: BROKER_URL gives no password, and this Redis requires one' : 'refused';
  return connectError(broker, new Error(`credentials ${given}: ${error.message}`));
}

/**
 * What ends a connect as "not reachable (yet)", retried within BROKER_RETRY_SECONDS: a socket that
 * fails or closes, or a peer that answers what Redis would not. Anything else (a TLS certificate
 * that is not trusted, an error reply to SELECT) fails at once.
 */
function unreachable(error: unknown): boolean {
  return (
    isSocketUnreachable(error) ||
    error instanceof ConnectionTimeoutError ||
    error instanceof SocketClosedUnexpectedlyError ||
    error instanceof NotRedisError ||
    error instanceof MalformedReplyError ||
    error instanceof UnexpectedReplyError ||
    error instanceof ReplyTooLargeError ||
    error instanceof ReplyTimeoutError ||
    error instanceof NoPrimaryKnownError ||
    error instanceof NotPrimaryError ||
    error instanceof NotServingError ||
    (error instanceof ErrorReply && NOT_SERVING_REPLY.test(error.message))
  );
}

function redisLinks(broker: BrokerConfig, replyTimeoutMs: number): ConnectionKind<RedisLink> {
  const address = {
    replyTimeoutMs,
    host: broker.hostname,
    port: broker.port,
    tls: broker.tls ? { servername: tlsServerName(broker) } : undefined,
    username: broker.username,
    password: broker.password,
    database: Number(broker.path),
  };
  const sentinel = broker.sentinel && new SentinelPrimary(broker.sentinel, address);
  return {
    open: (signal) =>
      (sentinel ? sentinel.connect(signal) : RedisLink.open(address, signal)).catch((error: unknown) => {
        throw refusedCredentials(broker, error);
      }),
    cause: (link) => link.failure,
    isLost: (link, error) => !link.isReady || error instanceof NotServingError,
    isUnreachable: unreachable,
    async close(link) {
      try {
        await link.close();
      } catch {
        // Closed already, or failed while closing: either way it is gone.
      }
    },
  };
}
