import type { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Channel, ChannelModel } from 'amqplib';
import { MAX_REPLY_BYTES, REPLY_TIMEOUT_MS, ReplyTimeoutError, ReplyTooLargeError } from '../broker-limits';

/**
 * The bounds of broker-limits.ts on amqplib's connections: an answer that does not come within
 * its deadline (`replyTimeoutMs`), or a message larger than MAX_REPLY_BYTES, ends the connection as a socket
 * error does in amqplib ('error', then 'close' with the error, and every call still waiting fails),
 * so that Reconnecting takes it as lost.
 */

/** What amqplib keeps of a connection beyond its typings (lib/connection.js). */
interface AmqplibConnection {
  /** The socket. */
  readonly stream: Duplex;
  /** Whether the broker blocked the connection (`connection.blocked`: a memory or disk alarm). */
  readonly blocked: boolean;
}

/** amqplib's frame of a message's content header: its `id` is the class (Basic), `size` the body's. */
interface ReceivedFrame {
  readonly id?: number;
  readonly size?: number;
}

/** The class id of Basic, which a content header frame carries as its id in amqplib. */
const BASIC_CLASS = 60;

function internals(on: ChannelModel | Channel): AmqplibConnection {
  return on.connection as unknown as AmqplibConnection;
}

/** Each connection's reply deadline (`replyTimeoutMs` of broker-limits.ts), by amqplib's connection. */
const replyTimeouts = new WeakMap<object, number>();

/** Sets the deadline of every answer on `model`'s connection. */
export function setReplyTimeout(model: ChannelModel, ms: number): void {
  replyTimeouts.set(internals(model), ms);
}

function replyTimeoutOf(on: ChannelModel | Channel): number {
  return replyTimeouts.get(internals(on)) ?? REPLY_TIMEOUT_MS;
}

/** Ends the connection with `error`, which amqplib reports as the cause of its close. */
export function breakConnection(on: ChannelModel | Channel, error: Error): void {
  internals(on).stream.destroy(error);
}

/**
 * `operation`, unless the broker leaves it unanswered past the connection's deadline: the connection is then
 * broken and the call fails with a `ReplyTimeoutError`. A connection the broker blocked (an alarm)
 * is silent by design: its wait goes on, under the seeder's own limit for blocked publishing.
 */
export function answered<T>(on: ChannelModel | Channel, what: string, operation: Promise<T>): Promise<T> {
  const timeoutMs = replyTimeoutOf(on);
  return new Promise<T>((resolve, reject) => {
    const expire = () => {
      if (internals(on).blocked) {
        timer = setTimeout(expire, timeoutMs);
        return;
      }
      const error = new ReplyTimeoutError(what, timeoutMs);
      breakConnection(on, error);
      reject(error);
    };
    let timer = setTimeout(expire, timeoutMs);
    operation.finally(() => clearTimeout(timer)).then(resolve, reject);
  });
}

/**
 * A close that also ends when the channel or connection closes for another reason: amqplib calls
 * back only on Close-Ok, and a connection lost while it waits for that would leave it waiting.
 */
function untilClosed(emitter: EventEmitter, close: () => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    emitter.once('close', () => resolve());
    close().then(resolve, reject);
  });
}

/**
 * `operation`, failing when the channel closes first. amqplib fails the calls waiting for a reply
 * when a channel closes, but not a `basic.get` whose message has begun to arrive: it would wait
 * for the rest of it for ever.
 */
function failingOnClose<T>(channel: Channel, operation: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // After the call's own outcome, which a refusal (a 404) settles just before the channel closes.
    const closed = () => setImmediate(() => reject(new Error('the channel closed before the whole message arrived')));
    channel.once('close', closed);
    operation.finally(() => channel.off('close', closed)).then(resolve, reject);
  });
}

/**
 * Bounds the calls of a channel that the broker answers (get, checkQueue, assertQueue, close) by
 * the connection's deadline, and refuses a message whose content header announces more than MAX_REPLY_BYTES
 * before amqplib gathers its body in memory. The channel's own methods are wrapped, so that every
 * caller (seeder, status, consumer, seed lock) gets the bounds.
 */
export function withBoundedReplies<C extends Channel>(channel: C): C {
  const get = channel.get.bind(channel);
  const checkQueue = channel.checkQueue.bind(channel);
  const assertQueue = channel.assertQueue.bind(channel);
  const close = channel.close.bind(channel);
  channel.get = (queue, options) =>
    answered(channel, `basic.get from ${queue}`, failingOnClose(channel, get(queue, options)));
  channel.checkQueue = (queue) => answered(channel, `queue.declare (passive) of ${queue}`, checkQueue(queue));
  channel.assertQueue = (queue, options) =>
    answered(channel, `queue.declare of ${queue ?? 'a queue the broker names'}`, assertQueue(queue, options));
  channel.close = () => answered(channel, 'channel.close', untilClosed(channel, close));
  // amqplib hands each frame of the channel to `accept` (replaced by its own on close); an error
  // thrown there ends the connection as a framing error does.
  const frames = channel as unknown as { accept(frame: ReceivedFrame): void };
  const accept = frames.accept.bind(channel);
  frames.accept = (frame) => {
    if (frame.id === BASIC_CLASS && frame.size !== undefined && frame.size > MAX_REPLY_BYTES)
      throw new ReplyTooLargeError(frame.size);
    accept(frame);
  };
  return channel;
}

/** Bounds the connection's close by its deadline, and makes it end when the connection closes otherwise. */
export function withBoundedClose(model: ChannelModel): ChannelModel {
  const close = model.close.bind(model);
  model.close = () => answered(model, 'connection.close', untilClosed(model, close));
  return model;
}
