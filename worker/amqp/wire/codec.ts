/**
 * AMQP 0-9-1 data types: integers, short and long strings, bits and field tables (as RabbitMQ
 * reads and writes them: its errata, not the spec's table of field types). Numbers in tables are
 * written as the smallest signed integer that holds them (a double when not whole), as amqplib
 * writes them, so that queue arguments declared by either client are equivalent.
 */

export type FieldValue = string | number | bigint | boolean | null | Buffer | Date | FieldValue[] | FieldTable;
export interface FieldTable {
  [name: string]: FieldValue;
}

/** Writes AMQP values into a buffer that grows as needed. */
export class Encoder {
  private buffer: Buffer;
  private length = 0;

  constructor(capacity = 256) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  octet(value: number): this {
    this.reserve(1).writeUInt8(value, this.length - 1);
    return this;
  }

  short(value: number): this {
    this.reserve(2).writeUInt16BE(value, this.length - 2);
    return this;
  }

  long(value: number): this {
    this.reserve(4).writeUInt32BE(value, this.length - 4);
    return this;
  }

  longlong(value: number | bigint): this {
    this.reserve(8).writeBigUInt64BE(BigInt(value), this.length - 8);
    return this;
  }

  /** Consecutive bit fields, packed into one octet (the first in the lowest bit). */
  bits(...values: boolean[]): this {
    return this.octet(values.reduce((octet, value, i) => octet | (value ? 1 << i : 0), 0));
  }

  shortstr(text: string): this {
    const bytes = Buffer.from(text, 'utf8');
    if (bytes.length > 255) throw new RangeError(`an AMQP short string holds at most 255 bytes, got ${bytes.length}: ${text.slice(0, 40)}…`);
    return this.octet(bytes.length).bytes(bytes);
  }

  longstr(value: string | Buffer): this {
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    return this.long(bytes.length).bytes(bytes);
  }

  table(table: FieldTable): this {
    return this.sized(() => {
      for (const [name, value] of Object.entries(table)) this.shortstr(name).field(value);
    });
  }

  bytes(bytes: Buffer): this {
    bytes.copy(this.reserve(bytes.length), this.length - bytes.length);
    return this;
  }

  /** What was written so far (a view, not a copy). */
  result(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  private field(value: FieldValue): void {
    if (typeof value === 'string')
      this.octet(0x53).longstr(value); // S
    else if (typeof value === 'boolean')
      this.octet(0x74).octet(value ? 1 : 0); // t
    else if (typeof value === 'bigint')
      this.octet(0x6c).signed64(value); // l
    else if (typeof value === 'number') this.number(value);
    else if (value === null)
      this.octet(0x56); // V
    else if (Buffer.isBuffer(value))
      this.octet(0x78).longstr(value); // x
    else if (value instanceof Date)
      this.octet(0x54).longlong(Math.floor(value.getTime() / 1000)); // T
    else if (Array.isArray(value))
      this.octet(0x41).sized(() => value.forEach((item) => this.field(item))); // A
    else this.octet(0x46).table(value); // F
  }

  private number(value: number): void {
    if (!Number.isInteger(value))
      this.octet(0x64)
        .reserve(8)
        .writeDoubleBE(value, this.length - 8); // d
    else if (value >= -0x80 && value < 0x80)
      this.octet(0x62)
        .reserve(1)
        .writeInt8(value, this.length - 1); // b
    else if (value >= -0x8000 && value < 0x8000)
      this.octet(0x73)
        .reserve(2)
        .writeInt16BE(value, this.length - 2); // s
    else if (value >= -0x80000000 && value < 0x80000000)
      this.octet(0x49)
        .reserve(4)
        .writeInt32BE(value, this.length - 4); // I
    else this.octet(0x6c).signed64(BigInt(value)); // l
  }

  private signed64(value: bigint): void {
    this.reserve(8).writeBigInt64BE(value, this.length - 8);
  }

  /** Writes what `write` writes behind its length in bytes (a long). */
  private sized(write: () => void): this {
    const at = this.length;
    this.long(0);
    write();
    this.buffer.writeUInt32BE(this.length - at - 4, at);
    return this;
  }

  /** Makes room for `size` more bytes and counts them as written; returns the buffer to write them into. */
  private reserve(size: number): Buffer {
    if (this.length + size > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + size));
      this.buffer.copy(grown, 0, 0, this.length);
      this.buffer = grown;
    }
    this.length += size;
    return this.buffer;
  }
}

