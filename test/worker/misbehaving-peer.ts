import { type Server, type Socket, createServer } from 'node:net';
import path from 'node:path';

/**
 * TCP peers on 127.0.0.1 that are not brokers, one behaviour each: what a worker meets when its
 * BROKER_URL points at the wrong port, a half-open load balancer, an HTTP server, or a broker
 * that breaks its protocol. Each records its connections, so a test can tell a worker that
 * reconnected with backoff from one that reconnected hundreds of times.
 */

/** What a peer does with one accepted connection. */
export type Behaviour = (socket: Socket) => void;

export interface PeerConnection {
  /** Milliseconds since the epoch. */
  readonly openedAt: number;
}

export class MisbehavingPeer {
  readonly connections: PeerConnection[] = [];
  private readonly sockets = new Set<Socket>();
  private onFirst?: (connection: PeerConnection) => void;
  private readonly first = new Promise<PeerConnection>((resolve) => (this.onFirst = resolve));

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(behaviour: Behaviour): Promise<MisbehavingPeer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const peer = new MisbehavingPeer(server, (server.address() as { port: number }).port);
    server.on('connection', (socket) => peer.accept(socket, behaviour));
    return peer;
  }

  /** A BROKER_URL that points at this peer. */
  url(scheme: 'amqp' | 'redis'): string {
    return scheme === 'amqp' ? `amqp://guest:guest@127.0.0.1:${this.port}` : `redis://127.0.0.1:${this.port}`;
  }

  /** Resolves when the first connection arrives. */
  firstConnection(): Promise<PeerConnection> {
    return this.first;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private accept(socket: Socket, behaviour: Behaviour): void {
    const connection: PeerConnection = { openedAt: Date.now() };
    this.connections.push(connection);
    this.onFirst?.(connection);
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    // The worker resets or abandons connections; that is what is being tested, not a failure.
    socket.on('error', () => undefined);
    behaviour(socket);
  }
}

// ---- AMQP 0-9-1 frames, encoded by amqplib's own codec (its package exports only the client).

interface AmqpDefs {
  encodeMethod(id: number, channel: number, fields: Record<string, unknown>): Buffer;
  ConnectionStart: number;
  ConnectionStartOk: number;
  ConnectionTune: number;
  ConnectionTuneOk: number;
  ConnectionOpen: number;
  ConnectionOpenOk: number;
  ConnectionClose: number;
  ConnectionCloseOk: number;
  ChannelOpen: number;
  ChannelOpenOk: number;
  ChannelClose: number;
  ChannelCloseOk: number;
  QueueDeclareOk: number;
  constants: { FRAME_METHOD: number; FRAME_HEARTBEAT: number; FRAME_END: number };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const defs = require(path.join(path.dirname(require.resolve('amqplib')), 'lib', 'defs.js')) as AmqpDefs;

/** What RabbitMQ answers a client that sends something other than the AMQP 0-9-1 protocol header. */
const AMQP_PROTOCOL_HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');

/** Connection.Start with the fields the machine's RabbitMQ 3.10.8 on :5672 sends (decoded from it by amqplib). */
const CONNECTION_START = defs.encodeMethod(defs.ConnectionStart, 0, {
  versionMajor: 0,
  versionMinor: 9,
  serverProperties: {
    capabilities: {
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      consumer_priorities: true,
      authentication_failure_close: true,
      per_consumer_qos: true,
      direct_reply_to: true,
    },
    cluster_name: 'rabbit@vm',
    copyright: 'Copyright (c) 2007-2022 VMware, Inc. or its affiliates.',
    information: 'Licensed under the MPL 2.0. Website: https://rabbitmq.com',
    platform: 'Erlang/OTP 25.2.3',
    product: 'RabbitMQ',
    version: '3.10.8',
  },
  mechanisms: Buffer.from('PLAIN AMQPLAIN'),
  locales: Buffer.from('en_US'),
});

/** A heartbeat frame: type 8, channel 0, empty payload, frame end. */
const HEARTBEAT = Buffer.from([defs.constants.FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, defs.constants.FRAME_END]);

/** Bytes of a frame before its payload: type (1), channel (2), payload size (4). */
const FRAME_HEADER_BYTES = 7;

/** A method frame with `payload` (method id and fields) as given, however malformed. */
function methodFrame(payload: Buffer): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  header.writeUInt8(defs.constants.FRAME_METHOD, 0);
  header.writeUInt32BE(payload.length, 3);
  return Buffer.concat([header, payload, Buffer.from([defs.constants.FRAME_END])]);
}

