import type { BrokerConfig } from '../config';
import { ExitCode, amqpQueueNames } from '../../contract';
import { CliError, queueDataLost } from '../errors';
import type { ConnectOptions, SeedOptions, SeedStart, Seeder } from '../queue';
import type { Reconnecting } from '../reconnect';
import { sleep, untilAborted } from '../sleep';
import { traceHeaders } from '../trace-context';
import { brokerAt, describeCause } from '../unreachable';
import { PublishingBlocked } from './blocked';
import { type AmqpConnection, openAmqp } from './connection';
import { declareQueues } from './declare';
import { Header, type MarkerState, publishMarker, readMarker } from './marker';
import { takeSeedLock } from './seed-lock';

/**
 * Items published beyond the last marker the broker confirmed, at most. A seeder that dies (or
 * loses its connection) leaves at most these items on the queue unaccounted for; the re-run
 * publishes them again, so each interruption adds at most this many extra copies.
 */
export const SEED_WINDOW = 1000;

/** A quorum queue refuses (nacks) publishes while it has no leader; the seeder pauses this long before it goes on. */
const REFUSED_PAUSE_MS = 500;

type Channel = AmqpConnection['channel'];

export async function openAmqpSeeder(broker: BrokerConfig, queue: string, options: ConnectOptions): Promise<Seeder> {
  const names = amqpQueueNames(queue);
  const blocked = new PublishingBlocked(broker, queue, options);
  const connection = await openAmqp(broker, options, async (amqp) => {
    blocked.watch(amqp.model);
    await takeSeedLock(amqp.model, names.seedLock, () =>
      options.log(`queue ${queue}: waiting for another seeder to finish (it holds ${names.seedLock})`),
    );
    await declareQueues(amqp, queue, { replicas: broker.replicas, withMarker: true });
  });
  return new AmqpSeeder(connection, blocked, broker, queue, options);
}

/**
 * The RabbitMQ side of `seed`. Items are published, persistent, to the work queue; the marker
 * (a quorum queue of its own) counts the items the broker confirmed, in list order, and is written
 * only after their confirms, so it never runs ahead of the queue, also when a node is lost. A
 * re-run, or the same run on a new connection, resumes after what the marker (or this run's own
 * confirms) count. What was published but not yet counted may be on the queue already and is
 * published again: never more than SEED_WINDOW items.
 */
class AmqpSeeder implements Seeder {
  private readonly names: ReturnType<typeof amqpQueueNames>;
  private seededBefore = 0;
  /** The newest marker's sequence number this run has read or written. */
  private sequence = 0;
  /** Items of this run's list confirmed in order (each item before it is on the queue). */
  private confirmed = 0;
  /** Of those, the items this run published (the others' were confirmed to another seeder, before or while it ran). */
  private added = 0;
  /** When the broker began refusing items, if it has not confirmed a marker since. */
  private refusedSince?: number;

  constructor(
    private readonly connection: Reconnecting<AmqpConnection>,
    private readonly blocked: PublishingBlocked,
    private readonly broker: BrokerConfig,
    private readonly queue: string,
    private readonly options: ConnectOptions,
  ) {
    this.names = amqpQueueNames(queue);
  }

  begin(items: readonly string[], options: SeedOptions): Promise<SeedStart> {
    // Repeating it after a lost connection is harmless: nothing of this run is on the queue yet.
    return this.connection.use(
      this.blocked.bounded(async ({ channel }) => {
        const marker = await this.readMarker(channel);
        if (options.force || !marker || (marker.id !== options.id && marker.pushed === marker.total)) {
          this.seededBefore = marker ? marker.seededBefore + marker.pushed : 0;
          await this.writeMarker(channel, options.id, items.length, 0);
          return { kind: 'fresh', from: 0 };
        }
        this.seededBefore = marker.seededBefore;
        if (marker.id === options.id) return { kind: 'resume', from: marker.pushed };
        return { kind: 'conflict', marker };
      }),
    );
  }

