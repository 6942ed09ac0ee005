/**
 * SIGTERM/SIGINT handling. The first signal stops taking items (`signal` aborts waits); the
 * current item may finish within `graceMs`, after which `handlerSignal` aborts it so that it can
 * be handed back before Kubernetes' SIGKILL. A second signal aborts the handler at once.
 */
export class Shutdown {
  private readonly stop = new AbortController();
  private readonly abortHandler = new AbortController();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly graceMs: number,
    private readonly log: (line: string) => void,
  ) {}

  get stopping(): boolean {
    return this.stop.signal.aborted;
  }

  /** Aborts on the first signal: no more items are taken. */
  get signal(): AbortSignal {
    return this.stop.signal;
  }

  /** Aborts when the current item must be given up. */
  get handlerSignal(): AbortSignal {
    return this.abortHandler.signal;
  }

  install(): void {
    for (const name of ['SIGTERM', 'SIGINT'] as const) process.on(name, () => this.receive(name));
  }

  dispose(): void {
    clearTimeout(this.timer);
  }

  private receive(name: string): void {
    if (this.stopping) {
      this.log(`${name} again: giving up the current item`);
      this.abortHandler.abort();
      return;
    }
    this.log(`${name}: taking no more items; the current one may finish within ${this.graceMs / 1000} s`);
    this.stop.abort();
    this.timer = setTimeout(() => this.abortHandler.abort(), this.graceMs);
    this.timer.unref();
  }
}
