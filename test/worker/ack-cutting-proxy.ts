import { type Server, type Socket, connect, createServer } from 'node:net';
import path from 'node:path';

/**
 * A TCP proxy in front of a real RabbitMQ that fails a connection at the worst moment for an
 * acknowledgement: it passes the client's `basic.ack` on to the broker, then drops everything the
 * broker answers and, after `cutAfterMs`, closes both sides. The broker has taken the ack; the
 * client never hears the answer to the round trip it sends after it. This is what a client on a
 * node killed just after its quorum queue committed an ack sees. Frames are read with amqplib's
 * own codec.
 */
export class AckCuttingProxy {
  /** The `basic.ack` frames passed on before a cut, one per cut connection. */
  acksCut = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(broker: { host: string; port: number }, cutAfterMs = 300): Promise<AckCuttingProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new AckCuttingProxy(server, (server.address() as { port: number }).port);
    server.on('connection', (client) => {
      proxy.relay(client, connect(broker.port, broker.host), cutAfterMs);
    });
    return proxy;
  }

  /** `url` (a broker's AMQP URL) pointed at this proxy. */
  url(url: string): string {
    const through = new URL(url);
    through.hostname = '127.0.0.1';
    through.port = String(this.port);
    return through.toString();
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private relay(client: Socket, broker: Socket, cutAfterMs: number): void {
    for (const socket of [client, broker]) {
      this.sockets.add(socket);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        broker.destroy();
      });
      // A reset after the cut is the point; it is not a failure of the test.
      socket.on('error', () => undefined);
    }
    let answering = true;
    broker.on('data', (data: Buffer) => {
      if (answering) client.write(data);
    });
    const frames = new ClientFrames();
    client.on('data', (data: Buffer) => {
      if (!answering) return;
      broker.write(data);
      if (!frames.sawAck(data)) return;
      answering = false;
      this.acksCut++;
      setTimeout(() => {
        client.destroy();
        broker.destroy();
      }, cutAfterMs);
    });
  }
}

// ---- AMQP 0-9-1 frames, read by amqplib's own codec (its package exports only the client).

interface Frame {
  type: number;
  channel: number;
  payload: Buffer;
  rest: Buffer;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const amqplibFrames = require(path.join(path.dirname(require.resolve('amqplib')), 'lib', 'frame.js')) as {
  parseFrame(bin: Buffer): Frame | false;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const defs = require(path.join(path.dirname(require.resolve('amqplib')), 'lib', 'defs.js')) as {
  BasicAck: number;
  constants: { FRAME_METHOD: number };
};

/** The protocol header a client opens with, before its first frame. */
const PROTOCOL_HEADER_BYTES = 8;

/** The client's side of one connection, read frame by frame as its bytes arrive. */
class ClientFrames {
  private pending: Buffer = Buffer.alloc(0);
  private headerLeft = PROTOCOL_HEADER_BYTES;

  /** Whether `data` completes a `basic.ack` method frame. */
  sawAck(data: Buffer): boolean {
    let bytes = data;
    if (this.headerLeft > 0) {
      const skipped = Math.min(this.headerLeft, bytes.length);
      this.headerLeft -= skipped;
      bytes = bytes.subarray(skipped);
    }
    this.pending = Buffer.concat([this.pending, bytes]);
    let acked = false;
    for (let frame = amqplibFrames.parseFrame(this.pending); frame; frame = amqplibFrames.parseFrame(this.pending)) {
      this.pending = frame.rest;
      if (frame.type === defs.constants.FRAME_METHOD && frame.payload.readUInt32BE(0) === defs.BasicAck) acked = true;
    }
    return acked;
  }
}
