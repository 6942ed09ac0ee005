import { ExitCode, MAX_ITEMS_FILE_BYTES } from '../../contract';
import { readItems } from '../../worker/seed-items';
import { ItemsVolumes } from './indexed-fixture';

const volumes = new ItemsVolumes();
afterAll(() => volumes.remove());

/** The one line of bad input that `readItems` throws, as the CLI prints it. */
function problem(read: () => unknown): string {
  try {
    read();
  } catch (error) {
    expect((error as { exitCode?: number }).exitCode).toBe(ExitCode.badInput);
    return (error as Error).message;
  }
  throw new Error('expected bad input');
}

describe("seed's items from ITEMS_DIRECTORY (the seeding Job's ConfigMaps)", () => {
  test("reads every item file in index order, ignoring the kubelet's own entries", () => {
    const directory = volumes.volume({ 0: ['a', 'b'], 2: ['c'], 3: ['d', 'e', 'a'] });
    expect(readItems([], { ITEMS_DIRECTORY: directory })).toEqual(['a', 'b', 'c', 'd', 'e', 'a']);
  });

  test('orders files by their first index as a number, not as text', () => {
    const items = Array.from({ length: 12 }, (_, i) => `item-${i}`);
    const files = Object.fromEntries(items.map((item, i) => [i, [item]]));
    expect(readItems([], { ITEMS_DIRECTORY: volumes.volume(files) })).toEqual(items);
  });

  test('fails when a file does not continue the one before it', () => {
    const directory = volumes.volume({ 0: ['a', 'b'], 3: ['d'] });
    expect(problem(() => readItems([], { ITEMS_DIRECTORY: directory }))).toContain(
      `ITEMS_DIRECTORY: got ${JSON.stringify(directory)}, expected item files that continue one another, but items-3.json follows 2 items`,
    );
  });

  test('fails for a bad item, naming its file and place', () => {
    const directory = volumes.volume({ 0: ['a'] }, { 'items-1.json': '["b", 7]' });
    expect(problem(() => readItems([], { ITEMS_DIRECTORY: directory }))).toContain(
      'ITEMS_DIRECTORY/items-1.json[1]: got 7, expected a string',
    );
  });

  test('fails before reading when the files hold more than seed reads', () => {
    const big = 'x'.repeat(MAX_ITEMS_FILE_BYTES / 2);
    const directory = volumes.volume({ 0: [big], 1: [big] });
    expect(problem(() => readItems([], { ITEMS_DIRECTORY: directory }))).toMatch(
      /ITEMS_DIRECTORY: got ".*", expected item files of at most 8 MiB \(seed holds the items in memory\), but it has \d+ bytes/,
    );
  });

  test('fails for two sources of items at once', () => {
    const directory = volumes.volume({ 0: ['a'] });
    expect(problem(() => readItems(['x'], { ITEMS_DIRECTORY: directory }))).toContain(
      'expected one source of items, not arguments and ITEMS_DIRECTORY',
    );
    expect(problem(() => readItems([], { ITEMS_DIRECTORY: directory, ITEMS_FILE: '/tmp/items.json' }))).toContain(
      'ITEMS_FILE: got "/tmp/items.json", expected one source of items, not ITEMS_FILE and ITEMS_DIRECTORY',
    );
  });

  test('fails for a directory with no item files', () => {
    const directory = volumes.volume({}, { 'items.json': '["a"]' });
    expect(problem(() => readItems([], { ITEMS_DIRECTORY: directory }))).toContain('but it holds none');
  });
});
