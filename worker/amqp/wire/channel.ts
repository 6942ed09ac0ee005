import { type Encoder, type FieldTable } from './codec';
import { AmqpClosedError, operationFailed } from './errors';
import { FrameType, type Frame } from './frames';
import {
  type ContentHeader,
  type GetOk,
  type Incoming,
  Method,
  type QueueDeclareOk,
  decodeContentHeader,
  decodeMethod,
  readClose,
  readDeclareOk,
  readGetOk,
} from './methods';

/** What a channel needs of its connection. */
export interface ChannelTransport {
  sendMethod(channel: number, method: number, args?: (encoder: Encoder) => void): void;
  /** The channel closed (by either side): it gets no more frames. */
  forget(channel: number): void;
}

export interface QueueOptions {
  readonly durable?: boolean;
  readonly exclusive?: boolean;
  readonly autoDelete?: boolean;
  readonly arguments?: FieldTable;
}

/** A message taken with Basic.Get. */
export interface GetMessage extends GetOk {
  readonly headers: FieldTable;
  readonly body: Buffer;
}

/** A reply to a call: a method, or a whole message for Basic.GetOk. */
type Reply = Incoming | { readonly method: number; readonly message: GetMessage };

interface Waiting {
  readonly replies: readonly number[];
  resolve(reply: Reply): void;
  reject(error: Error): void;
}

/** A message whose content header and body frames are still arriving. */
interface Arriving {
  readonly got: GetOk;
  header?: ContentHeader;
  readonly parts: Buffer[];
  received: number;
}

/**
 * One AMQP channel: synchronous methods are answered in the order they were sent, so each reply
 * settles the oldest waiting call. A broker that refuses a call closes the channel; the call then
 * fails with the reply code (`AmqpBrokerError`), and so does everything after it.
 */
export class AmqpChannel {
  private readonly waiting: Waiting[] = [];
  private arriving?: Arriving;
  private closedBy?: Error;
  private closing?: Promise<void>;
  private readonly brokerCloseListeners: ((error: Error) => void)[] = [];

  constructor(
    readonly id: number,
    private readonly transport: ChannelTransport,
  ) {}

  get isOpen(): boolean {
    return this.closedBy === undefined && this.closing === undefined;
  }

  /** Channel.Open: called once, by the connection that numbered it. */
  async open(): Promise<void> {
    await this.call(Method.channelOpen, (args) => args.shortstr(''), [Method.channelOpenOk]);
  }

  /** Declares a queue; the broker refuses (406) a declaration whose options differ from the queue's. */
  async declareQueue(name: string, options: QueueOptions = {}): Promise<QueueDeclareOk> {
    return this.declare(name, false, options);
  }

  /** The queue's counts; the broker refuses (404) a queue that does not exist. */
  async checkQueue(name: string): Promise<QueueDeclareOk> {
    return this.declare(name, true, {});
  }

  /** Takes one message (to be acked or nacked), or false when the queue is empty. */
  async get(queue: string, { noAck = false } = {}): Promise<GetMessage | false> {
    const reply = await this.call(Method.basicGet, (args) => args.short(0).shortstr(queue).bits(noAck), [Method.basicGetOk, Method.basicGetEmpty]);
    return 'message' in reply ? reply.message : false;
  }

  ack(deliveryTag: number | bigint): void {
    this.send(Method.basicAck, (args) => args.longlong(deliveryTag).bits(false));
  }

  /**
   * A failed delivery: requeue=true returns it, requeue=false dead-letters it (through the queue's
   * dead-letter settings). Both raise a quorum queue's delivery count on every RabbitMQ version,
   * from 4.3 on too (rabbitmq-server #15387), unlike `nack`.
   */
  reject(deliveryTag: number | bigint, requeue: boolean): void {
    this.send(Method.basicReject, (args) => args.longlong(deliveryTag).bits(requeue));
  }

  /**
   * Hands a delivery back: requeue=true returns it (from RabbitMQ 4.3 without raising the delivery
   * count, rabbitmq-server #15387), requeue=false dead-letters it or drops it.
   */
  nack(deliveryTag: number | bigint, requeue: boolean): void {
    this.send(Method.basicNack, (args) => args.longlong(deliveryTag).bits(false, requeue));
  }

