import type { BrokerConfig } from './config';
import { ExitCode } from './contract';
import { CliError } from './errors';
import type { ConnectOptions } from './queue';
import { sleep } from './sleep';
import { brokerAt, connectError, connectionLostError, describeCause } from './unreachable';

/** How one broker's client connects, tells a lost connection from a failed operation, and closes. */
export interface ConnectionKind<C> {
  /** Opens a connection, ready for use; throws when the broker cannot be reached. A `CliError` ends all retrying. */
  open(): Promise<C>;
  /** Whether `error`, raised by an operation on `connection`, means the connection is gone. */
  isLost(connection: C, error: unknown): boolean;
  /** Whether a failure to open says the broker is not there (yet), rather than that it refused us. */
  isUnreachable(error: unknown): boolean;
  /** Closes a connection in whatever state it is; never throws. */
  close(connection: C): Promise<void>;
  /** What made `connection` go away, when the client knows better than the failed operation. */
  cause?(connection: C): unknown;
}

/** Socket errors of a broker that is down, restarting, or not reachable yet. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EPIPE']);

export function isSocketUnreachable(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' && UNREACHABLE_CODES.has(code);
}

/** First wait before connecting again; it doubles up to MAX_BACKOFF_MS, with some jitter so pods spread out. */
export const FIRST_BACKOFF_MS = 100;
export const MAX_BACKOFF_MS = 2000;

/** A backoff of about `ms`, give or take a fifth, so that pods that failed together do not retry together. */
export function jittered(ms: number): number {
  return ms * (0.8 + Math.random() * 0.4);
}

/**
 * A broker connection that is replaced when it is lost. Operations run through `use`: one that
 * fails because the connection went away waits for a new one and runs again (told so by its
 * `retried` argument, since the first run may or may not have reached the broker). Connecting is
 * retried with backoff for `retrySeconds`, then every waiting and later operation fails with exit
 * code 3. At start-up only a broker that is not reachable is waited for; one that refuses the
 * credentials or the TLS handshake fails at once.
 */
export class Reconnecting<C> {
  private replacing?: Promise<C>;
  private failure?: CliError;
  private readonly failed = new AbortController();
  private readonly closing = new AbortController();

  private constructor(
    private current: C,
    private readonly kind: ConnectionKind<C>,
    private readonly broker: BrokerConfig,
    private readonly options: ConnectOptions,
  ) {}

  static async connect<C>(kind: ConnectionKind<C>, broker: BrokerConfig, options: ConnectOptions): Promise<Reconnecting<C>> {
    let first: unknown;
    try {
      return new Reconnecting(await kind.open(), kind, broker, options);
    } catch (error) {
      if (error instanceof CliError) throw error;
      if (!kind.isUnreachable(error) || options.retrySeconds <= 0) throw connectError(broker, error);
      first = error;
    }
    options.log(`cannot reach ${brokerAt(broker)} yet (${describeCause(first)}); retrying for up to ${options.retrySeconds} s`);
    const started = Date.now();
    const connection = await openWithin(kind, options, options.signal, first, (last) => connectError(broker, last, options.retrySeconds));
    options.log(`connected to ${brokerAt(broker)} after ${seconds(started)} s`);
    return new Reconnecting(connection, kind, broker, options);
  }

  /** Aborts, with the exit-code-3 `CliError` as its reason, once reconnecting has been given up. */
  get gaveUp(): AbortSignal {
    return this.failed.signal;
  }

  /** Runs `operation` on the connection, again on a new one as often as the connection is lost. */
  async use<T>(operation: (connection: C, retried: boolean) => Promise<T>): Promise<T> {
    let retried = false;
    for (;;) {
      if (this.failure) throw this.failure;
      const connection = this.replacing ? await this.replacing : this.current;
      try {
        return await operation(connection, retried);
      } catch (error) {
        if (error instanceof CliError || !this.kind.isLost(connection, error)) throw error;
        await this.replace(connection, error);
        retried = true;
      }
    }
  }

  async close(): Promise<void> {
    this.closing.abort();
    await this.replacing?.catch(() => undefined);
    await this.kind.close(this.current);
  }

  /** One reconnection however many operations noticed the loss. */
  private replace(lost: C, cause: unknown): Promise<C> {
    if (this.replacing) return this.replacing;
    if (lost !== this.current) return Promise.resolve(this.current);
    this.replacing = this.reconnect(lost, cause).finally(() => {
      this.replacing = undefined;
    });
    return this.replacing;
  }

  private async reconnect(lost: C, error: unknown): Promise<C> {
    const { retrySeconds, log } = this.options;
    const cause = this.kind.cause?.(lost) ?? error;
    await this.kind.close(lost);
    const started = Date.now();
    if (retrySeconds > 0) log(`lost the connection to ${brokerAt(this.broker)} (${describeCause(cause)}); reconnecting for up to ${retrySeconds} s`);
    const signal = this.options.signal ? AbortSignal.any([this.options.signal, this.closing.signal]) : this.closing.signal;
    try {
      this.current = await openWithin(this.kind, this.options, signal, cause, (last) => connectionLostError(this.broker, retrySeconds, last));
    } catch (failure) {
      this.failure = failure as CliError;
      this.failed.abort(failure);
      throw failure;
    }
    log(`reconnected to ${brokerAt(this.broker)} after ${seconds(started)} s`);
    return this.current;
  }
}

/**
 * Opens a connection, trying again with backoff for `retrySeconds`; throws `giveUp(lastError)`
 * (exit code 3) when that time is over, a `CliError` from `open` at once, and exit code 143 when
 * `signal` aborts first.
 */
async function openWithin<C>(
  kind: ConnectionKind<C>,
  options: ConnectOptions,
  signal: AbortSignal | undefined,
  firstError: unknown,
  giveUp: (lastError: unknown) => CliError,
): Promise<C> {
  const deadline = Date.now() + options.retrySeconds * 1000;
  let lastError = firstError;
  for (let backoff = FIRST_BACKOFF_MS; ; backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)) {
    const left = deadline - Date.now();
    if (left <= 0) throw giveUp(lastError);
    if (!(await sleep(Math.min(left, jittered(backoff)), signal))) {
      throw new CliError('stopped while waiting for the broker', ExitCode.interrupted);
    }
    try {
      return await kind.open();
    } catch (error) {
      if (error instanceof CliError) throw error;
      lastError = error;
    }
  }
}

function seconds(since: number): string {
  return ((Date.now() - since) / 1000).toFixed(1);
}
