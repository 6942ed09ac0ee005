import { writeFileSync } from 'node:fs';
import { ExitCode, checkItems } from '../../contract';
import { decodeKeepingInvalidBytes } from '../../worker/items';
import { useBrokers } from './broker-fixture';
import { amqpEnv, amqpTakeAll, redisEnv, runCli, tempDir } from './helpers';

describe('the item rule (shared by the constructs and the seeder)', () => {
  test('an item is any valid UTF-8 string, the empty one included', () => {
    expect(checkItems(['', 'apple', 'apple', 'caf\u00e9', '\u{1F34E}'])).toBeUndefined();
  });

  test.each([
    ['a lone high surrogate', '\ud800'],
    ['a lone low surrogate', 'x\udc00'],
    ['surrogates in the wrong order', '\udc00\ud800'],
  ])('fails for an item with %s, naming its index', (_what, bad) => {
    expect(checkItems(['fine', bad])).toEqual({
      where: '[1]',
      value: bad,
      expected: expect.stringMatching(/^valid UTF-8 text/),
    });
  });
});

describe('reading ITEMS_FILE bytes', () => {
  test('valid UTF-8 is decoded as it is', () => {
    const text = '["caf\u00e9", "\u{1F34E}"]';
    expect(decodeKeepingInvalidBytes(Buffer.from(text, 'utf8'))).toBe(text);
  });

  test.each([
    ['a Latin-1 byte', [0x61, 0xe9, 0x62], 'a\udce9b'],
    ['a stray continuation byte', [0x80], '\udc80'],
    ['an overlong encoding', [0xc0, 0xaf], '\udcc0\udcaf'],
    ['an encoded surrogate', [0xed, 0xa0, 0x80], '\udced\udca0\udc80'],
    ['a truncated sequence at the end', [0x61, 0xe2, 0x82], 'a\udce2\udc82'],
  ])('%s becomes one unpaired surrogate per byte, which the item rule rejects', (_what, bytes, expected) => {
    const text = decodeKeepingInvalidBytes(Buffer.from(bytes));
    expect(text).toBe(expected);
    expect(checkItems([text])?.expected).toMatch(/^valid UTF-8 text/);
  });
});

describe('items on the queue', () => {
  const brokers = useBrokers('redis', 'amqp');
  const files = tempDir();

  afterAll(() => files.remove());

  test('fails for an ITEMS_FILE holding bytes that are not UTF-8, naming the item', async () => {
    const file = `${files.dir}/latin1.json`;
    writeFileSync(
      file,
      Buffer.concat([Buffer.from('["fine", "caf'), Buffer.from([0xe9]), Buffer.from('", "\u00e9t\u00e9"]')]),
    );
    const queue = brokers.queue('items', 'redis');
    const result = await runCli(['seed'], redisEnv(queue, { ITEMS_FILE: file }));
    expect(result.code).toBe(ExitCode.badInput);
    expect(result.stderr).toBe(
      'work-queue: ITEMS_FILE[1]: got "caf\ufffd", expected valid UTF-8 text, but the file holds bytes there that are not UTF-8 (e9)\n',
    );
    expect(await brokers.redis.exists(queue)).toBe(0);
  });

  test('fails for an item with an unpaired surrogate, as the constructs do', async () => {
    const file = files.file('surrogate.json', '["a", "b", "\\ud800x"]');
    const result = await runCli(['seed'], amqpEnv(brokers.queue('items', 'amqp'), { ITEMS_FILE: file }));
    expect(result.code).toBe(ExitCode.badInput);
    expect(result.stderr).toMatch(/^work-queue: ITEMS_FILE\[2\]: got "\\ud800x", expected valid UTF-8 text/);
  });

  test.each([
    ['Redis', redisEnv, 'redis'],
    ['RabbitMQ', amqpEnv, 'amqp'],
  ] as const)(
    'the empty string is an item on %s: seeded, delivered and given to the command as empty input',
    async (_name, env, broker) => {
      const queue = brokers.queue('items', broker);
      const file = files.file(`${queue}.json`, '["", "x", ""]');
      expect((await runCli(['seed'], env(queue, { ITEMS_FILE: file }))).code).toBe(ExitCode.ok);
      const result = await runCli(
        ['work'],
        env(queue, { WORKER_MODE: 'drain', WORK_COMMAND: 'printf "[%s]\\n" "$(cat)"' }),
      );
      expect(result.code).toBe(ExitCode.ok);
      expect(result.stdout.split('\n').filter(Boolean).sort()).toEqual(['[]', '[]', '[x]']);
      if (broker === 'amqp') expect(await amqpTakeAll(brokers.amqp, queue)).toEqual([]);
      else expect(await brokers.redis.lLen(queue)).toBe(0);
    },
  );
});
