import type { BrokerConfig } from '../config';
import { ExitCode, amqpQueueNames } from '../contract';
import { CliError, queueDataLost } from '../errors';
import type { ConnectOptions, SeedOptions, SeedStart, Seeder } from '../queue';
import type { Reconnecting } from '../reconnect';
import { brokerAt, describeCause } from '../unreachable';
import { type AmqpConnection, openAmqp } from './connection';
import { declareQueues } from './declare';
import { Header, publishMarker, readMarker } from './marker';
import { takeSeedLock } from './seed-lock';

/** Publishes awaiting their confirm at any time while seeding. */
const SEED_WINDOW = 1000;
/** Progress is reported every so many confirms. */
const PROGRESS_EVERY = 500;

export async function openAmqpSeeder(broker: BrokerConfig, queue: string, options: ConnectOptions): Promise<Seeder> {
  const names = amqpQueueNames(queue);
  const connection = await openAmqp(broker, options, async ({ model, channel }) => {
    await takeSeedLock(model, names.seedLock, () => options.log(`queue ${queue}: waiting for another seeder to finish (it holds ${names.seedLock})`));
    await declareQueues(channel, queue, true);
  });
  return new AmqpSeeder(connection, broker, queue);
}

/**
 * The RabbitMQ side of `seed`: every item is published, persistent, to the queue and in the same
 * publish to the marker queue, so the marker is the last item that reached the queue whatever
 * happens to the connection. After a lost connection the seed resumes right after it.
 */
class AmqpSeeder implements Seeder {
  private readonly names: ReturnType<typeof amqpQueueNames>;
  private seededBefore = 0;

  constructor(
    private readonly connection: Reconnecting<AmqpConnection>,
    private readonly broker: BrokerConfig,
    private readonly queue: string,
  ) {
    this.names = amqpQueueNames(queue);
  }

  begin(items: readonly string[], options: SeedOptions): Promise<SeedStart> {
    // Repeating it after a lost connection is harmless: nothing of this run is on the queue yet.
    return this.connection.use(async ({ channel }) => {
      const marker = await readMarker(channel, this.names.marker);
      if (options.force || !marker || (marker.id !== options.id && marker.pushed === marker.total)) {
        this.seededBefore = marker ? marker.seededBefore + marker.pushed : 0;
        await publishMarker(channel, this.names.marker, { [Header.seededBefore]: this.seededBefore, [Header.state]: 'started', [Header.id]: options.id, [Header.total]: items.length });
        return { kind: 'fresh', from: 0 };
      }
      this.seededBefore = marker.seededBefore;
      if (marker.id === options.id) return { kind: 'resume', from: marker.pushed };
      return { kind: 'conflict', marker };
    });
  }

  async seed(items: readonly string[], from: number, options: SeedOptions): Promise<number> {
    await this.connection.use(async ({ channel, closed }, retried) => {
      const start = retried ? await this.resumePoint(channel, options.id) : from;
      try {
        await this.publish(channel, items, start, options);
      } catch (error) {
        // A closed connection is resumed by `use`; anything else is the broker refusing an item.
        if (closed.aborted) throw error;
        throw new CliError(`queue ${this.queue}: the broker refused a seeded item (${describeCause(error)}); rerun seed to resume`, ExitCode.failed);
      }
      options.onProgress(items.length);
      await publishMarker(channel, this.names.marker, { [Header.seededBefore]: this.seededBefore, [Header.state]: 'complete', [Header.id]: options.id, [Header.total]: items.length });
    });
    // The lock kept other seeders out: everything from `from` on is this run's.
    return items.length - from;
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  /** Where a seed interrupted by a lost connection goes on: right after the last item that reached the queue. */
  private async resumePoint(channel: AmqpConnection['channel'], id: string): Promise<number> {
    const marker = await readMarker(channel, this.names.marker);
    if (!marker || marker.id !== id) {
      throw queueDataLost(this.queue, brokerAt(this.broker), `the seed marker in ${this.names.marker}, written by this seeder, is gone`);
    }
    return marker.pushed;
  }

  private publish(channel: AmqpConnection['channel'], items: readonly string[], from: number, options: SeedOptions): Promise<void> {
    const total = items.length - from;
    return new Promise<void>((resolve, reject) => {
      let next = from;
      let inFlight = 0;
      let confirmed = 0;
      let waitingForDrain = false;
      let failed = false;
      const fail = (error: unknown) => {
        if (failed) return;
        failed = true;
        reject(error);
      };
      const onConfirm = (error: unknown) => {
        inFlight--;
        if (failed) return;
        if (error) return fail(error);
        confirmed++;
        if (confirmed === total) return resolve();
        if (confirmed % PROGRESS_EVERY === 0) options.onProgress(from + confirmed);
        pump();
      };
      const pump = () => {
        try {
          while (!waitingForDrain && next < items.length && inFlight < SEED_WINDOW) {
            const index = next++;
            inFlight++;
            const headers = { [Header.id]: options.id, [Header.index]: index, [Header.total]: items.length, [Header.seededBefore]: this.seededBefore };
            const written = channel.sendToQueue(this.names.work, Buffer.from(items[index], 'utf8'), { persistent: true, CC: this.names.marker, headers }, onConfirm);
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
      if (total === 0) resolve();
      else pump();
    });
  }
}
