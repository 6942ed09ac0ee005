import { ftruncateSync, openSync, closeSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isIndexedMode, readIndexedWork, readWork } from '../../worker/config';
import { ExitCode, ItemFiles } from '../../contract';
import { CliError } from '../../worker/errors';
import { readIndexedItem } from '../../worker/item-files';
import { ItemsVolumes } from './indexed-fixture';

/** The problem lines `read` throws as bad input (exit 2). */
function problems(read: () => unknown): string[] {
  try {
    read();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(ExitCode.badInput);
    return (error as CliError).message.split('\n');
  }
  throw new Error('no problem reported');
}

describe('the indexed settings (WORKER_MODE=indexed)', () => {
  const INDEXED = { WORKER_MODE: 'indexed', ITEMS_DIRECTORY: '/etc/work-queue', JOB_COMPLETION_INDEX: '3' };

  test('need no BROKER_URL or QUEUE, and default the work settings as readWork does', () => {
    expect(isIndexedMode(INDEXED)).toBe(true);
    expect(readIndexedWork(INDEXED)).toEqual({
      itemsDirectory: '/etc/work-queue',
      index: 3,
      workSeconds: 10,
      workTimeoutSeconds: 1500,
      workCommand: undefined,
    });
    expect(
      readIndexedWork({
        ...INDEXED,
        WORK_SECONDS: '0',
        WORK_TIMEOUT_SECONDS: '2.5',
        WORK_COMMAND: 'cat',
        JOB_COMPLETION_INDEX: '0',
      }),
    ).toEqual({
      itemsDirectory: '/etc/work-queue',
      index: 0,
      workSeconds: 0,
      workTimeoutSeconds: 2.5,
      workCommand: 'cat',
    });
  });

  test('fails without ITEMS_DIRECTORY and JOB_COMPLETION_INDEX, one line each', () => {
    expect(problems(() => readIndexedWork({ WORKER_MODE: 'indexed', ITEMS_DIRECTORY: ' ' }))).toEqual([
      'ITEMS_DIRECTORY: got " ", expected the directory of the Indexed Job\'s item files, named items-0.json, items-1000.json and so on, such as /etc/work-queue',
      "JOB_COMPLETION_INDEX: got nothing, expected a whole number of at least 0, the item's index (Kubernetes sets it in each pod of an Indexed Job)",
    ]);
  });

  test.each(['-1', '1.5', 'three'])('fails with JOB_COMPLETION_INDEX=%s', (value) => {
    expect(problems(() => readIndexedWork({ ...INDEXED, JOB_COMPLETION_INDEX: value }))).toEqual([
      `JOB_COMPLETION_INDEX: got ${JSON.stringify(value)}, expected a whole number of at least 0`,
    ]);
  });

  test('fails with the work settings readWork refuses, worded alike, every problem at once', () => {
    const bad = { WORK_SECONDS: '-1', WORK_TIMEOUT_SECONDS: '0' };
    const expected = [
      'WORK_SECONDS: got "-1", expected a finite number of at least 0',
      'WORK_TIMEOUT_SECONDS: got "0", expected a number of seconds greater than 0 and at most 2147483 (24.8 days)',
    ];
    expect(problems(() => readIndexedWork({ ...INDEXED, ...bad }))).toEqual(expected);
    expect(problems(() => readWork({ BROKER_URL: 'redis://redis', QUEUE: 'jobs', ...bad }))).toEqual(expected);
  });

  test('the queue modes read no indexed variable', () => {
    for (const mode of ['single', 'drain', '']) {
      const env = { BROKER_URL: 'redis://redis', QUEUE: 'jobs', WORKER_MODE: mode };
      expect(isIndexedMode(env)).toBe(false);
      expect(readWork(env).work.mode).toBe(mode || 'single');
    }
    // The queue workers never get the indexed mode: it is readIndexedWork's.
    expect(() => readWork({ BROKER_URL: 'redis://redis', QUEUE: 'jobs', ...INDEXED })).toThrow(/readIndexedWork/);
  });
});

