import { ExitCode } from '../../contract';
import { SeedWait } from '../../worker/seed-wait';

/** SeedWait alone, on Jest's clock: when an empty queue is done, what is logged, how often it looks, when it gives up. */

const ID = 'a'.repeat(32);
const OTHER = 'b'.repeat(32);

function seedWait(options: { seedId?: string; waitSeconds: number; signal?: AbortSignal }) {
  const lines: string[] = [];
  const wait = new SeedWait({
    queueName: 'jobs',
    signal: new AbortController().signal,
    log: (line) => lines.push(line),
    ...options,
  });
  return { wait, lines };
}

/** Runs `pause` until it returns an exit code; returns it with the clock time it took and the number of looks. */
async function pauseUntilOver(wait: SeedWait): Promise<{ exit: number; ms: number; looks: number }> {
  const started = Date.now();
  for (let looks = 1; ; looks++) {
    const pausing = wait.pause(undefined);
    await jest.runOnlyPendingTimersAsync();
    const exit = await pausing;
    if (exit !== undefined) return { exit, ms: Date.now() - started, looks };
  }
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test('without SEED_ID every empty queue is done', () => {
  const { wait } = seedWait({ waitSeconds: 600 });
  expect(wait.complete(undefined)).toBe(true);
  expect(wait.complete({ id: OTHER, total: 3, pushed: 1 })).toBe(true);
});

test('with SEED_ID only a marker of that seed counting all its items is done', () => {
  const { wait } = seedWait({ seedId: ID, waitSeconds: 600 });
  expect(wait.complete(undefined)).toBe(false);
  expect(wait.complete({ id: OTHER, total: 3, pushed: 3 })).toBe(false);
  expect(wait.complete({ id: ID, total: 3, pushed: 2 })).toBe(false);
  expect(wait.complete({ id: ID, total: 3, pushed: 3 })).toBe(true);
});

test('looks again after 0.1 s, doubling to once a second, and gives up after SEED_WAIT_SECONDS with one line at each end', async () => {
  const { wait, lines } = seedWait({ seedId: ID, waitSeconds: 10 });
  const { exit, ms, looks } = await pauseUntilOver(wait);
  expect(exit).toBe(ExitCode.seedIncomplete);
  expect(ms).toBe(10_000);
  // 0.1 + 0.2 + 0.4 + 0.8 s, then once a second for the remaining 8.5 s.
  expect(looks).toBe(4 + 9 + 1);
  expect(lines).toEqual([
    `queue jobs is empty, showing no seed marker (no seed has begun): waiting up to 10 s for seed ${ID} to complete`,
    `queue jobs stayed empty for 10 s (SEED_WAIT_SECONDS) without seed ${ID} complete, showing no seed marker (no seed has begun): giving up (exit 4)`,
  ]);
});

test('SEED_WAIT_SECONDS=0 gives up at the first empty look', async () => {
  const { wait, lines } = seedWait({ seedId: ID, waitSeconds: 0 });
  expect(await wait.pause({ id: OTHER, total: 2, pushed: 2 })).toBe(ExitCode.seedIncomplete);
  expect(lines[1]).toMatch(/showing the seed marker of another seed, b{32} \(2 of 2 items\): giving up \(exit 4\)$/);
});

test('progress ends a wait: the next one has the whole SEED_WAIT_SECONDS again and is logged only once it has lasted 5 s', async () => {
  const { wait, lines } = seedWait({ seedId: ID, waitSeconds: 8 });
  const first = wait.pause({ id: ID, total: 4, pushed: 2 });
  await jest.advanceTimersByTimeAsync(100);
  expect(await first).toBeUndefined();
  expect(lines).toEqual([
    `queue jobs is empty, showing its seed at 2 of 4 items: waiting up to 8 s for seed ${ID} to complete`,
  ]);
  await jest.advanceTimersByTimeAsync(7000);
  wait.progress();
  const { exit, ms } = await pauseUntilOver(wait);
  expect(exit).toBe(ExitCode.seedIncomplete);
  expect(ms).toBe(8000);
  expect(lines.slice(1)).toEqual([
    expect.stringMatching(/is empty, showing no seed marker/),
    expect.stringMatching(/stayed empty for 8 s/),
  ]);
});

test('SIGTERM ends a pause at once with exit 143', async () => {
  const stop = new AbortController();
  const { wait } = seedWait({ seedId: ID, waitSeconds: 600, signal: stop.signal });
  const pausing = wait.pause(undefined);
  stop.abort();
  expect(await pausing).toBe(ExitCode.interrupted);
});
