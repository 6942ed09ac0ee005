import { CONNECT_DEADLINE_MS, MAX_REPLY_BYTES, ReplyTimeoutError } from '../broker-limits';
import {
  RedisClient,
  type RedisClientOptions,
  type RedisFunctions,
  type RedisModules,
  type RedisScripts,
  type TypeMapping,
} from './node-redis';
import { type RedisReply, shownReply } from './reply';
import { ReplyGuard } from './reply-guard';

/** Where and as whom a client connects. */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
  /** Over TLS, with the name the certificate must carry (SNI; none for an IP address); the certificate is always verified. */
  readonly tls?: { readonly servername?: string };
  readonly username?: string;
  readonly password?: string;
  readonly database: number;
  /** How long a command may wait for its reply (`replyTimeoutMs` of broker-limits.ts). */
  readonly replyTimeoutMs: number;
}

/** The peer answered the connect's PING with something else than Redis' `PONG`. */
export class NotRedisError extends Error {}

/**
 * One node-redis connection (RESP2), bounded: no reply waited for longer than its deadline,
 * none larger than MAX_REPLY_BYTES. Any failure of the connection (a socket error, a timeout, bytes
 * that are not RESP, a reply of the wrong shape) destroys it and is kept as `failure`: every command
 * waiting on it, and every later one, fails with that error. It never reconnects by itself
 * (see Reconnecting). Commands issued in one turn of the event loop go out in one write.
 */
export class RedisLink {
  /** Why the connection went away; undefined while it is usable. */
  failure?: Error;
  private readonly guard: ReplyGuard;

  private constructor(
    private readonly client: NodeRedisClient,
    private readonly replyTimeoutMs: number,
  ) {
    // node-redis emits every connection failure as 'error'; without a listener the process would die.
    client.on('error', (error: Error) => this.fail(error));
    this.guard = new ReplyGuard(client, MAX_REPLY_BYTES);
  }

  /**
   * Connects (TCP, TLS, AUTH and SELECT), then proves with a PING that the peer is Redis.
   * `signal` aborting ends the attempt at once and destroys its socket.
   */
  static async open(address: RedisAddress, signal: AbortSignal): Promise<RedisLink> {
    if (signal.aborted) throw signal.reason;
    // The class itself rather than `createClient`, which first builds a subclass with a method for
    // each of node-redis' hundreds of commands (about 50 ms of a pod's start-up): the worker only
    // sends commands as arrays.
    const link = new RedisLink(new RedisClient(clientOptions(address)), address.replyTimeoutMs);
    const connecting = link.client.connect();
    let stop!: () => void;
    const stopped = new Promise<never>((_, reject) => {
      stop = () => {
        reject(link.fail(signal.reason as Error));
      };
      signal.addEventListener('abort', stop, { once: true });
    });
    try {
      await Promise.race([connecting, stopped]);
      const answer = await Promise.race([link.send(['PING']), stopped]);
      if (answer !== 'PONG') {
        throw new NotRedisError(`the peer answered PING with ${shownReply(answer)}, not PONG: not a Redis`);
      }
      return link;
    } catch (error) {
      // A socket still connecting when the client was destroyed goes on to connect: destroy it then.
      connecting.then(
        () => link.client.destroy(),
        () => undefined,
      );
      throw link.fail(error as Error);
    } finally {
      signal.removeEventListener('abort', stop);
      stopped.catch(() => undefined);
    }
  }

  get isReady(): boolean {
    return this.failure === undefined && this.client.isReady;
  }

  /**
   * Sends one command; resolves with its reply, rejects with node-redis' ErrorReply for an error
   * reply (`-NOSCRIPT ...`) and with `failure` when the connection fails first. `what` names the
   * command in the timeout's message.
   */
  send(args: readonly (string | number)[], what = String(args[0])): Promise<RedisReply> {
    if (this.failure) return Promise.reject(this.failure);
    const timer = setTimeout(
      () => this.fail(new ReplyTimeoutError(`${what} from Redis`, this.replyTimeoutMs)),
      this.replyTimeoutMs,
    );
    return this.client.sendCommand(args.map(String)).then(
      (reply) => {
        clearTimeout(timer);
        this.guard.replied();
        return reply as unknown as RedisReply;
      },
      (error: unknown) => {
        clearTimeout(timer);
        this.guard.replied();
        throw this.failure ?? error;
      },
    );
  }

  /** Gives the connection up: `error` is why, unless it had failed already. Returns the reason kept. */
  fail(error: Error): Error {
    this.failure ??= error;
    this.client.destroy();
    return this.failure;
  }

  /** Closes once every command sent has its reply (each within its deadline). */
  async close(): Promise<void> {
    if (!this.isReady) {
      this.client.destroy();
      return;
    }
    this.failure = new Error('the connection was closed');
    await this.client.close();
  }
}

/** node-redis' client as the worker creates it: no modules, functions or scripts of its own; RESP2. */
type NodeRedisClient = RedisClient<RedisModules, RedisFunctions, RedisScripts, 2, TypeMapping>;

function clientOptions(address: RedisAddress): RedisClientOptions<RedisModules, RedisFunctions, RedisScripts, 2> {
  const { host, port, tls, username, password, database } = address;
  return {
    RESP: 2,
    socket: {
      host,
      port,
      // Over TLS the certificate is always verified, whatever NODE_TLS_REJECT_UNAUTHORIZED says.
      ...(tls ? { tls: true, servername: tls.servername, rejectUnauthorized: true } : {}),
      // The attempt's signal ends a connect sooner; this only keeps node-redis' own 5 s default out of the way.
      connectTimeout: CONNECT_DEADLINE_MS,
      keepAliveInitialDelay: 5000,
      // Reconnecting, with one retry window across reconnects, is ours.
      reconnectStrategy: false,
    },
    // AUTH only with a password, as `redis://user@host` always meant.
    ...(password !== undefined && { username, password }),
    database,
    // A command on a lost connection fails at once instead of waiting for a reconnect that never comes.
    disableOfflineQueue: true,
    // No CLIENT SETINFO at every connect: two more commands for a one-item pod to wait for.
    disableClientInfo: true,
    // Each command's deadline is the link's own (replyTimeoutMs, up to 30 s), not node-redis' 5 s
    // default, which would reject a slow claim or the seeder's WAIT without ending the connection.
    commandOptions: { timeout: 0 },
  };
}
