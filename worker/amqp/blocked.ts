import type { ChannelModel } from 'amqplib';
import type { BrokerConfig } from '../config';
import { Env, ExitCode } from '../../contract';
import { CliError } from '../errors';
import type { ConnectOptions } from '../queue';
import { brokerAt } from '../unreachable';

/**
 * RabbitMQ blocks a connection that publishes while one of its memory or disk alarms is on: it
 * stops reading from it, so neither the items nor the marker get confirmed, and it says why with
 * `connection.blocked` (amqplib's 'blocked' event). The seeder says so in one line and waits for
 * 'unblocked' for as long as a lost connection would be retried (BROKER_RETRY_SECONDS), then gives
 * up with exit code 3. Nothing is lost either way, as the marker counts only confirmed items: once
 * unblocked the seed goes on with exactly the items; a re-run after giving up publishes again what
 * the broker took in unconfirmed (at most SEED_WINDOW items, as after any interruption).
 */
export class PublishingBlocked {
  /** When the block began; kept over a connection lost while blocked, until a confirm shows it is over. */
  private since?: number;
  private reason = '';
  private timer?: NodeJS.Timeout;
  private current?: ChannelModel;
  private readonly gaveUp = new AbortController();

  constructor(
    private readonly broker: BrokerConfig,
    private readonly queue: string,
    private readonly options: ConnectOptions,
  ) {}

  /** Listens to a new connection; every connection the seeder opens must be given here before it publishes. */
  watch(model: ChannelModel): void {
    this.current = model;
    model.on('blocked', (reason: string) => {
      if (model === this.current) this.blocked(reason);
    });
    model.on('unblocked', () => {
      if (model === this.current) this.unblocked();
    });
    model.on('close', () => {
      // The block may outlast the connection: the next one's 'blocked' goes on with the same wait.
      if (model !== this.current) return;
      clearTimeout(this.timer);
      this.timer = undefined;
    });
  }

  /**
   * `operation`, ending instead with the exit-code-3 error once publishing has been blocked for
   * longer than BROKER_RETRY_SECONDS. The blocked connection is then closed (amqplib closes a
   * blocked one at once, where a channel's close would wait for a broker that no longer reads).
   */
  bounded<A extends unknown[], T>(operation: (...args: A) => Promise<T>): (...args: A) => Promise<T> {
    const { signal } = this.gaveUp;
    return (...args) => {
      if (signal.aborted) return Promise.reject(signal.reason as Error);
      return new Promise<T>((resolve, reject) => {
        const onGiveUp = () => reject(signal.reason as Error);
        signal.addEventListener('abort', onGiveUp, { once: true });
        operation(...args)
          .then(resolve, reject)
          .finally(() => signal.removeEventListener('abort', onGiveUp));
      });
    };
  }

  /** The broker confirmed something: a block carried over from a lost connection is over. */
  confirmed(): void {
    if (this.timer === undefined) this.since = undefined;
  }

  private blocked(reason: string): void {
    const carried = this.since !== undefined;
    this.since ??= Date.now();
    this.reason = reason;
    const left = this.since + this.options.retrySeconds * 1000 - Date.now();
    if (!carried) {
      this.options.log(
        `queue ${this.queue}: ${brokerAt(this.broker)} blocks publishing (${reason}: a memory or disk alarm is on); waiting for up to ${this.options.retrySeconds} s (${Env.brokerRetrySeconds})`,
      );
    }
    clearTimeout(this.timer);
    // Unref'd: a block reported after the last confirm must not keep a finished seed from exiting.
    this.timer = setTimeout(() => this.giveUp(), Math.max(0, left)).unref();
  }

  private unblocked(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.since === undefined) return;
    this.options.log(
      `queue ${this.queue}: ${brokerAt(this.broker)} unblocked publishing after ${((Date.now() - this.since) / 1000).toFixed(1)} s; going on`,
    );
    this.since = undefined;
  }

  private giveUp(): void {
    this.gaveUp.abort(
      new CliError(
        `queue ${this.queue}: ${brokerAt(this.broker)} blocked publishing for ${this.options.retrySeconds} s (${Env.brokerRetrySeconds}): ${this.reason}, a memory or disk alarm is on; rerun seed to resume once it is cleared`,
        ExitCode.brokerUnreachable,
      ),
    );
    void this.current?.close().catch(() => undefined);
  }
}
