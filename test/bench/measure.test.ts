import { interleave, median, roundOrder, roundRatio, roundRatios, spread } from '../../bench/measure';

describe('median and spread', () => {
  test('the middle sample of an odd count, the mean of the middle two of an even count', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  test('spread gives median, min and max without reordering the samples', () => {
    const samples = [3, 9, 1, 4, 2];
    expect(spread(samples)).toEqual({ median: 3, min: 1, max: 9 });
    expect(samples).toEqual([3, 9, 1, 4, 2]);
  });

  test('fails on no samples', () => {
    expect(() => median([])).toThrow('median of no samples');
  });
});

describe('ratio per round', () => {
  test('a rate: ours divided by the baseline', () => {
    expect(roundRatio(300, 100, 'items/s')).toBe(3);
  });

  test('a duration or a cost per item: the baseline divided by ours', () => {
    expect(roundRatio(0.2, 0.1, 's')).toBe(0.5);
    expect(roundRatio(4, 2, 'µs/item')).toBe(0.5);
  });

  test('rounds are paired by index', () => {
    expect(roundRatios([100, 200, 300], [100, 100, 150], 'items/s')).toEqual([1, 2, 2]);
  });

  test('fails when the round counts differ', () => {
    expect(() => roundRatios([1, 2], [1], 's')).toThrow('2 rounds of ours against 1 of the baseline');
  });
});

describe('interleaving', () => {
  test('the order alternates: A B in even rounds, B A in odd ones', () => {
    expect([0, 1, 2, 3].map((round) => roundOrder(2, round))).toEqual([
      [0, 1],
      [1, 0],
      [0, 1],
      [1, 0],
    ]);
    expect(roundOrder(3, 1)).toEqual([2, 1, 0]);
  });

  test('each contender runs once per round, one after another, in the alternating order', async () => {
    const calls: string[] = [];
    const contender = (name: string, value: number) => (round: number) => {
      calls.push(`${name}${round}`);
      return Promise.resolve(value + round);
    };
    const samples = await interleave(3, [contender('A', 10), contender('B', 20)]);
    expect(calls).toEqual(['A0', 'B0', 'B1', 'A1', 'A2', 'B2']);
    expect(samples).toEqual([
      [10, 11, 12],
      [20, 21, 22],
    ]);
  });

  test('a failing contender stops the run', async () => {
    const failing = () => Promise.reject(new Error('queue not drained'));
    await expect(interleave(2, [() => Promise.resolve(1), failing])).rejects.toThrow('queue not drained');
  });
});
