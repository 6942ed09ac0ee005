import { randomBytes } from 'node:crypto';
import type { ChannelModel } from 'amqplib';
import type { BrokerConfig } from '../config';
import { DeadLetters, amqpQueueNames } from '../../contract';
import type { ConnectOptions } from '../queue';
import type { Reconnecting } from '../reconnect';
import { brokerAt, describeCause } from '../unreachable';
import { type AmqpConnection, openAmqp, publishConfirmed } from './connection';

/**
 * How long a dead letter's confirm is waited for before the item goes the broker's way instead:
 * long enough for a busy broker, short next to the consumer timeout and a pod's grace period.
 */
export const DEAD_LETTER_CONFIRM_MS = 3000;

/** The name the publishing connection has beside the worker's own (rabbitmqctl list_connections). */
const PURPOSE = 'dead letters';

/**
 * The worker's dead letters with their record (DeadLetters in contract/dead-letters.ts), published on a
 * connection of their own, opened with the first one: the consumer's connection never publishes,
 * so RabbitMQ never blocks it (a memory or disk alarm blocks a connection once it publishes, and
 * then reads nothing more from it, acknowledgements included).
 *
 * `publish` resolves true once the broker confirmed the dead letter: the delivery may then be
 * acknowledged. It resolves false while the broker blocks this connection ('blocked', until
 * 'unblocked': at once, nothing is sent), when no confirm came within DEAD_LETTER_CONFIRM_MS, or
 * when the publish failed: the caller then rejects the delivery without requeue, and the work
 * queue's dead-lettering (topology.ts) moves the item, without its record, to the same dead-letter
 * queue. The publish that made the broker block the connection is given up when 'blocked' comes:
 * RabbitMQ 3.10 and 4.0 read it and enqueue it, but confirm nothing while blocked. Either way an
 * item is never lost; it is in dead twice when a publish that was given up still lands (that
 * first one, as a rule), or when the worker dies between the confirm and the acknowledgement (the
 * item is delivered again, past its attempts).
 */
export class DeadLetterPublisher {
  private connection?: Promise<Reconnecting<AmqpConnection>>;
  private model?: ChannelModel;
  /** Why the broker blocks the current connection; undefined while it does not. */
  private blockedFor?: string;
  /** Publishes waiting for their confirm: a block gives them up at once (the broker confirms nothing before it lifts). */
  private readonly waiting = new Set<() => void>();
  private readonly deadQueue: string;

  constructor(
    private readonly broker: BrokerConfig,
    private readonly queue: string,
    private readonly options: ConnectOptions,
  ) {
    this.deadQueue = amqpQueueNames(queue).dead;
  }

  publish(content: Buffer, attempts: number, error: string): Promise<boolean> {
    if (this.blockedFor !== undefined) return Promise.resolve(false);
    const confirmed = this.confirmed(content, attempts, error);
    return new Promise<boolean>((resolve) => {
      let settled = false;
      const settle = (published: boolean, why?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.waiting.delete(giveUp);
        if (why)
          this.options.log(
            `queue ${this.queue}: a dead letter was not confirmed (${why}); the broker dead-letters the item instead, without its record`,
          );
        resolve(published);
      };
      const giveUp = () => settle(false);
      const timer = setTimeout(
        () => settle(false, `no confirm within ${DEAD_LETTER_CONFIRM_MS / 1000} s`),
        DEAD_LETTER_CONFIRM_MS,
      );
      this.waiting.add(giveUp);
      confirmed.then(
        () => settle(true),
        (failure: unknown) => settle(false, describeCause(failure)),
      );
    });
  }

  /** A blocked connection is closed at once (amqplib does not wait for a broker that no longer reads it). */
  async close(): Promise<void> {
    const connection = await this.connection?.catch(() => undefined);
    if (!connection) return;
    if (this.blockedFor !== undefined) await this.model?.close().catch(() => undefined);
    await connection.close();
  }

  private async confirmed(content: Buffer, attempts: number, error: string): Promise<void> {
    this.connection ??= openAmqp(
      this.broker,
      this.options,
      ({ model }) => {
        this.watch(model);
        return Promise.resolve();
      },
      PURPOSE,
    );
    const connection = await this.connection.catch((failure: unknown) => {
      // Opened again with the next dead letter.
      this.connection = undefined;
      throw failure;
    });
    // A lost connection is replaced here, by the next dead letter; the publish itself is not
    // retried (it is given up, and the item goes the broker's way), so closing a blocked
    // connection does not start a reconnection.
    const { channel } = await connection.use((current) =>
      current.closed.aborted ? Promise.reject(new Error('closed')) : Promise.resolve(current),
    );
    const headers = {
      [DeadLetters.attemptsHeader]: attempts,
      [DeadLetters.errorHeader]: error,
      [DeadLetters.idHeader]: randomBytes(16).toString('hex'),
    };
    await publishConfirmed(channel, '', this.deadQueue, content, { persistent: true, headers });
  }

  private watch(model: ChannelModel): void {
    this.model = model;
    this.blockedFor = undefined;
    model.on('blocked', (reason: string) => {
      if (model !== this.model || this.blockedFor !== undefined) return;
      this.blockedFor = reason;
      this.options.log(
        `queue ${this.queue}: ${brokerAt(this.broker)} blocks publishing (${reason}: a memory or disk alarm is on); until it unblocks, the broker dead-letters items itself, without their attempts and last error`,
      );
      for (const giveUp of [...this.waiting]) giveUp();
    });
    model.on('unblocked', () => {
      if (model !== this.model || this.blockedFor === undefined) return;
      this.blockedFor = undefined;
      this.options.log(
        `queue ${this.queue}: ${brokerAt(this.broker)} unblocked publishing; dead letters keep their record again`,
      );
    });
    model.on('close', () => {
      if (model === this.model) this.blockedFor = undefined;
    });
  }
}
