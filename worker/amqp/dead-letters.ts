import { randomBytes } from 'node:crypto';
import type { Channel, ChannelModel, ConfirmChannel, GetMessage } from 'amqplib';
import type { BrokerConfig } from '../config';
import { DeadLetters as Record, ExitCode, amqpQueueNames, amqpRedriveExchange } from '../../contract';
import { CliError } from '../errors';
import type { ConnectOptions, DeadItem, DeadLetters } from '../queue';
import type { Reconnecting } from '../reconnect';
import { unknownQueue } from '../status';
import { isNotFound } from './broker-errors';
import { type AmqpConnection, openAmqp, openConfirmChannel, publishConfirmed, withChannel } from './connection';
import { declareDeadLetterQueue } from './declare';
import { DELIVERY_LIMIT_ARGUMENT, redriveJournalOptions } from './topology';

const RESOURCE_LOCKED = 405;

export async function openAmqpDeadLetters(
  broker: BrokerConfig,
  queue: string,
  options: ConnectOptions,
): Promise<DeadLetters> {
  const names = amqpQueueNames(queue);
  const state = { deadHasLimit: true };
  const connection = await openAmqp(broker, options, async ({ model }) => {
    // Not declared: a queue that no worker or seeder declared is most likely a misspelt name.
    await withChannel(model, (ch) => ch.checkQueue(names.work)).catch((error: unknown) => {
      if (isNotFound(error)) throw unknownQueue(queue);
      throw error;
    });
    state.deadHasLimit = await declareDeadLetterQueue(model, names.dead, broker.replicas);
  });
  return new AmqpDeadLetters(connection, queue, state);
}

/** A redrive's state on one connection: the journal entries of earlier runs, held unacknowledged. */
interface Redrive {
  readonly channel: ConfirmChannel;
  /** Journal entries of runs that were stopped, by dead id: their items are on the work queue already. */
  readonly earlier: Map<string, GetMessage[]>;
}

/**
 * The RabbitMQ side of `dead`.
 *
 * `list` takes the first messages of the dead-letter queue without acknowledging them and closes
 * its channel, which returns them, their order possibly changed. RabbitMQ counts that as a delivery
 * of each, which the dead-letter queue's delivery limit allows for (see deadLetterQueueOptions).
 *
 * `move` is exactly once per item that a worker dead-lettered (it carries a dead id): the item is
 * published through the redrive exchange, which puts it on the work queue and, in the same
 * publish, on the redrive journal; once the broker confirmed it, the dead message is acknowledged,
 * then its journal entry. A redrive that dies before the publish left the item dead only; after
 * it, the item is on the work queue and its dead id in the journal, and the next redrive, finding
 * the dead message's id in the journal, acknowledges it without publishing it again. Dead items
 * without an id (dead-lettered by the broker's own delivery limit, or by hand) get one for the
 * publish, which a rerun cannot recognise: such an item may be on the work queue twice after an
 * interruption at that instant. One redrive at a time holds the queue's redrive lock.
 */
class AmqpDeadLetters implements DeadLetters {
  private readonly names: ReturnType<typeof amqpQueueNames>;
  private readonly exchange: string;
  private readonly redrives = new WeakMap<AmqpConnection, Promise<Redrive>>();
  /** The redrive of the connection in use, if this process redrives. */
  private current?: Promise<Redrive>;

  constructor(
    private readonly connection: Reconnecting<AmqpConnection>,
    private readonly queue: string,
    /** Whether the dead-letter queue has its delivery limit (see deadLetterQueueOptions). */
    private readonly state: { deadHasLimit: boolean },
  ) {
    this.names = amqpQueueNames(queue);
    this.exchange = amqpRedriveExchange(queue);
  }

  count(): Promise<number> {
    return this.connection.use(({ model }) =>
      withChannel(model, async (ch) => (await ch.checkQueue(this.names.dead)).messageCount),
    );
  }

  list(limit: number): Promise<DeadItem[]> {
    return this.connection.use(({ model }) => {
      if (!this.state.deadHasLimit && majorVersion(model) >= 4) {
        throw new CliError(
          `${this.names.dead} was declared by an earlier work-queue, without ${DELIVERY_LIMIT_ARGUMENT}: RabbitMQ 4 drops a message that was delivered 20 times, and each look of dead list counts as a delivery; redrive or purge its items, then delete it (rabbitmqctl delete_queue ${this.names.dead}) and the next worker declares it anew`,
          ExitCode.failed,
        );
      }
      return withChannel(model, async (ch) => {
        const items: DeadItem[] = [];
        while (items.length < limit) {
          const message = await ch.get(this.names.dead, { noAck: false });
          if (message === false) break;
          items.push(deadItem(message));
        }
        return items;
      });
    });
  }

  move(max: number): Promise<DeadItem[]> {
    return this.connection.use(async (connection) => {
      let redrive = this.redrives.get(connection);
      if (!redrive) {
        redrive = this.startRedrive(connection);
        this.redrives.set(connection, redrive);
        this.current = redrive;
      }
      return this.moveOn(connection.model, await redrive, max);
    });
  }

  purge(): Promise<number> {
    return this.connection.use(async ({ channel }) => (await channel.purgeQueue(this.names.dead)).messageCount);
  }

  /** The journal's channel first: its last acknowledgements are taken before the connection goes. */
  async close(): Promise<void> {
    const redrive = await this.current?.catch(() => undefined);
    await redrive?.channel.close().catch(() => undefined);
    await this.connection.close();
  }