describe('picking the item of an index from ITEMS_DIRECTORY', () => {
  const volumes = new ItemsVolumes();
  afterAll(() => volumes.remove());

  test('takes each index from the file with the largest first index not above it, at every file boundary', () => {
    const directory = volumes.volume({ 0: ['apple', 'banana', 'cherry'], 3: ['date', ''], 5: ['fig \u{1F34E}'] });
    const items = [0, 1, 2, 3, 4, 5].map((index) => readIndexedItem(directory, index));
    expect(items).toEqual(['apple', 'banana', 'cherry', 'date', '', 'fig \u{1F34E}']);
  });

  test('orders the files by first index as a number, not as text', () => {
    // As text items-10.json sorts before items-2.json.
    const directory = volumes.volume({ 0: ['a', 'b'], 2: ['c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'], 10: ['k', 'l'] });
    expect([1, 2, 9, 10, 11].map((index) => readIndexedItem(directory, index))).toEqual(['b', 'c', 'j', 'k', 'l']);
  });

  test("ignores the kubelet's ..data entries and every name that is not an item file", () => {
    const directory = volumes.volume(
      { 0: ['only'] },
      { 'items-01.json': '["not me"]', 'items-1.json.bak': '["nor me"]', README: 'x' },
    );
    expect(readIndexedItem(directory, 0)).toBe('only');
    expect(problems(() => readIndexedItem(directory, 1))).toEqual([
      `JOB_COMPLETION_INDEX: got "1", expected an index below 1, the number of items in ${directory}`,
    ]);
  });

  test('fails for an index beyond the last item, naming the number of items', () => {
    const directory = volumes.volume({ 0: ['a', 'b', 'c', 'd', 'e', 'f'], 6: ['g', 'h', 'i', 'j'] });
    expect(readIndexedItem(directory, 9)).toBe('j');
    expect(problems(() => readIndexedItem(directory, 10))).toEqual([
      `JOB_COMPLETION_INDEX: got "10", expected an index below 10, the number of items in ${directory}`,
    ]);
    expect(problems(() => readIndexedItem(directory, 12))).toEqual([
      `JOB_COMPLETION_INDEX: got "12", expected an index below 10, the number of items in ${directory}`,
    ]);
  });

  test('fails for an index in a gap between two files', () => {
    const directory = volumes.volume({ 0: ['a', 'b'], 4: ['e'] });
    expect(problems(() => readIndexedItem(directory, 2))).toEqual([
      `JOB_COMPLETION_INDEX: got "2", expected an index of an item in ${directory}, but items-0.json holds indexes 0 to 1 and items-4.json begins at 4`,
    ]);
  });

  test('fails for a missing directory, a file in its place and a directory without item files', () => {
    const missing = path.join(volumes.volume({}), 'missing');
    expect(problems(() => readIndexedItem(missing, 0))).toEqual([
      `ITEMS_DIRECTORY: got ${JSON.stringify(missing)}, expected a readable directory of item files items-0.json and on (ENOENT)`,
    ]);
    const empty = volumes.volume({}, { 'items.json': '["the seeder\'s file"]' });
    expect(problems(() => readIndexedItem(path.join(empty, 'items.json'), 0))).toEqual([
      `ITEMS_DIRECTORY: got ${JSON.stringify(path.join(empty, 'items.json'))}, expected a readable directory of item files items-0.json and on (ENOTDIR)`,
    ]);
    expect(problems(() => readIndexedItem(empty, 0))).toEqual([
      `ITEMS_DIRECTORY: got ${JSON.stringify(empty)}, expected a directory holding item files items-0.json and on, but it holds none`,
    ]);
  });

  test('fails when the files do not begin at index 0', () => {
    const directory = volumes.volume({ 5: ['f'] });
    expect(problems(() => readIndexedItem(directory, 2))).toEqual([
      `ITEMS_DIRECTORY: got ${JSON.stringify(directory)}, expected item files from items-0.json on, but the first is items-5.json`,
    ]);
  });

  test.each([
    ['not JSON', '["a", "b"', /^expected a file holding a JSON array of strings, but it is not JSON \(.+\)$/],
    ['not an array', '{"items": ["a"]}', /^expected a file holding a JSON array of at least one string$/],
    ['an empty array', '[]', /^expected a file holding a JSON array of at least one string$/],
  ])('fails for a file that is %s', (_what, content, expected) => {
    const directory = volumes.volume({}, { 'items-0.json': content });
    const [line] = problems(() => readIndexedItem(directory, 0));
    const file = path.join(directory, 'items-0.json');
    expect(line.startsWith(`ITEMS_DIRECTORY: got ${JSON.stringify(file)}, `)).toBe(true);
    expect(line.slice(`ITEMS_DIRECTORY: got ${JSON.stringify(file)}, `.length)).toMatch(expected);
  });

  test('fails for an item that breaks the item rule, naming the file and the item; the other items are not checked', () => {
    const directory = volumes.volume(
      {},
      { 'items-0.json': Buffer.concat([Buffer.from('["fine", 7, "caf'), Buffer.from([0xe9]), Buffer.from('"]')]) },
    );
    expect(readIndexedItem(directory, 0)).toBe('fine');
    expect(problems(() => readIndexedItem(directory, 1))).toEqual([
      'ITEMS_DIRECTORY/items-0.json[1]: got 7, expected a string',
    ]);
    expect(problems(() => readIndexedItem(directory, 2))).toEqual([
      'ITEMS_DIRECTORY/items-0.json[2]: got "caf\ufffd", expected valid UTF-8 text, but the file holds bytes there that are not UTF-8 (e9)',
    ]);
  });

  test('fails for a file over maxFileBytes before reading it', () => {
    const directory = volumes.volume({ 0: ['a'] }, { 'items-1.json': '' });
    const file = path.join(directory, 'items-1.json');
    // Sparse: refused by its size alone (read, it would fail as JSON instead).
    const fd = openSync(file, 'r+');
    ftruncateSync(fd, ItemFiles.maxFileBytes + 1);
    closeSync(fd);
    expect(readIndexedItem(directory, 0)).toBe('a');
    expect(problems(() => readIndexedItem(directory, 1))).toEqual([
      `ITEMS_DIRECTORY: got ${JSON.stringify(file)}, expected a file of at most 1 MiB (what a ConfigMap holds), but it has ${ItemFiles.maxFileBytes + 1} bytes`,
    ]);
  });

  test('reads a file of exactly maxFileBytes', () => {
    const directory = volumes.volume({}, { 'items-0.json': '' });
    const json = JSON.stringify(['x']);
    writeFileSync(path.join(directory, 'items-0.json'), `${json}${' '.repeat(ItemFiles.maxFileBytes - json.length)}`);
    expect(readIndexedItem(directory, 0)).toBe('x');
  });
});
