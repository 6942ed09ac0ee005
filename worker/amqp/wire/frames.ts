import { Encoder } from './codec';

/**
 * AMQP 0-9-1 framing: each frame is a type octet, a channel (short), a payload size (long), the
 * payload and the frame-end octet 0xCE.
 */

export const PROTOCOL_HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');

export const FrameType = { method: 1, header: 2, body: 3, heartbeat: 8 } as const;

const FRAME_END = 0xce;
/** Type, channel and size. */
const FRAME_HEADER_SIZE = 7;

export interface Frame {
  readonly type: number;
  readonly channel: number;
  readonly payload: Buffer;
}

/** A frame with its type, channel, size and end octet around `payload`. */
export function frame(type: number, channel: number, payload: Buffer): Buffer {
  return new Encoder(payload.length + FRAME_HEADER_SIZE + 1).octet(type).short(channel).long(payload.length).bytes(payload).octet(FRAME_END).result();
}

export const HEARTBEAT_FRAME = frame(FrameType.heartbeat, 0, Buffer.alloc(0));

/**
 * Cuts the bytes read from a socket into frames: a frame may arrive split over several reads,
 * and one read may hold several frames.
 */
export class FrameReader {
  private buffered?: Buffer;

  constructor(private readonly maxFrameSize: () => number) {}

  /** The frames completed by `chunk`; throws on bytes that are not a frame. */
  push(chunk: Buffer): Frame[] {
    const data = this.buffered ? Buffer.concat([this.buffered, chunk]) : chunk;
    this.buffered = undefined;
    const frames: Frame[] = [];
    let offset = 0;
    while (data.length - offset >= FRAME_HEADER_SIZE) {
      const size = data.readUInt32BE(offset + 3);
      if (size + FRAME_HEADER_SIZE + 1 > this.maxFrameSize()) throw new Error(`the broker sent a frame of ${size} bytes, larger than the negotiated frame-max`);
      const end = offset + FRAME_HEADER_SIZE + size;
      if (end >= data.length) break;
      if (data[end] !== FRAME_END) throw new Error('the broker sent a frame without its frame-end octet');
      frames.push({ type: data[offset], channel: data.readUInt16BE(offset + 1), payload: data.subarray(offset + FRAME_HEADER_SIZE, end) });
      offset = end + 1;
    }
    if (offset < data.length) this.buffered = data.subarray(offset);
    return frames;
  }
}