/** Reads AMQP values from a buffer that holds them whole (one frame's payload). */
export class Decoder {
  private offset = 0;

  constructor(private readonly buffer: Buffer) {}

  get remaining(): number {
    return this.buffer.length - this.offset;
  }

  octet(): number {
    return this.buffer.readUInt8(this.advance(1));
  }

  short(): number {
    return this.buffer.readUInt16BE(this.advance(2));
  }

  long(): number {
    return this.buffer.readUInt32BE(this.advance(4));
  }

  /** A 64-bit unsigned integer; a number while it is exact, a bigint beyond. */
  longlong(): number | bigint {
    return exact(this.buffer.readBigUInt64BE(this.advance(8)));
  }

  /** `count` consecutive bit fields from one octet (the first in the lowest bit). */
  bits(count: number): boolean[] {
    const octet = this.octet();
    return Array.from({ length: count }, (_, i) => (octet & (1 << i)) !== 0);
  }

  shortstr(): string {
    return this.text(this.octet());
  }

  longstr(): string {
    return this.text(this.long());
  }

  table(): FieldTable {
    const end = this.sizedEnd();
    const table: FieldTable = {};
    while (this.offset < end) {
      const name = this.shortstr();
      table[name] = this.field();
    }
    return table;
  }

  /** The rest of the buffer. */
  rest(): Buffer {
    return this.buffer.subarray(this.advance(this.remaining));
  }

  private field(): FieldValue {
    const type = String.fromCharCode(this.octet());
    switch (type) {
      case 't':
        return this.octet() !== 0;
      case 'b':
        return this.buffer.readInt8(this.advance(1));
      case 'B':
        return this.octet();
      case 's':
        return this.buffer.readInt16BE(this.advance(2));
      case 'u':
        return this.short();
      case 'I':
        return this.buffer.readInt32BE(this.advance(4));
      case 'i':
        return this.long();
      case 'l':
        return exact(this.buffer.readBigInt64BE(this.advance(8)));
      case 'f':
        return this.buffer.readFloatBE(this.advance(4));
      case 'd':
        return this.buffer.readDoubleBE(this.advance(8));
      case 'D': {
        const scale = this.octet();
        return this.buffer.readInt32BE(this.advance(4)) / 10 ** scale;
      }
      case 'S':
        return this.longstr();
      case 'x':
        return Buffer.from(this.buffer.subarray(this.advance(this.long()), this.offset));
      case 'T':
        return new Date(Number(this.longlong()) * 1000);
      case 'V':
        return null;
      case 'A': {
        const end = this.sizedEnd();
        const items: FieldValue[] = [];
        while (this.offset < end) items.push(this.field());
        return items;
      }
      case 'F':
        return this.table();
      default:
        throw new Error(`unknown AMQP field type ${JSON.stringify(type)}`);
    }
  }

  /** Reads a length (a long) and returns where the value it announces ends. */
  private sizedEnd(): number {
    const size = this.long();
    if (this.offset + size > this.buffer.length) throw new RangeError('an AMQP table runs past the end of its frame');
    return this.offset + size;
  }

  private text(size: number): string {
    const start = this.advance(size);
    return this.buffer.toString('utf8', start, this.offset);
  }

  /** Moves past `size` bytes; returns where they start. */
  private advance(size: number): number {
    const start = this.offset;
    if (start + size > this.buffer.length) throw new RangeError('an AMQP value runs past the end of its frame');
    this.offset += size;
    return start;
  }
}

function exact(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}