  /** Calls `listener` once if the broker closes the channel (a refused operation, a consumer timeout). */
  onBrokerClose(listener: (error: Error) => void): void {
    this.brokerCloseListeners.push(listener);
  }

  /** Closes the channel once the broker has handled everything sent on it before. */
  close(): Promise<void> {
    if (this.closedBy) return Promise.resolve();
    this.closing ??= this.call(Method.channelClose, (args) => args.short(200).shortstr('Goodbye').long(0), [Method.channelCloseOk]).then(
      () => undefined,
      () => undefined,
    );
    return this.closing;
  }

  /** A frame for this channel, from the connection. */
  handle(frame: Frame): void {
    if (frame.type === FrameType.method) this.method(decodeMethod(frame.payload));
    else if (frame.type === FrameType.header) this.header(decodeContentHeader(frame.payload));
    else if (frame.type === FrameType.body) this.body(frame.payload);
  }

  /** The connection closed: every waiting call fails. */
  connectionClosed(cause: Error | undefined): void {
    this.ended(new AmqpClosedError(`the connection closed${cause ? `: ${cause.message}` : ''}`, { cause }));
  }

  private declare(
    name: string,
    passive: boolean,
    { durable = false, exclusive = false, autoDelete = false, arguments: table = {} }: QueueOptions,
  ): Promise<QueueDeclareOk> {
    return this.call(Method.queueDeclare, (args) => args.short(0).shortstr(name).bits(passive, durable, exclusive, autoDelete, false).table(table), [
      Method.queueDeclareOk,
    ]).then((reply) => readDeclareOk((reply as Incoming).args));
  }

  private call(method: number, args: (encoder: Encoder) => void, replies: readonly number[]): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.send(method, args);
      this.waiting.push({ replies, resolve, reject });
    });
  }

  private send(method: number, args: (encoder: Encoder) => void): void {
    if (this.closedBy) throw this.closedBy;
    if (this.closing) throw new AmqpClosedError('the channel is closing');
    this.transport.sendMethod(this.id, method, args);
  }

  private method(incoming: Incoming): void {
    switch (incoming.method) {
      case Method.channelClose: {
        // Refused by the broker (or crossing our own Channel.Close, which then counts as done).
        this.transport.sendMethod(this.id, Method.channelCloseOk);
        const error = operationFailed(readClose(incoming.args));
        const byBroker = this.closedBy === undefined && this.closing === undefined;
        this.ended(error);
        if (byBroker) for (const listener of this.brokerCloseListeners.splice(0)) listener(error);
        return;
      }
      case Method.basicGetOk:
        this.arriving = { got: readGetOk(incoming.args), parts: [], received: 0 };
        return;
      default:
        this.reply(incoming);
    }
  }

  private header(header: ContentHeader): void {
    if (!this.arriving) return;
    this.arriving.header = header;
    this.completeIfWhole();
  }

  private body(part: Buffer): void {
    if (!this.arriving?.header) return;
    this.arriving.parts.push(Buffer.from(part));
    this.arriving.received += part.length;
    this.completeIfWhole();
  }

  private completeIfWhole(): void {
    const arriving = this.arriving;
    if (!arriving?.header || arriving.received < arriving.header.bodySize) return;
    this.arriving = undefined;
    const message: GetMessage = { ...arriving.got, headers: arriving.header.headers ?? {}, body: Buffer.concat(arriving.parts) };
    this.reply({ method: Method.basicGetOk, message });
  }

  private reply(incoming: Reply): void {
    const waiting = this.waiting.shift();
    if (!waiting) return;
    if (waiting.replies.includes(incoming.method)) {
      waiting.resolve(incoming);
      if (incoming.method === Method.channelCloseOk) this.ended(new AmqpClosedError('the channel is closed'));
    } else waiting.reject(new Error(`unexpected reply from the broker on channel ${this.id}: ${incoming.method}`));
  }

  private ended(error: Error): void {
    if (this.closedBy) return;
    this.closedBy = error;
    this.transport.forget(this.id);
    for (const waiting of this.waiting.splice(0)) waiting.reject(error);
  }
}
