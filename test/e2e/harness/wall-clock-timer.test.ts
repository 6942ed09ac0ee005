import { wallClockTimeout } from './wall-clock-timer';

/**
 * The timers' clock and Date.now() disagree by `ahead` ms when a timer is set, as when the event
 * loop's clock is stale or the two clocks truncate to whole ms at different points; from then on
 * they agree again. Resolves with the time each timer fired, by Date.now(), after `start`.
 */
async function elapsedWhenSetBehind(ahead: number, set: (fire: () => void) => void): Promise<number> {
  const realNow = Date.now.bind(Date);
  let offset = ahead;
  const now = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
  try {
    const start = Date.now();
    const fired = new Promise<number>((resolve) => set(() => resolve(Date.now() - start)));
    offset = 0;
    return await fired;
  } finally {
    now.mockRestore();
  }
}

// 200 ms behind: far more than the harness ever meets (1 ms), so that a loaded machine, which only
// makes timers late, cannot make the plain timer look punctual.
test('a plain timer set from a clock 200 ms behind Date.now() fires early by Date.now() (what the harness must not do)', async () => {
  expect(await elapsedWhenSetBehind(200, (fire) => setTimeout(fire, 250))).toBeLessThan(250);
});

test('wallClockTimeout fires only once its time has passed by Date.now(), however far behind the timers started', async () => {
  expect(await elapsedWhenSetBehind(200, (fire) => wallClockTimeout(fire, 250))).toBeGreaterThanOrEqual(250);
});

test('cancel() stops it, also while it waits out the difference', async () => {
  let fired = false;
  const timer = wallClockTimeout(() => (fired = true), 10);
  timer.cancel();
  await new Promise((resolve) => setTimeout(resolve, 30));
  expect(fired).toBe(false);
});
