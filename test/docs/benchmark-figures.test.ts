/**
 * docs/benchmarks.md quotes the start-up figures of the last `npm run bench` run: the medians of
 * the `one-item-pod-vs-node` row of bench/results.md, which every run rewrites.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** The medians, in ms to three significant digits, of a bench/results.md row given in seconds: [ours, baseline]. */
function rowMediansMs(results: string, id: string): [number, number] {
  const row = results.split('\n').find((line) => line.startsWith(`| \`${id}\` |`));
  if (!row) throw new Error(`bench/results.md has no row \`${id}\``);
  const cells = row.split('|').map((cell) => cell.trim());
  const seconds = (cell: string) => {
    const match = /^([\d.]+) s \(/.exec(cell);
    if (!match)
      throw new Error(
        `bench/results.md row \`${id}\`: got "${cell}", expected a median in seconds such as "0.139 s (0.107–0.147)"`,
      );
    return Number((Number(match[1]) * 1000).toPrecision(3));
  };
  return [seconds(cells[3]), seconds(cells[4])];
}

test("docs/benchmarks.md quotes bench/results.md's medians for node -e '' and a one-item pod", () => {
  const [podMs, nodeMs] = rowMediansMs(read('bench/results.md'), 'one-item-pod-vs-node');
  const quoted = /`node -e ''` takes ([\d.]+) ms and a one-item pod ([\d.]+) ms, start to exit \(medians\)/.exec(
    read('docs/benchmarks.md').replace(/\s+/g, ' '),
  );
  expect(quoted).not.toBeNull();
  expect({ nodeMs: Number(quoted![1]), podMs: Number(quoted![2]) }).toEqual({ nodeMs, podMs });
});
