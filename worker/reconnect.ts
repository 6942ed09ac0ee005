import { CONNECT_DEADLINE_MS, ReplyTimeoutError } from './broker-limits';
import type { BrokerConfig } from './config';
import { ExitCode } from '../contract';
import { CliError } from './errors';
import type { ConnectOptions } from './queue';
import { sleep } from './sleep';
import { thrownField } from './thrown';
import { brokerAt, connectError, connectionLostError, describeCause, notServingError } from './unreachable';

/** How one broker's client connects, tells a lost connection from a failed operation, and closes. */
export interface ConnectionKind<C> {
  /**
   * Opens a connection, ready for use, with the round trip that proves the peer is the broker;
   * throws when the broker cannot be reached. A `CliError` ends all retrying. `signal` aborts when
   * the attempt's deadline passes or the process is stopped: the client then destroys its socket.
   */
  open(signal: AbortSignal): Promise<C>;
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
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EPIPE',
]);

export function isSocketUnreachable(error: unknown): boolean {
  const code = thrownField(error, 'code');
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
 * A broker that answers but cannot serve now (loading its data, a replica after a failover, a
 * primary cut off from its replicas): its connection is replaced as if it were lost, within the
 * same retry window, and the log says the broker cannot serve rather than that it was lost.
 */
export class NotServingError extends Error {}

/** An attempt that did not finish its handshake before its deadline: the peer may not be the broker. */
export class ConnectDeadlineError extends Error {
  constructor(ms: number) {
    super(
      `no complete handshake within ${(ms / 1000).toFixed(1)} s: the broker is overloaded, or what listens there is not the broker`,
    );
  }
}

/**
 * The time reconnecting may take: BROKER_RETRY_SECONDS from the first failure, with its backoff.
 * It lasts until a new connection has served one operation: a connection that is lost again at
 * once (a broker still loading, a peer that is not the broker) opens no new window.
 */
class RetryWindow {
  readonly deadline: number;
  private backoff = FIRST_BACKOFF_MS;

  /**
   * `initial`: no connection has served an operation yet (the process is starting). `started`:
   * when the broker was last heard of, earlier than now for a command it left unanswered.
   */
  constructor(
    retrySeconds: number,
    readonly initial: boolean,
    readonly started = Date.now(),
  ) {
    this.deadline = this.started + Math.max(0, retrySeconds) * 1000;
  }

  get msLeft(): number {
    return this.deadline - Date.now();
  }

  /** The next wait: growing, with jitter, never past the deadline. */
  nextWaitMs(): number {
    const wait = Math.min(this.msLeft, jittered(this.backoff));
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    return wait;
  }

  /**
   * One attempt's deadline: the time the window has left, within 1 s and CONNECT_DEADLINE_MS; the
   * whole CONNECT_DEADLINE_MS when nothing is retried.
   */
  attemptMs(): number {
    if (this.deadline === this.started) return CONNECT_DEADLINE_MS;
    return Math.min(CONNECT_DEADLINE_MS, Math.max(1000, this.msLeft));
  }

  seconds(): string {
    return ((Date.now() - this.started) / 1000).toFixed(1);
  }
}

/**
 * A broker connection that is replaced when it is lost. Operations run through `use`: one that
 * fails because the connection went away waits for a new one and runs again (told so by its
 * `retried` argument, since the first run may or may not have reached the broker). Connecting is
 * retried with growing backoff for `retrySeconds` (one window, however often a new connection is
 * lost again before it served an operation), then every waiting and later operation fails with
 * exit code 3. At start-up only a broker that is not reachable is waited for; one that refuses
 * the credentials or the TLS handshake fails at once. Each attempt has a deadline, and the
 * process's stop signal ends any attempt with exit code 143. The log gets one line per change:
 * waiting, lost, and (once a new connection has served an operation) connected again.
 */
export class Reconnecting<C> {
  private replacing?: Promise<C>;
  private failure?: CliError;
  /** The window of the reconnection in progress; undefined once a connection served an operation. */
  private window?: RetryWindow;
  private readonly failed = new AbortController();
  private readonly closing = new AbortController();

  private constructor(
    private current: C,
    private readonly kind: ConnectionKind<C>,
    private readonly broker: BrokerConfig,
    private readonly options: ConnectOptions,
    window: RetryWindow | undefined,
  ) {
    this.window = window;
  }

  static async connect<C>(
    kind: ConnectionKind<C>,
    broker: BrokerConfig,
    options: ConnectOptions,
  ): Promise<Reconnecting<C>> {
    const window = new RetryWindow(options.retrySeconds, true);
    try {
      return new Reconnecting(
        await openOnce(kind, window.attemptMs(), options.signal),
        kind,
        broker,
        options,
        undefined,
      );
    } catch (error) {
      if (error instanceof CliError) throw error;
      if (!isUnreachable(kind, error) || options.retrySeconds <= 0) throw connectError(broker, error);
      options.log(
        `cannot reach ${brokerAt(broker)} yet (${describeCause(error)}); retrying for up to ${options.retrySeconds} s`,
      );
      const connection = await openWithin(kind, window, options.signal, error, (last) =>
        connectError(broker, last, options.retrySeconds),
      );
      return new Reconnecting(connection, kind, broker, options, window);
    }
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
        const result = await operation(connection, retried);
        this.progressed();
        return result;
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

  /**
   * The connection served an operation: the reconnection (if any) is over, and says so; a later
   * loss opens a new retry window. Called when an operation returns, and by a long operation (a
   * seed) each time the broker confirms its progress.
   */
  progressed(): void {
    const window = this.window;
    if (!window || this.replacing) return;
    this.window = undefined;
    this.options.log(
      `${window.initial ? 'connected' : 'reconnected'} to ${brokerAt(this.broker)} after ${window.seconds()} s`,
    );
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
    if (!this.window) {
      const silentSince = Date.now() - (cause instanceof ReplyTimeoutError ? cause.waitedMs : 0);
      this.window = new RetryWindow(retrySeconds, false, silentSince);
      if (retrySeconds > 0) {
        log(
          cause instanceof NotServingError
            ? `${brokerAt(this.broker)} cannot serve now (${describeCause(cause)}); retrying for up to ${retrySeconds} s`
            : `lost the connection to ${brokerAt(this.broker)} (${describeCause(cause)}); reconnecting for up to ${retrySeconds} s`,
        );
      }
    }
    const window = this.window;
    const signal = this.options.signal
      ? AbortSignal.any([this.options.signal, this.closing.signal])
      : this.closing.signal;
    const giveUp = (last: unknown) =>
      last instanceof NotServingError
        ? notServingError(this.broker, retrySeconds, last)
        : window.initial
          ? connectError(this.broker, last, retrySeconds)
          : connectionLostError(this.broker, retrySeconds, last);
    try {
      this.current = await openWithin(this.kind, window, signal, cause, giveUp);
    } catch (failure) {
      this.failure = failure as CliError;
      this.failed.abort(failure);
      throw failure;
    }
    return this.current;
  }
}

function isUnreachable<C>(kind: ConnectionKind<C>, error: unknown): boolean {
  return error instanceof ConnectDeadlineError || kind.isUnreachable(error);
}

function stopped(): CliError {
  return new CliError('stopped while waiting for the broker', ExitCode.interrupted);
}

/**
 * One attempt: `kind.open` within `deadlineMs`, ended at once when `stop` aborts (exit code 143).
 * A connection that arrives after the attempt was given up is closed.
 */
async function openOnce<C>(kind: ConnectionKind<C>, deadlineMs: number, stop: AbortSignal | undefined): Promise<C> {
  if (stop?.aborted) throw stopped();
  const attempt = new AbortController();
  const timer = setTimeout(() => attempt.abort(new ConnectDeadlineError(deadlineMs)), deadlineMs);
  const onStop = () => attempt.abort(stopped());
  stop?.addEventListener('abort', onStop, { once: true });
  const opening = kind.open(attempt.signal);
  try {
    return await Promise.race([
      opening,
      new Promise<never>((_, reject) =>
        attempt.signal.addEventListener('abort', () => reject(attempt.signal.reason as Error), { once: true }),
      ),
    ]);
  } catch (error) {
    if (attempt.signal.aborted) {
      void opening.then(
        (late) => kind.close(late),
        () => undefined,
      );
      throw attempt.signal.reason;
    }
    throw error;
  } finally {
    clearTimeout(timer);
    stop?.removeEventListener('abort', onStop);
  }
}

/**
 * Opens a connection, trying again with the window's backoff until its deadline; throws
 * `giveUp(lastError)` (exit code 3) when that time is over, a `CliError` from `open` at once, and
 * exit code 143 when `signal` aborts first.
 */
async function openWithin<C>(
  kind: ConnectionKind<C>,
  window: RetryWindow,
  signal: AbortSignal | undefined,
  firstError: unknown,
  giveUp: (lastError: unknown) => CliError,
): Promise<C> {
  let lastError = firstError;
  for (;;) {
    if (window.msLeft <= 0) throw giveUp(lastError);
    if (!(await sleep(window.nextWaitMs(), signal))) throw stopped();
    try {
      return await openOnce(kind, window.attemptMs(), signal);
    } catch (error) {
      if (error instanceof CliError) throw error;
      lastError = error;
    }
  }
}
