import type { Socket } from 'node:net';
import { type BrokerAddress, openBrokerSocket } from '../../broker-socket';
import { AmqpChannel, type ChannelTransport } from './channel';
import { Encoder, type FieldTable } from './codec';
import { AmqpBrokerError, AmqpClosedError } from './errors';
import { type Frame, FrameReader, FrameType, HEARTBEAT_FRAME, PROTOCOL_HEADER, frame } from './frames';
import { type Incoming, Method, decodeMethod, encodeMethod, readClose, readStart, readTune } from './methods';

/**
 * An AMQP 0-9-1 connection with just what the worker's consumer needs: PLAIN login, heartbeats,
 * channels with Queue.Declare, Basic.Get, Basic.Ack and Basic.Nack. A general-purpose client costs
 * a pod tens of milliseconds of loading and first-run code before its one item. It never
 * reconnects by itself (see Reconnecting).
 */

export interface AmqpConnectOptions extends BrokerAddress {
  readonly username: string;
  readonly password: string;
  readonly vhost: string;
  /** The heartbeat interval asked for; the broker's is taken when it is shorter (0 on either side: the other's). */
  readonly heartbeatSeconds: number;
  /** The largest frame asked for; the broker's limit is taken when it is lower. @default 131072 */
  readonly frameMax?: number;
  /** Shown by `rabbitmqctl list_connections client_properties` and the management UI. */
  readonly clientProperties?: FieldTable;
}

/** The largest frame asked for by default (RabbitMQ's default limit), and accepted before Connection.Tune. */
const HANDSHAKE_FRAME_MAX = 131072;

interface Waiting {
  resolve(reply: Incoming): void;
  reject(error: Error): void;
}

