/**
 * A timer that never fires before its time has passed by `Date.now()`, the clock the harness
 * stamps every event with. Node's timers count from the event loop's clock, which is read once per
 * turn of the loop: a timer set late in a long turn starts from a stale time and fires that much
 * early by `Date.now()` (19 ms after a 20 ms backoff, on a loaded machine), so a test's "at least
 * the backoff" check would fail on the harness's clock rather than on the behaviour it checks.
 */
export interface WallClockTimer {
  cancel(): void;
}

/** Calls `fire` once `ms` have passed by `Date.now()`. */
export function wallClockTimeout(fire: () => void, ms: number): WallClockTimer {
  const deadline = Date.now() + Math.max(0, ms);
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    timer = setTimeout(() => (Date.now() >= deadline ? fire() : arm()), Math.max(0, deadline - Date.now()));
  };
  arm();
  return { cancel: () => clearTimeout(timer) };
}
