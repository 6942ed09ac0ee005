import { entryOf, type Entry } from '../../bench/entry';
import { formatNumber, machineLine, missedGoals, report, table } from '../../bench/report';

const seed = entryOf(
  { id: 'seed-redis', name: 'Seeding Redis', unit: 'items/s', baselineName: '`redis-cli` pipe', goal: 10 },
  [300_000, 310_000, 250_000, 320_000, 305_000],
  [25_000, 20_000, 30_000, 25_000, 30_500],
);
const pod = entryOf(
  { id: 'one-item-pod-vs-node', name: 'One-item pod', unit: 's', baselineName: "`node -e ''`", goal: 0.67 },
  [0.2, 0.25, 0.2],
  [0.1, 0.1, 0.11],
);
const info: Entry = {
  ...entryOf(
    { id: 'redis-server-usec-per-item', name: 'Server time', unit: 'µs/item', baselineName: 'LMOVE', goal: null },
    [5, 6, 7],
    [1, 1, 1],
  ),
  ceiling: 166_700,
};

describe('entries', () => {
  test('ours and the baseline are medians; the ratio is the median of the per-round ratios, not the ratio of medians', () => {
    expect(seed).toMatchObject({
      ours: 305_000,
      oursMin: 250_000,
      oursMax: 320_000,
      baseline: 25_000,
      baselineMin: 20_000,
      baselineMax: 30_500,
      runs: 5,
    });
    // Per round: 12, 15.5, 8.333, 12.8, 10 -> median 12 (the ratio of medians would be 12.2).
    expect(seed).toMatchObject({ ratio: 12, ratioMin: 8.333, ratioMax: 15.5, goal: 10, pass: true });
  });

  test('a duration passes when the baseline over ours reaches the goal', () => {
    expect(pod).toMatchObject({ ratio: 0.5, ratioMin: 0.4, ratioMax: 0.55, pass: false });
  });

  test('a row without a goal neither passes nor fails', () => {
    expect(info.pass).toBeNull();
    expect(missedGoals([seed, pod, info]).map((e) => e.id)).toEqual(['one-item-pod-vs-node']);
  });
});

describe('the table', () => {
  test('figures: thousands separators from 1,000 up, else 3 significant digits', () => {
    expect(formatNumber(305_000)).toBe('305,000');
    expect(formatNumber(0.14823)).toBe('0.148');
    expect(formatNumber(12)).toBe('12');
  });

  test('one row per entry with medians, ranges, goal and result', () => {
    expect(table([seed, pod, info]).split('\n')).toEqual([
      '| id | measurement | ours, median (min–max) | baseline, median (min–max) | ratio, median (min–max) | goal | result |',
      '|---|---|---|---|---|---|---|',
      '| `seed-redis` | Seeding Redis vs `redis-cli` pipe | 305,000 items/s (250,000–320,000) | 25,000 items/s (20,000–30,500) | 12 (8.33–15.5) | ≥ 10 | pass |',
      "| `one-item-pod-vs-node` | One-item pod vs `node -e ''` | 0.2 s (0.2–0.25) | 0.1 s (0.1–0.11) | 0.5 (0.4–0.55) | ≥ 0.67 | **FAIL** |",
      '| `redis-server-usec-per-item` | Server time vs LMOVE; server ceiling 166,700 items/s | 6 µs/item (5–7) | 1 µs/item (1–1) | 0.167 (0.143–0.2) | — | info |',
    ]);
  });

  test('the report names the machine and the missed goals', () => {
    const machine = {
      cores: 2,
      cpuModel: 'Test CPU',
      memoryGiB: 23,
      nodeVersion: 'v20.20.2',
      date: '2026-12-01',
      loadAverage: 0.5,
    };
    expect(machineLine(machine, 5)).toBe(
      'Measured 2026-12-01 on 2 cores (Test CPU), 23 GiB RAM, Node.js v20.20.2, load average 0.50 at the start; 5 interleaved rounds, ratio above 1 means ours is better.',
    );
    const text = report([seed, pod, info], machine, 5);
    expect(text).toContain('Goals missed: `one-item-pod-vs-node` (ratio 0.5, goal 0.67).');
    expect(report([seed], machine, 5)).toContain('Every goal met.');
  });
});
