import type { BrokerConfig } from '../config';
import { amqpQueueNames } from '../../contract';
import type { ConnectOptions, QueueReplicas, QueueStatus, StatusReader } from '../queue';
import type { Reconnecting } from '../reconnect';
import { isNotFound } from './broker-errors';
import { type AmqpConnection, openAmqp, withChannel } from './connection';
import { readQueueReplicas } from './management-api';
import { readMarker } from './marker';

export async function openAmqpStatusReader(
  broker: BrokerConfig,
  queue: string,
  options: ConnectOptions,
): Promise<StatusReader> {
  return new AmqpStatusReader(await openAmqp(broker, options, () => Promise.resolve()), broker, queue);
}

/**
 * The RabbitMQ side of `status`: ready messages of the queue and its dead letters, and the seed
 * marker. Without the management plugin AMQP cannot count unacknowledged messages. The quorum
 * queue's leader and members come from the management API, read with the first status only
 * (`status --watch` shows them as they were when it started).
 */
class AmqpStatusReader implements StatusReader {
  private readonly names: ReturnType<typeof amqpQueueNames>;
  private replicasRead = false;

  constructor(
    private readonly connection: Reconnecting<AmqpConnection>,
    private readonly broker: BrokerConfig,
    private readonly queue: string,
  ) {
    this.names = amqpQueueNames(queue);
  }

  async status(): Promise<QueueStatus | undefined> {
    const replicas: Promise<QueueReplicas | undefined> = this.replicasRead
      ? Promise.resolve(undefined)
      : readQueueReplicas(this.broker, this.queue);
    this.replicasRead = true;
    const counts = await this.counts();
    return counts && { ...counts, ...(await replicas.then((r) => r && { replicas: r })) };
  }

  private counts(): Promise<QueueStatus | undefined> {
    return this.connection.use(async ({ model }) => {
      const [work, dead, marker] = await Promise.all([
        this.count(model, this.names.work),
        this.count(model, this.names.dead),
        withChannel(model, (ch) => readMarker(ch, this.names.marker)).catch((error: unknown) => {
          if (isNotFound(error)) return undefined;
          throw error;
        }),
      ]);
      if (work === undefined) return undefined;
      const deadCount = dead ?? 0;
      const seeded = marker ? marker.seededBefore + marker.pushed : undefined;
      const taken = seeded !== undefined && seeded - work - deadCount >= 0 ? seeded - work - deadCount : undefined;
      return {
        pending: work,
        dead: deadCount,
        seeded,
        taken,
        seed: marker && { id: marker.id, total: marker.total, pushed: marker.pushed },
        note: 'AMQP does not report unacknowledged messages without the management plugin, so in progress and done are counted together as seeded - pending - dead',
      };
    });
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  /** Ready messages of a queue, or undefined when it does not exist. */
  private async count(model: AmqpConnection['model'], name: string): Promise<number | undefined> {
    try {
      return await withChannel(model, async (ch) => (await ch.checkQueue(name)).messageCount);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }
}
