import { type WallClockTimer, wallClockTimeout } from './wall-clock-timer';

/** A queue of events that a loop awaits one at a time, with a timeout. */
export class EventQueue<T> {
  private readonly pending: T[] = [];
  private waiter?: (event: T | undefined) => void;

  push(event: T): void {
    if (this.waiter) {
      const wake = this.waiter;
      this.waiter = undefined;
      wake(event);
    } else {
      this.pending.push(event);
    }
  }

  /** Every event that has arrived and not been taken yet. */
  takeAll(): T[] {
    return this.pending.splice(0);
  }

  /** The next event, or undefined when none arrives within `timeoutMs` (Infinity waits for ever). */
  next(timeoutMs: number): Promise<T | undefined> {
    if (this.pending.length > 0) return Promise.resolve(this.pending.shift());
    return new Promise((resolve) => {
      const timer: WallClockTimer | undefined = Number.isFinite(timeoutMs)
        ? wallClockTimeout(() => {
            this.waiter = undefined;
            resolve(undefined);
          }, timeoutMs)
        : undefined;
      this.waiter = (event) => {
        timer?.cancel();
        resolve(event);
      };
    });
  }
}
