import { Decoder, Encoder, type FieldTable } from './codec';

/**
 * The AMQP 0-9-1 methods the worker sends and receives, by class and method id, with their
 * arguments in the order the spec gives them.
 */

const id = (classId: number, methodId: number) => (classId << 16) | methodId;

export const Method = {
  connectionStart: id(10, 10),
  connectionStartOk: id(10, 11),
  connectionTune: id(10, 30),
  connectionTuneOk: id(10, 31),
  connectionOpen: id(10, 40),
  connectionOpenOk: id(10, 41),
  connectionClose: id(10, 50),
  connectionCloseOk: id(10, 51),
  connectionBlocked: id(10, 60),
  connectionUnblocked: id(10, 61),
  channelOpen: id(20, 10),
  channelOpenOk: id(20, 11),
  channelClose: id(20, 40),
  channelCloseOk: id(20, 41),
  queueDeclare: id(50, 10),
  queueDeclareOk: id(50, 11),
  basicGet: id(60, 70),
  basicGetOk: id(60, 71),
  basicGetEmpty: id(60, 72),
  basicAck: id(60, 80),
  basicReject: id(60, 90),
  basicNack: id(60, 120),
} as const;

/** The names of the methods, for messages (`QueueDeclare`). */
const METHOD_NAMES = new Map(Object.entries(Method).map(([name, value]) => [value, name.charAt(0).toUpperCase() + name.slice(1)]));

export function methodName(method: number): string {
  return METHOD_NAMES.get(method) ?? `${method >>> 16}.${method & 0xffff}`;
}

/** A method frame's payload: the method's ids, then what `args` writes. */
export function encodeMethod(method: number, args?: (encoder: Encoder) => void): Buffer {
  const encoder = new Encoder().long(method);
  args?.(encoder);
  return encoder.result();
}

/** Connection.Close and Channel.Close: why the broker (or we) closed. */
export interface CloseReason {
  readonly replyCode: number;
  readonly replyText: string;
  /** The method that caused it, 0 when none did. */
  readonly method: number;
}

export interface Tune {
  readonly channelMax: number;
  readonly frameMax: number;
  readonly heartbeat: number;
}

export interface QueueDeclareOk {
  readonly queue: string;
  readonly messageCount: number;
  readonly consumerCount: number;
}

export interface GetOk {
  readonly deliveryTag: number | bigint;
  readonly redelivered: boolean;
  readonly exchange: string;
  readonly routingKey: string;
  readonly messageCount: number;
}

/** An incoming method: its ids, and a decoder positioned at its arguments (read with the `read…` functions below). */
export interface Incoming {
  readonly method: number;
  readonly args: Decoder;
}

export function decodeMethod(payload: Buffer): Incoming {
  const args = new Decoder(payload);
  return { method: args.long(), args };
}

/** Connection.Start: the authentication mechanisms the broker offers. */
export function readStart(args: Decoder): { readonly mechanisms: string[] } {
  args.octet(); // version-major
  args.octet(); // version-minor
  args.table(); // server-properties
  return { mechanisms: args.longstr().split(' ') };
}

export function readTune(args: Decoder): Tune {
  return { channelMax: args.short(), frameMax: args.long(), heartbeat: args.short() };
}

/** Connection.Close and Channel.Close. */
export function readClose(args: Decoder): CloseReason {
  const replyCode = args.short();
  const replyText = args.shortstr();
  return { replyCode, replyText, method: args.long() };
}

export function readDeclareOk(args: Decoder): QueueDeclareOk {
  return { queue: args.shortstr(), messageCount: args.long(), consumerCount: args.long() };
}

export function readGetOk(args: Decoder): GetOk {
  const deliveryTag = args.longlong();
  const [redelivered] = args.bits(1);
  return { deliveryTag, redelivered, exchange: args.shortstr(), routingKey: args.shortstr(), messageCount: args.long() };
}

/** A content header frame's payload: the body's size and the properties up to the headers (the only one read). */
export interface ContentHeader {
  readonly bodySize: number;
  readonly headers?: FieldTable;
}

const HAS_CONTENT_TYPE = 1 << 15;
const HAS_CONTENT_ENCODING = 1 << 14;
const HAS_HEADERS = 1 << 13;

export function decodeContentHeader(payload: Buffer): ContentHeader {
  const decoder = new Decoder(payload);
  decoder.short(); // class
  decoder.short(); // weight
  const bodySize = Number(decoder.longlong());
  const flags = decoder.short();
  if (flags & HAS_CONTENT_TYPE) decoder.shortstr();
  if (flags & HAS_CONTENT_ENCODING) decoder.shortstr();
  return { bodySize, ...(flags & HAS_HEADERS && { headers: decoder.table() }) };
}
