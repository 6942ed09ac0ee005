import { CompletionRate, type ProgressSample, progressSample, rateBasis } from '../../worker/completion-rate';

/** A read at `seconds` on the fake clock. */
const at = (seconds: number, through: number | undefined, remaining: number): ProgressSample => ({
  atMs: seconds * 1000,
  through,
  remaining,
});

describe('the completion rate and ETA', () => {
  test('one read has no rate; its ETA is 0 only when nothing remains', () => {
    expect(new CompletionRate().add(at(0, 4, 6))).toEqual({
      itemsPerSecond: undefined,
      windowSeconds: 0,
      etaSeconds: undefined,
    });
    expect(new CompletionRate().add(at(0, 10, 0))).toEqual({
      itemsPerSecond: undefined,
      windowSeconds: 0,
      etaSeconds: 0,
    });
  });

  test('two reads give the items per second between them and the remaining items at that pace, rounded up', () => {
    const rate = new CompletionRate();
    rate.add(at(100, 2, 10));
    expect(rate.add(at(104, 5, 7))).toEqual({ itemsPerSecond: 0.75, windowSeconds: 4, etaSeconds: 10 });
  });

  test('the window keeps the reads of the last 20 s: the rate follows a change of pace', () => {
    const rate = new CompletionRate(20_000);
    let through = 0;
    // 1 item/s for 60 s, then 3 items/s.
    for (let t = 0; t <= 60; t++) rate.add(at(t, (through = t), 1000 - through));
    let estimate = rate.add(at(61, (through += 3), 1000 - through));
    expect(estimate.windowSeconds).toBe(20);
    expect(estimate.itemsPerSecond).toBeCloseTo((19 + 3) / 20);
    for (let t = 62; t <= 90; t++) estimate = rate.add(at(t, (through += 3), 1000 - through));
    expect(estimate.windowSeconds).toBe(20);
    expect(estimate.itemsPerSecond).toBe(3);
    expect(estimate.etaSeconds).toBe(Math.ceil((1000 - through) / 3));
  });

  test('reads further apart than the window still give a rate: the last two are kept', () => {
    const rate = new CompletionRate(20_000);
    rate.add(at(0, 0, 9));
    rate.add(at(60, 3, 6));
    expect(rate.add(at(120, 9, 0))).toEqual({ itemsPerSecond: 0.1, windowSeconds: 60, etaSeconds: 0 });
  });

  test('a stalled queue has a rate of 0 and no ETA', () => {
    const rate = new CompletionRate();
    rate.add(at(0, 5, 5));
    expect(rate.add(at(10, 5, 5))).toEqual({ itemsPerSecond: 0, windowSeconds: 10, etaSeconds: undefined });
  });

  test('a count that went back (dead items redriven) starts the window afresh', () => {
    const rate = new CompletionRate();
    rate.add(at(0, 0, 10));
    rate.add(at(10, 10, 0));
    expect(rate.add(at(11, 7, 3))).toEqual({ itemsPerSecond: undefined, windowSeconds: 0, etaSeconds: undefined });
    expect(rate.add(at(13, 9, 1))).toEqual({ itemsPerSecond: 1, windowSeconds: 2, etaSeconds: 1 });
  });

  test('a read whose count is unknown has no rate and starts the window afresh', () => {
    const rate = new CompletionRate();
    rate.add(at(0, 0, 10));
    expect(rate.add(at(5, undefined, 8))).toEqual({
      itemsPerSecond: undefined,
      windowSeconds: 0,
      etaSeconds: undefined,
    });
    rate.add(at(6, 3, 7));
    expect(rate.add(at(8, 5, 5)).itemsPerSecond).toBe(1);
  });

  test('Redis counts done + dead against pending + in progress; RabbitMQ the items taken off the queue against pending', () => {
    const redis = { pending: 3, inProgress: 2, done: 4, dead: 1 };
    expect(rateBasis(redis)).toBe('finished');
    expect(progressSample(redis, 7)).toEqual({ atMs: 7, through: 5, remaining: 5 });
    const rabbitmq = { pending: 3, taken: 6, dead: 1, seeded: 10 };
    expect(rateBasis(rabbitmq)).toBe('taken');
    expect(progressSample(rabbitmq, 7)).toEqual({ atMs: 7, through: 7, remaining: 3 });
    expect(progressSample({ pending: 3, dead: 0 }, 7)).toEqual({ atMs: 7, through: undefined, remaining: 3 });
  });
});