/**
 * Connection.Start whose server-properties table declares 1,000 bytes more than its frame holds:
 * the table runs past the end of the frame. The table's length follows the method id (4 bytes)
 * and the two version octets.
 */
const START_WITH_OVERRUNNING_TABLE = (() => {
  const frame = Buffer.from(CONNECTION_START);
  const tableLengthAt = FRAME_HEADER_BYTES + 4 + 2;
  frame.writeUInt32BE(frame.readUInt32BE(tableLengthAt) + 1000, tableLengthAt);
  return frame;
})();

/** Connection.Tune cut after 3 of its 8 bytes of fields (channel-max, frame-max, heartbeat), in a well-formed frame. */
const TRUNCATED_TUNE = (() => {
  const tune = defs.encodeMethod(defs.ConnectionTune, 0, { channelMax: 2047, frameMax: 131072, heartbeat: 60 });
  const payload = tune.subarray(FRAME_HEADER_BYTES, tune.length - 1);
  return methodFrame(payload.subarray(0, 4 + 3));
})();

/** The header of a method frame that declares 2 GiB - 1 of payload, followed by a few bytes of it. */
const OVERSIZED_FRAME = Buffer.concat([
  Buffer.from([defs.constants.FRAME_METHOD, 0, 0, 0x7f, 0xff, 0xff, 0xff]),
  CONNECTION_START.subarray(7, 64),
]);

/**
 * Queue.Declare-Ok on channel 1 (a client's first channel) whose queue name declares 200 bytes and
 * has 5 in its frame: a value that runs past the end of its frame.
 */
const TRUNCATED_DECLARE_OK = (() => {
  const declareOk = defs.encodeMethod(defs.QueueDeclareOk, 1, { queue: 'queue', messageCount: 0, consumerCount: 0 });
  const payload = Buffer.from(declareOk.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + 4 + 1 + 'queue'.length));
  payload.writeUInt8(200, 4);
  const frame = methodFrame(payload);
  frame.writeUInt16BE(1, 1);
  return frame;
})();

/** Calls `onMethod(id, channel)` for every method frame the client sends after its protocol header. */
function onMethodFrames(socket: Socket, onMethod: (id: number, channel: number) => void): void {
  let pending = Buffer.alloc(0);
  let headerSeen = false;
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    if (!headerSeen) {
      if (pending.length < AMQP_PROTOCOL_HEADER.length) return;
      pending = pending.subarray(AMQP_PROTOCOL_HEADER.length);
      headerSeen = true;
    }
    while (pending.length >= FRAME_HEADER_BYTES) {
      const end = FRAME_HEADER_BYTES + pending.readUInt32BE(3);
      if (pending.length < end + 1) return;
      if (pending[0] === defs.constants.FRAME_METHOD)
        onMethod(pending.readUInt32BE(FRAME_HEADER_BYTES), pending.readUInt16BE(1));
      pending = pending.subarray(end + 1);
    }
  });
}

/** Calls `then` once the client has sent at least `bytes` bytes in all. */
function afterReceiving(socket: Socket, bytes: number, then: () => void): void {
  let received = 0;
  const onData = (chunk: Buffer) => {
    received += chunk.length;
    if (received < bytes) return;
    socket.off('data', onData);
    then();
  };
  socket.on('data', onData);
}