  async seed(items: readonly string[], from: number, options: SeedOptions): Promise<number> {
    this.confirmed = from;
    await this.connection.use(
      this.blocked.bounded(async ({ model, channel, closed }, retried) => {
        const marked = retried ? await this.resumePoint(channel, options.id) : from;
        try {
          await this.publish(channel, items, marked, options);
        } catch (error) {
          // A closed connection is resumed by `use`; anything else is the broker refusing an item.
          if (closed.aborted) throw error;
          await this.refused(model, error);
          await untilAborted(closed);
          throw error;
        }
        options.onProgress(items.length);
      }),
    );
    // The lock keeps other seeders out while this run holds its connection, not after it lost one.
    return this.added;
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  /**
   * A quorum queue refuses (nacks) publishes while it has no leader, and a channel that met a lost
   * leader can go on refusing: after a pause the connection is closed, so that `use` goes on over a
   * new one. Refusals without progress for as long as a lost connection is retried end the seed.
   */
  private async refused(model: AmqpConnection['model'], error: unknown): Promise<void> {
    const refused = `queue ${this.queue}: the broker refused a seeded item (${describeCause(error)})`;
    this.refusedSince ??= Date.now();
    const retrying = Date.now() - this.refusedSince < this.options.retrySeconds * 1000;
    if (!retrying || !(await sleep(REFUSED_PAUSE_MS, this.options.signal)))
      throw new CliError(`${refused}; rerun seed to resume`, ExitCode.failed);
    this.options.log(`${refused}; going on over a new connection`);
    // The broker answered: what ends these retries is the refusals' own budget above, not the
    // retry window of a connection that was lost.
    this.connection.progressed();
    await model.close().catch(() => undefined);
  }

  /** What a seed interrupted by a lost connection finds marked: the marker must still be this seed's. */
  private async resumePoint(channel: Channel, id: string): Promise<number> {
    const marker = await this.readMarker(channel);
    if (!marker || marker.id !== id) {
      throw queueDataLost(
        this.queue,
        brokerAt(this.broker),
        `the seed marker in ${this.names.marker}, written by this seeder, is gone`,
      );
    }
    return marker.pushed;
  }

  private async readMarker(channel: Channel): Promise<MarkerState | undefined> {
    const marker = await readMarker(channel, this.names.marker);
    if (marker) this.sequence = Math.max(this.sequence, marker.sequence);
    return marker;
  }

  private writeMarker(channel: Channel, id: string, total: number, pushed: number): Promise<void> {
    return publishMarker(channel, this.names.marker, {
      id,
      total,
      pushed,
      seededBefore: this.seededBefore,
      sequence: ++this.sequence,
    });
  }

  /**
   * Publishes items[start..] where start is what the marker (`marked`) or this run's confirms
   * count, whichever is further; after each confirm the marker is moved up to the confirmed items
   * (one marker write at a time), and an item is published only within SEED_WINDOW of the last
   * confirmed marker. Resolves once the marker counts every item.
   */
  private publish(channel: Channel, items: readonly string[], marked: number, options: SeedOptions): Promise<void> {
    const total = items.length;
    const id = options.id;
    const traced = traceHeaders(options.traceContext);
    const started = Math.max(marked, this.confirmed);
    this.confirmed = started;
    const counted = () => {
      this.added += this.confirmed - started;
    };
    return new Promise<void>((resolve, reject) => {
      let next = started;
      /** Confirmed items past `this.confirmed` (confirms of two queues may come out of order). */
      const confirmedAhead = new Set<number>();
      let marking = false;
      let waitingForDrain = false;
      let failed = false;
      const fail = (error: unknown) => {
        if (failed) return;
        failed = true;
        reject(error instanceof Error ? error : new Error(String(error)));
      };
      const mark = () => {
        if (failed || marking) return;
        if (marked === total) {
          resolve();
          return;
        }
        if (this.confirmed === marked) return;
        marking = true;
        const pushed = this.confirmed;
        this.writeMarker(channel, id, total, pushed).then(() => {
          this.refusedSince = undefined;
          this.blocked.confirmed();
          this.connection.progressed();
          marking = false;
          marked = pushed;
          options.onProgress(pushed);
          mark();
          pump();
        }, fail);
      };
      const onConfirm = (index: number) => (error: unknown) => {
        if (failed) return;
        if (error) {
          fail(error);
          return;
        }
        confirmedAhead.add(index);
        while (confirmedAhead.delete(this.confirmed)) this.confirmed++;
        mark();
      };
      const pump = () => {
        try {
          while (!failed && !waitingForDrain && next < total && next < marked + SEED_WINDOW) {
            const index = next++;
            const headers = { [Header.id]: id, [Header.index]: index, [Header.total]: total, ...traced };
            const written = channel.sendToQueue(
              this.names.work,
              Buffer.from(items[index], 'utf8'),
              { persistent: true, headers },
              onConfirm(index),
            );
            if (!written) {
              waitingForDrain = true;
              channel.once('drain', () => {
                waitingForDrain = false;
                pump();
              });
            }
          }
        } catch (error) {
          fail(error);
        }
      };
      mark();
      pump();
    }).finally(counted);
  }
}
