/**
 * The signal each item's handler runs under: it aborts when `outer` does (shutdown, or the
 * delivery can no longer be settled) or when the item outlasts its time (WORK_TIMEOUT_SECONDS).
 * One controller and one timer serve item after item until one of them aborts: a drain worker
 * runs thousands of items a second, and a controller, a listener and a timer for each were a
 * fifth of its CPU. The timer is restarted for each item (`refresh`) and ignored between items.
 */
export class ItemDeadline {
  private controller = new AbortController();
  private outer?: AbortSignal;
  private running = false;
  private expired = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly ms: number) {
    this.timer = setTimeout(() => this.expire(), ms);
    // Between items nothing waits for it: it must not keep the process alive.
    this.timer.unref();
  }

  /** Starts an item's time; returns the signal its handler runs under. */
  start(outer: AbortSignal): AbortSignal {
    if (outer !== this.outer) {
      this.outer?.removeEventListener('abort', this.forward);
      this.outer = outer;
      outer.addEventListener('abort', this.forward, { once: true });
    }
    if (this.controller.signal.aborted) this.controller = new AbortController();
    if (outer.aborted) this.controller.abort(outer.reason);
    this.running = true;
    this.expired = false;
    this.timer.refresh();
    return this.controller.signal;
  }

  /** Ends the item's time; true when it ran out (rather than `outer` aborting, or nothing). */
  finish(): boolean {
    this.running = false;
    return this.expired;
  }

  private readonly forward = () => {
    if (this.running) this.controller.abort(this.outer?.reason);
  };

  private expire(): void {
    if (!this.running || this.controller.signal.aborted) return;
    this.expired = true;
    this.controller.abort(new Error(`the item outlasted ${this.ms / 1000} s`));
  }
}