/** Calls `then` once the client has said something (a protocol header, a command). */
function afterRequest(socket: Socket, then: () => void): void {
  afterReceiving(socket, 1, then);
}

/** After the client's protocol header (8 bytes), as an AMQP server speaks. */
function afterProtocolHeader(socket: Socket, then: () => void): void {
  afterReceiving(socket, AMQP_PROTOCOL_HEADER.length, then);
}

/** Writes `frame` every 100 ms while the connection is open. */
function every100ms(socket: Socket, frame: Buffer): void {
  const timer = setInterval(() => socket.write(frame), 100);
  socket.on('close', () => clearInterval(timer));
}

/** Bytes that look random but are the same every run (xorshift32 from a fixed seed), so a failure can be replayed. */
function pseudoRandomBytes(length: number, seed = 0x2545f491): Buffer {
  const bytes = Buffer.alloc(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

// ---- What a peer answers: written once, when the peer answers.

/** What a peer sends when it answers; some close the connection, the others keep it open. */
export type Answer = (socket: Socket) => void;

/** Nothing at all. */
export const nothing: Answer = () => undefined;

/** 64 KiB of noise. */
export const randomBytes: Answer = (socket) => socket.write(pseudoRandomBytes(64 * 1024));

/** What Node's HTTP server answers a request it cannot parse, then close: an HTTP Service on the broker's port. */
export const httpBadRequest: Answer = (socket) => socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');

/** RabbitMQ's answer to a client that does not speak AMQP (here: a Redis client), then close. */
export const amqpProtocolHeader: Answer = (socket) => socket.end(AMQP_PROTOCOL_HEADER);

/** `+OK`, then close. */
export const okThenClose: Answer = (socket) => socket.end('+OK\r\n');

/** A bulk string whose length is not a number. */
export const bulkLengthNotANumber: Answer = (socket) => socket.write('$abc\r\n');

/** A bulk string of 2,000,000,000 bytes announced, then 100 bytes of it every 100 ms. */
export const hugeBulkTrickle: Answer = (socket) => {
  socket.write('$2000000000\r\n');
  every100ms(socket, Buffer.alloc(100, 'x'));
};

/** A simple string that never ends: `+` and then bytes without CRLF, as fast as the client reads them. */
export const endlessLine: Answer = (socket) => {
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const pour = () => {
    while (!socket.destroyed && socket.writable) {
      if (!socket.write(chunk)) return void socket.once('drain', pour);
    }
  };
  socket.write('+');
  pour();
};

/** What a Redis answers while it reads its data set from disk. */
export const loading: Answer = (socket) => socket.write('-LOADING Redis is loading the dataset in memory\r\n');

/** AMQP heartbeats every 100 ms, for ever. */
export const heartbeats: Answer = (socket) => every100ms(socket, HEARTBEAT);

/** A Connection.Start whose field table runs past its frame. */
export const startWithOverrunningTable: Answer = (socket) => socket.write(START_WITH_OVERRUNNING_TABLE);

/** Connection.Tune cut short. */
export const truncatedTune: Answer = (socket) => socket.write(TRUNCATED_TUNE);

/** A frame that declares 2 GiB and never sends them. */
export const oversizedFrame: Answer = (socket) => socket.write(OVERSIZED_FRAME);

/** A Queue.Declare-Ok whose queue name runs past its frame. */
export const truncatedDeclareOk: Answer = (socket) => socket.write(TRUNCATED_DECLARE_OK);

// ---- The behaviours: when a peer answers.

/** Accepts and says nothing: a Service on the wrong port, a half-open load balancer. */
export const silence: Behaviour = () => undefined;

/** Answers the client's first bytes (its protocol header, its first command). */
export function answeringFirstRequest(answer: Answer): Behaviour {
  return (socket) => afterRequest(socket, () => answer(socket));
}

/** Answers the AMQP protocol header: with Connection.Start first when `start`. */
export function amqpAnsweringHeader(answer: Answer, start: boolean): Behaviour {
  return (socket) =>
    afterProtocolHeader(socket, () => {
      if (start) socket.write(CONNECTION_START);
      answer(socket);
    });
}

/** Sends Connection.Start for the protocol header, and answers Start-Ok. */
export function amqpAnsweringStartOk(answer: Answer): Behaviour {
  return (socket) =>
    afterProtocolHeader(socket, () => {
      socket.write(CONNECTION_START);
      afterRequest(socket, () => answer(socket));
    });
}

/**
 * A broker that breaks the protocol after the handshake: it completes Connection.Start/Tune/Open
 * and Channel.Open as RabbitMQ does, then answers the first other method (Confirm.Select,
 * Queue.Declare, Basic.Qos, ...).
 */
export function amqpAnsweringAfterHandshake(answer: Answer): Behaviour {
  return (socket) => {
    let answered = false;
    afterProtocolHeader(socket, () => socket.write(CONNECTION_START));
    onMethodFrames(socket, (id, channel) => {
      if (id === defs.ConnectionStartOk)
        socket.write(defs.encodeMethod(defs.ConnectionTune, 0, { channelMax: 2047, frameMax: 131072, heartbeat: 60 }));
      else if (id === defs.ConnectionOpen)
        socket.write(defs.encodeMethod(defs.ConnectionOpenOk, 0, { knownHosts: '' }));
      else if (id === defs.ChannelOpen)
        socket.write(defs.encodeMethod(defs.ChannelOpenOk, channel, { channelId: Buffer.alloc(0) }));
      else if (id === defs.ChannelClose) socket.write(defs.encodeMethod(defs.ChannelCloseOk, channel, {}));
      else if (id === defs.ConnectionClose) socket.end(defs.encodeMethod(defs.ConnectionCloseOk, 0, {}));
      else if (id !== defs.ConnectionTuneOk && !answered) {
        answered = true;
        answer(socket);
      }
    });
  };
}

/**
 * A server that passes the round trip at connect (PONG to PING, OK to what a client sets itself
 * up with) and answers the first other command: a peer that looks like Redis until it is used.
 */
export function redisAnsweringAfterPong(answer: Answer): Behaviour {
  return (socket) => {
    let answered = false;
    onRespCommands(socket, (command) => {
      if (command === 'PING') socket.write('+PONG\r\n');
      else if (['CLIENT', 'SELECT', 'AUTH'].includes(command)) socket.write('+OK\r\n');
      else if (!answered) {
        answered = true;
        answer(socket);
      }
    });
  };
}

/** Answers every command `-LOADING`, as a Redis does while it reads its data set from disk. */
export const redisLoading: Behaviour = (socket) => onRespCommands(socket, () => loading(socket));

/**
 * Calls `answer(command)` for every RESP command the client sends (an array of bulk strings, as
 * every Redis client sends them), with the command's name upper-cased.
 */
function onRespCommands(socket: Socket, answer: (command: string) => void): void {
  let pending = '';
  socket.on('data', (chunk: Buffer) => {
    pending += chunk.toString('latin1');
    for (;;) {
      const parsed = firstCommand(pending);
      if (!parsed) return;
      pending = pending.slice(parsed.length);
      answer(parsed.name.toUpperCase());
    }
  });
}

/** The name and length of the first complete command in `text`, or undefined while it is incomplete. */
function firstCommand(text: string): { name: string; length: number } | undefined {
  const header = /^\*(\d+)\r\n/.exec(text);
  if (!header) return undefined;
  let at = header[0].length;
  let name: string | undefined;
  for (let i = 0; i < Number(header[1]); i++) {
    const bulk = /^\$(\d+)\r\n/.exec(text.slice(at));
    if (!bulk) return undefined;
    const start = at + bulk[0].length;
    const end = start + Number(bulk[1]);
    if (text.length < end + 2) return undefined;
    name ??= text.slice(start, end);
    at = end + 2;
  }
  return { name: name ?? '', length: at };
}