export class AmqpClient implements ChannelTransport {
  private readonly channels = new Map<number, AmqpChannel>();
  /** Calls on channel 0 (the handshake, our Connection.Close), answered in order. */
  private readonly waiting: Waiting[] = [];
  private readonly reader = new FrameReader(() => this.frameMax);
  private readonly closeListeners: ((error: Error | undefined) => void)[] = [];
  private frameMax = HANDSHAKE_FRAME_MAX;
  private nextChannel = 1;
  private ready = false;
  private open = true;
  private closingByUs = false;
  /** Why the connection closed, when not by us: the broker's Connection.Close, or the socket's error. */
  private closeError?: Error;
  private lastReceived = Date.now();
  private lastSent = Date.now();
  private heartbeat?: NodeJS.Timeout;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => {
      this.closeError ??= error;
    });
    socket.on('close', () => this.closed());
  }

  /** Connects, logs in and opens the virtual host. */
  static async connect(options: AmqpConnectOptions): Promise<AmqpClient> {
    const socket = await openBrokerSocket({
      ...options,
      timeoutError: () => Object.assign(new Error('connect ETIMEDOUT'), { code: 'ETIMEDOUT' }),
    });
    const client = new AmqpClient(socket);
    try {
      await client.handshake(options);
    } catch (error) {
      socket.destroy();
      throw error;
    }
    return client;
  }

  get isOpen(): boolean {
    return this.open && !this.closingByUs;
  }

  /** Calls `listener` once when the connection closes, with why unless we closed it. */
  onClose(listener: (error: Error | undefined) => void): void {
    this.closeListeners.push(listener);
  }

  async openChannel(): Promise<AmqpChannel> {
    const channel = new AmqpChannel(this.nextChannel++, this);
    this.channels.set(channel.id, channel);
    await channel.open();
    return channel;
  }

  /** Closes the connection once the broker has handled everything sent on it; never throws. */
  async close(): Promise<void> {
    if (!this.isOpen) return;
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    try {
      await this.call(Method.connectionClose, (args) => args.short(200).shortstr('Goodbye').short(0).short(0));
      this.closingByUs = true;
      // Close-Ok says the broker handled everything: no need to wait for it to close its side.
      this.socket.destroy();
    } catch {
      this.socket.destroy();
    }
    await closed;
  }

  destroy(): void {
    this.socket.destroy();
  }

  sendMethod(channel: number, method: number, args?: (encoder: Encoder) => void): void {
    this.write(frame(FrameType.method, channel, encodeMethod(method, args)));
  }

  forget(channel: number): void {
    this.channels.delete(channel);
  }

  private async handshake(options: AmqpConnectOptions): Promise<void> {
    const started = this.expect();
    this.write(PROTOCOL_HEADER);
    const { mechanisms } = readStart((await started).args);
    if (!mechanisms.includes('PLAIN')) throw new Error(`the broker does not offer PLAIN authentication (it offers ${mechanisms.join(', ')})`);
    const tuned = this.expect();
    this.sendMethod(0, Method.connectionStartOk, (args) =>
      args
        .table({
          product: 'work-queue',
          platform: `Node.js ${process.version}`,
          // Refused credentials get a Connection.Close saying so, rather than a closed socket.
          capabilities: { authentication_failure_close: true, 'basic.nack': true },
          ...options.clientProperties,
        })
        .shortstr('PLAIN')
        .longstr(`\0${options.username}\0${options.password}`)
        .shortstr('en_US'),
    );
    const tune = readTune((await tuned).args);
    const frameMax = negotiate(tune.frameMax, options.frameMax ?? HANDSHAKE_FRAME_MAX);
    const heartbeat = negotiate(tune.heartbeat, options.heartbeatSeconds);
    this.sendMethod(0, Method.connectionTuneOk, (args) => args.short(tune.channelMax).long(frameMax).short(heartbeat));
    this.frameMax = frameMax || 0xffffffff;
    await this.call(Method.connectionOpen, (args) => args.shortstr(options.vhost).shortstr('').bits(false));
    this.ready = true;
    if (heartbeat > 0) this.startHeartbeat(heartbeat);
  }

  /**
   * Sends a heartbeat when nothing else went out for half the interval, and gives the connection
   * up when nothing came in for two intervals (the broker does the same on its side).
   */
  private startHeartbeat(seconds: number): void {
    const interval = (seconds * 1000) / 2;
    this.heartbeat = setInterval(() => {
      const now = Date.now();
      if (now - this.lastReceived > 2 * seconds * 1000) this.socket.destroy(new Error(`missed heartbeats from the broker for ${2 * seconds} s`));
      else if (now - this.lastSent >= interval) this.write(HEARTBEAT_FRAME);
    }, interval);
    // The connection's socket keeps the process alive while it is open, not its heartbeat.
    this.heartbeat.unref();
  }

  private call(method: number, args: (encoder: Encoder) => void): Promise<Incoming> {
    const reply = this.expect();
    this.sendMethod(0, method, args);
    return reply;
  }

  /** The next method on channel 0. */
  private expect(): Promise<Incoming> {
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private write(bytes: Buffer): void {
    if (!this.open) throw new AmqpClosedError('the connection is closed', { cause: this.closeError });
    this.lastSent = Date.now();
    this.socket.write(bytes);
  }

  private receive(chunk: Buffer): void {
    this.lastReceived = Date.now();
    let frames: Frame[];
    try {
      frames = this.reader.push(chunk);
    } catch (error) {
      this.socket.destroy(error as Error);
      return;
    }
    for (const received of frames) {
      if (received.channel === 0) this.connectionFrame(received);
      else this.channels.get(received.channel)?.handle(received);
    }
  }

  private connectionFrame({ type, payload }: Frame): void {
    if (type !== FrameType.method) return; // heartbeats: lastReceived counts them
    const incoming = decodeMethod(payload);
    if (incoming.method === Method.connectionClose) {
      const reason = readClose(incoming.args);
      this.closeError = new AmqpBrokerError(this.ready ? 'Connection closed' : 'Handshake terminated by server', reason);
      this.sendMethod(0, Method.connectionCloseOk);
      this.socket.end();
    } else if (incoming.method !== Method.connectionBlocked && incoming.method !== Method.connectionUnblocked) {
      this.waiting.shift()?.resolve(incoming);
    }
  }

  private closed(): void {
    if (!this.open) return;
    this.open = false;
    clearInterval(this.heartbeat);
    const error = this.closingByUs
      ? undefined
      : (this.closeError ?? new Error(this.ready ? 'Socket closed abruptly' : 'Socket closed abruptly during opening handshake'));
    for (const listener of this.closeListeners) listener(error);
    for (const waiting of this.waiting.splice(0)) waiting.reject(error ?? new AmqpClosedError('the connection is closed'));
    for (const channel of this.channels.values()) channel.connectionClosed(error);
    this.channels.clear();
  }
}

/** Both sides' limit, where 0 means none. */
function negotiate(server: number, client: number): number {
  return server === 0 || client === 0 ? Math.max(server, client) : Math.min(server, client);
}