  /** Takes the lock, declares the journal and the exchange, and reads what earlier runs left in the journal. */
  private async startRedrive({ model }: AmqpConnection): Promise<Redrive> {
    const channel = await openConfirmChannel(model);
    try {
      await channel.assertQueue(this.names.redriveLock, { exclusive: true, durable: false });
    } catch (error) {
      if ((error as { code?: unknown }).code !== RESOURCE_LOCKED) throw error;
      throw new CliError(
        `queue ${this.queue}: another dead redrive is running (it holds ${this.names.redriveLock}); wait for it to finish`,
        ExitCode.failed,
      );
    }
    await channel.assertQueue(this.names.redriveJournal, redriveJournalOptions);
    await channel.assertExchange(this.exchange, 'direct', { durable: true });
    await channel.bindQueue(this.names.work, this.exchange, this.queue);
    await channel.bindQueue(this.names.redriveJournal, this.exchange, this.queue);
    const earlier = new Map<string, GetMessage[]>();
    for (;;) {
      const entry = await channel.get(this.names.redriveJournal, { noAck: false });
      if (entry === false) break;
      const id = deadId(entry);
      if (id === undefined) channel.ack(entry);
      else earlier.set(id, [...(earlier.get(id) ?? []), entry]);
    }
    return { channel, earlier };
  }

  /**
   * One step, on a channel of its own: up to `max` dead messages taken (unacknowledged), those an
   * earlier run published acknowledged at once, the others published and confirmed, then
   * acknowledged; the channel is closed, which the broker answers only after it took the
   * acknowledgements (on RabbitMQ 3.10 an acknowledgement to a quorum queue can be lost when its
   * channel dies right after it); only then are their journal entries taken off. An empty dead
   * queue means the journal entries left are of items acknowledged before their run stopped: they
   * are taken off too.
   */
  private async moveOn(model: ChannelModel, { channel: journal, earlier }: Redrive, max: number): Promise<DeadItem[]> {
    const channel = await openConfirmChannel(model);
    const taken: GetMessage[] = [];
    const published = new Set<string>();
    try {
      while (taken.length < max) {
        const message = await channel.get(this.names.dead, { noAck: false });
        if (message === false) break;
        taken.push(message);
      }
      const confirms: Promise<void>[] = [];
      for (const message of taken) {
        const id = deadId(message);
        if (id !== undefined && earlier.get(id)?.length) continue;
        const publishId = id ?? randomBytes(16).toString('hex');
        published.add(publishId);
        const headers = { [Record.idHeader]: publishId };
        confirms.push(
          publishConfirmed(channel, this.exchange, this.queue, message.content, { persistent: true, headers }),
        );
      }
      await Promise.all(confirms);
      for (const message of taken) channel.ack(message);
    } finally {
      await channel.close();
    }
    for (const message of taken) {
      const id = deadId(message);
      const entry = id === undefined ? undefined : earlier.get(id)?.shift();
      if (entry) journal.ack(entry);
    }
    await this.dropJournalEntries(journal, published);
    const empty = (await journal.checkQueue(this.names.dead)).messageCount === 0;
    if (empty) for (const entries of earlier.values()) for (const entry of entries.splice(0)) journal.ack(entry);
    return taken.map(deadItem);
  }

  /** Takes this step's journal entries off (they are the journal's first ready messages). */
  private async dropJournalEntries(channel: Channel, ids: Set<string>): Promise<void> {
    while (ids.size > 0) {
      const entry = await channel.get(this.names.redriveJournal, { noAck: false });
      if (entry === false)
        throw new Error(`the redrive journal ${this.names.redriveJournal} lacks entries this redrive published`);
      const id = deadId(entry);
      if (id !== undefined) ids.delete(id);
      channel.ack(entry);
    }
  }
}

/** The broker's major version, from its connection properties. */
function majorVersion(model: ChannelModel): number {
  const version: unknown = (model as unknown as { connection: { serverProperties?: { version?: unknown } } }).connection
    .serverProperties?.version;
  return Number.parseInt(String(version), 10) || 0;
}

function deadId(message: GetMessage): string | undefined {
  return text(message.properties.headers?.[Record.idHeader]);
}

/**
 * A dead message as an item with its record (when a worker published it); without one, why not,
 * from the reason of the broker's own dead-lettering (`x-first-death-reason`, which RabbitMQ sets
 * with `x-death`): `rejected` by a worker that could not publish, or the `delivery_limit`.
 */
function deadItem(message: GetMessage): DeadItem {
  const item = message.content.toString('utf8');
  const headers = message.properties.headers ?? {};
  const attempts: unknown = headers[Record.attemptsHeader];
  const error: unknown = headers[Record.errorHeader];
  if (typeof attempts === 'number') return { item, attempts, lastError: text(error) };
  const reason = text(headers['x-first-death-reason']);
  if (reason === 'rejected') return { item, notKept: Record.notKept.byBrokerForWorker };
  if (reason === 'delivery_limit') return { item, notKept: Record.notKept.atDeliveryLimit };
  return { item, notKept: Record.notKept.byHand };
}

/** A header's string, which amqplib gives as a string or as bytes. */
function text(value: unknown): string | undefined {
  return Buffer.isBuffer(value) ? value.toString('utf8') : typeof value === 'string' ? value : undefined;
}
