import type { Socket } from 'node:net';
import { type BrokerAddress, openBrokerSocket } from '../broker-socket';

/**
 * A Redis connection speaking RESP2: commands are pipelined (those issued in one tick go out in
 * one write) and answered in order. The worker sends little besides EVALSHA, so this is all the
 * client it needs; a general-purpose client costs a pod tens of milliseconds of loading and more
 * CPU per command than the scripts cost Redis. It never reconnects by itself (see Reconnecting).
 */

/** An error reply (`-ERR ...`, `-NOSCRIPT ...`, `-LOADING ...`). */
export class RedisReplyError extends Error {}

/** The server did not accept the connection (or finish the TLS handshake) within the connect timeout. */
export class RedisConnectTimeoutError extends Error {}

/** The connection closed while commands were waiting for their replies, or before a command was sent. */
export class RedisConnectionClosedError extends Error {}

export interface RespConnectOptions extends BrokerAddress {
  readonly username?: string;
  readonly password?: string;
  readonly database: number;
}

export type RespReply = string | number | null | RedisReplyError | RespReply[];

/** What the parser returns when the buffer ends inside a reply. */
const INCOMPLETE = Symbol('incomplete');
type Parsed = RespReply | typeof INCOMPLETE;

interface Waiting {
  resolve(reply: RespReply): void;
  reject(error: Error): void;
}

export class RespClient {
  private readonly waiting: Waiting[] = [];
  private outgoing = '';
  private flushScheduled = false;
  private buffered: Buffer | undefined;
  private open = true;
  private idle?: () => void;
  /** The last socket error: why the connection went away. */
  lastError?: Error;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => {
      this.lastError = error;
    });
    socket.on('close', () => this.closed());
  }

  /**
   * Connects, authenticates and selects the database (pipelined: one round trip after the
   * handshake). Without AUTH or SELECT a PING makes that round trip: a Redis that requires a
   * password refuses it with NOAUTH here, at connect, rather than the first real command later.
   */
  static async connect(options: RespConnectOptions): Promise<RespClient> {
    const socket = await openBrokerSocket({ ...options, timeoutError: () => new RedisConnectTimeoutError('Connection timeout') });
    socket.setKeepAlive(true, 5000);
    const client = new RespClient(socket);
    try {
      const setUp: Promise<RespReply>[] = [];
      if (options.password !== undefined) {
        setUp.push(client.send(options.username !== undefined ? ['AUTH', options.username, options.password] : ['AUTH', options.password]));
      }
      if (options.database !== 0) setUp.push(client.send(['SELECT', options.database]));
      if (setUp.length === 0) setUp.push(client.send(['PING']));
      await Promise.all(setUp);
    } catch (error) {
      client.destroy();
      throw error;
    }
    return client;
  }

  get isReady(): boolean {
    return this.open;
  }

  /** Sends one command; resolves with its reply, rejects with a `RedisReplyError` for an error reply. */
  send(args: readonly (string | number)[]): Promise<RespReply> {
    if (!this.open) return Promise.reject(new RedisConnectionClosedError('the connection is closed', { cause: this.lastError }));
    let command = `*${args.length}\r\n`;
    for (const arg of args) {
      const text = String(arg);
      command += `$${Buffer.byteLength(text, 'utf8')}\r\n${text}\r\n`;
    }
    this.outgoing += command;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(() => this.flush());
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** Closes once every command sent has its reply. */
  async close(): Promise<void> {
    if (!this.open) return;
    if (this.waiting.length > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    if (!this.open) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.open || this.outgoing === '') return;
    const text = this.outgoing;
    this.outgoing = '';
    this.socket.write(text, 'utf8');
  }

  private receive(chunk: Buffer): void {
    const data = this.buffered ? Buffer.concat([this.buffered, chunk]) : chunk;
    this.buffered = undefined;
    const parser = new Parser(data);
    while (parser.offset < data.length) {
      const start = parser.offset;
      let reply: Parsed;
      try {
        reply = parser.reply();
      } catch (error) {
        this.socket.destroy(error as Error);
        return;
      }
      if (reply === INCOMPLETE) {
        this.buffered = data.subarray(start);
        return;
      }
      const waiting = this.waiting.shift();
      if (reply instanceof RedisReplyError) waiting?.reject(reply);
      else waiting?.resolve(reply);
    }
    if (this.waiting.length === 0) this.idle?.();
  }

  private closed(): void {
    this.open = false;
    const error = new RedisConnectionClosedError(`the connection closed${this.lastError ? `: ${this.lastError.message}` : ''}`, { cause: this.lastError });
    for (const waiting of this.waiting.splice(0)) waiting.reject(error);
    this.idle?.();
  }
}

/** Reads RESP2 replies from a buffer; INCOMPLETE where the buffer ends inside one. */
class Parser {
  offset = 0;

  constructor(private readonly data: Buffer) {}

  reply(): Parsed {
    const type = this.data[this.offset];
    if (type === undefined) return INCOMPLETE;
    const line = this.line();
    if (line === INCOMPLETE) return INCOMPLETE;
    switch (type) {
      case 0x2b: // + simple string
        return line;
      case 0x2d: // - error
        return new RedisReplyError(line);
      case 0x3a: // : integer
        return Number(line);
      case 0x24: {
        // $ bulk string
        const length = Number(line);
        if (length < 0) return null;
        const end = this.offset + length;
        if (end + 2 > this.data.length) return INCOMPLETE;
        const text = this.data.toString('utf8', this.offset, end);
        this.offset = end + 2;
        return text;
      }
      case 0x2a: {
        // * array
        const count = Number(line);
        if (count < 0) return null;
        const items: RespReply[] = [];
        for (let i = 0; i < count; i++) {
          const item = this.reply();
          if (item === INCOMPLETE) return INCOMPLETE;
          items.push(item);
        }
        return items;
      }
      default:
        throw new Error(`unexpected reply from Redis: ${JSON.stringify(String.fromCharCode(type))}`);
    }
  }

  /** The rest of the current line after its type byte; moves past its CRLF. */
  private line(): string | typeof INCOMPLETE {
    const end = this.data.indexOf('\r\n', this.offset + 1, 'latin1');
    if (end < 0) return INCOMPLETE;
    const text = this.data.toString('utf8', this.offset + 1, end);
    this.offset = end + 2;
    return text;
  }
}
