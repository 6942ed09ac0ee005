import { Decoder, Encoder, type FieldTable } from '../../worker/amqp/wire/codec';
import { FrameReader, FrameType, frame } from '../../worker/amqp/wire/frames';
import { Method, decodeContentHeader, decodeMethod, readGetOk } from '../../worker/amqp/wire/methods';

/** The worker's own AMQP 0-9-1 codec (worker/amqp/wire): round trips and frames cut at every byte. */
describe('AMQP codec', () => {
  const roundTrip = (table: FieldTable) => new Decoder(new Encoder(8).table(table).result()).table();

  test('field tables round trip: strings, booleans, integers, doubles, null, bytes, arrays and nested tables', () => {
    const table: FieldTable = {
      'x-queue-type': 'quorum',
      empty: '',
      text: 'äpfel, 🍎 und birnen',
      yes: true,
      no: false,
      byte: -128,
      short: 32767,
      int: -2147483648,
      long: 2 ** 40,
      huge: 2n ** 62n,
      double: 1.5,
      nothing: null,
      bytes: Buffer.from([0, 1, 254, 255]),
      list: [1, 'two', [false], { three: 3 }],
      nested: { capabilities: { 'basic.nack': true, deeper: { level: 3 } } },
    };
    expect(roundTrip(table)).toEqual(table);
  });

  test('numbers are written in the smallest signed integer type that holds them, as amqplib writes them', () => {
    const tagOf = (value: number) => String.fromCharCode(new Encoder().table({ n: value }).result()[6]);
    expect([0, 127, 128, 32767, 32768, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 0.5].map(tagOf)).toEqual(['b', 'b', 's', 's', 'I', 'I', 'l', 'I', 'd']);
  });

  test('reads the integer and other types the broker sends, each width signed and unsigned', () => {
    const fields = new Encoder();
    const field = (name: string, tag: string, write: (buffer: Buffer) => void, size: number) => {
      const value = Buffer.alloc(size);
      write(value);
      fields.shortstr(name).octet(tag.charCodeAt(0)).bytes(value);
    };
    field('B', 'B', (b) => b.writeUInt8(200), 1);
    field('u', 'u', (b) => b.writeUInt16BE(60000), 2);
    field('i', 'i', (b) => b.writeUInt32BE(4000000000), 4);
    field('l', 'l', (b) => b.writeBigInt64BE(-5n), 8);
    field('f', 'f', (b) => b.writeFloatBE(0.25), 4);
    field('D', 'D', (b) => (b.writeUInt8(2), b.writeInt32BE(12345, 1)), 5);
    field('T', 'T', (b) => b.writeBigUInt64BE(1700000000n), 8);
    const body = fields.result();
    const table = new Decoder(new Encoder().long(body.length).bytes(body).result()).table();
    expect(table).toEqual({ B: 200, u: 60000, i: 4000000000, l: -5, f: 0.25, D: 123.45, T: new Date(1700000000 * 1000) });
  });

  test('long strings and short strings; a short string over 255 bytes is refused', () => {
    const long = 'x'.repeat(100_000);
    const decoder = new Decoder(new Encoder().longstr(long).shortstr('queue-ä').result());
    expect(decoder.longstr()).toBe(long);
    expect(decoder.shortstr()).toBe('queue-ä');
    expect(decoder.remaining).toBe(0);
    expect(() => new Encoder().shortstr('q'.repeat(256))).toThrow(/at most 255 bytes/);
  });

  test('a value that runs past its frame is an error, not a wrong value', () => {
    expect(() => new Decoder(new Encoder().long(10).octet(1).result()).table()).toThrow(/past the end/);
  });

  test('a Basic.GetOk, its content header and a body split over several frames and over socket reads', () => {
    const body = Buffer.from('ä'.repeat(5000), 'utf8');
    const getOk = new Encoder().long(Method.basicGetOk).longlong(7).bits(true).shortstr('').shortstr('job1').long(3).result();
    const header = new Encoder()
      .short(60)
      .short(0)
      .longlong(body.length)
      .short(1 << 13)
      .table({ 'x-delivery-count': 2 })
      .result();
    const parts = [body.subarray(0, 4000), body.subarray(4000, 8000), body.subarray(8000)];
    const bytes = Buffer.concat([
      frame(FrameType.method, 1, getOk),
      frame(FrameType.header, 1, header),
      ...parts.map((part) => frame(FrameType.body, 1, part)),
    ]);
    for (const readSize of [1, 3, 7, 4096, bytes.length]) {
      const reader = new FrameReader(() => 4096 + 8);
      const frames = [];
      for (let at = 0; at < bytes.length; at += readSize) frames.push(...reader.push(bytes.subarray(at, at + readSize)));
      expect(frames.map((f) => [f.type, f.channel])).toEqual([
        [1, 1],
        [2, 1],
        [3, 1],
        [3, 1],
        [3, 1],
      ]);
      const method = decodeMethod(frames[0].payload);
      expect(method.method).toBe(Method.basicGetOk);
      expect(readGetOk(method.args)).toEqual({ deliveryTag: 7, redelivered: true, exchange: '', routingKey: 'job1', messageCount: 3 });
      expect(decodeContentHeader(frames[1].payload)).toEqual({ bodySize: body.length, headers: { 'x-delivery-count': 2 } });
      expect(Buffer.concat(frames.slice(2).map((f) => f.payload)).equals(body)).toBe(true);
    }
  });

  test('a frame larger than the negotiated frame-max, or without its end octet, is refused', () => {
    expect(() => new FrameReader(() => 4096).push(frame(FrameType.body, 1, Buffer.alloc(5000)))).toThrow(/frame-max/);
    const broken = frame(FrameType.body, 1, Buffer.from('abc'));
    broken[broken.length - 1] = 0;
    expect(() => new FrameReader(() => 4096).push(broken)).toThrow(/frame-end/);
  });
});
