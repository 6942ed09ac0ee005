import type { Channel, GetMessage } from 'amqplib';
import type { BrokerConfig } from '../config';
import { amqpQueueNames, keptError } from '../../contract';
import { queueDataLost } from '../errors';
import type { Claimed, Consumer, ConsumerOptions, Delivery, FailOutcome, SeedMarker } from '../queue';
import type { Reconnecting } from '../reconnect';
import { traceContextOfHeaders } from '../trace-context';
import { brokerAt, describeCause } from '../unreachable';
import { isNotFound } from './broker-errors';
import { type AmqpConnection, openAmqpConsumerConnection, whyClosed, withChannel } from './connection';
import { DeadLetterPublisher } from './dead-letter';
import { declareQueues } from './declare';
import { readMarker } from './marker';

type ConsumerConnection = AmqpConnection<Channel>;

interface AmqpDelivery extends Delivery {
  readonly message: GetMessage;
  /** The connection it came on: only that one can settle it. */
  readonly connection: ConsumerConnection;
}

const NOT_ACKNOWLEDGED = 'the connection closed before it was acknowledged: the broker delivers it again';

/**
 * An acknowledgement sent whose confirming round trip failed: the broker may have taken it (a node
 * killed after its quorum queue committed the ack) or not (a channel it closed first).
 */
function unconfirmed(why: string): string {
  return `its acknowledgement was sent, but ${why} before the broker confirmed it: the broker may deliver it again, so it may be processed twice`;
}

export async function openAmqpConsumer(
  broker: BrokerConfig,
  queue: string,
  options: ConsumerOptions,
): Promise<Consumer> {
  const names = amqpQueueNames(queue);
  const state = { claimedAny: false };
  const connection = await openAmqpConsumerConnection(broker, options, async (opened) => {
    // A queue this worker took items from must still be there; declaring it would hide its loss.
    if (state.claimedAny) {
      try {
        await withChannel(opened.model, (ch) => ch.checkQueue(names.work));
      } catch (error) {
        if (isNotFound(error))
          throw queueDataLost(queue, brokerAt(broker), `the queue is gone, though this worker took items from it`);
        throw error;
      }
    }
    await declareQueues(opened, queue, { replicas: broker.replicas, withMarker: false });
  });
  return new AmqpConsumer(
    connection,
    new DeadLetterPublisher(broker, queue, options),
    queue,
    brokerAt(broker),
    options,
    state,
  );
}

/**
 * The RabbitMQ side of `work`: one channel, `basic.get` with manual acknowledgement (one message
 * per get, so no prefetch limit applies and none is set: that would cost a round trip at start-up).
 * A delivery can only be settled on the connection it came on; when that closes, the broker gives
 * the item to the next worker and this one's `lost` signal stops its command. The seed marker is
 * read only by a worker that waits for its seed, and only when the queue is empty. Dead letters
 * go out on a connection of their own (DeadLetterPublisher): this one never publishes, so a
 * memory or disk alarm never blocks it.
 */
class AmqpConsumer implements Consumer {
  private readonly names: ReturnType<typeof amqpQueueNames>;

  constructor(
    private readonly connection: Reconnecting<ConsumerConnection>,
    private readonly deadLetters: DeadLetterPublisher,
    private readonly queue: string,
    private readonly broker: string,
    private readonly options: ConsumerOptions,
    private readonly state: { claimedAny: boolean },
  ) {
    this.names = amqpQueueNames(queue);
  }

  claim(): Promise<Claimed> {
    return this.connection.use(async (connection) => {
      const { channel } = connection;
      const deadLettered: string[] = [];
      let seed: SeedMarker | undefined;
      let markerRead = false;
      for (;;) {
        const message = await channel.get(this.names.work, { noAck: false }).catch((error: unknown) => {
          if (isNotFound(error))
            throw queueDataLost(this.queue, this.broker, 'the queue was deleted while this worker took items from it');
          throw error;
        });
        if (message === false) {
          if (!this.options.readSeed || markerRead)
            return { deliveries: [], deadLettered, settled: true, retryInMs: 100, ...(seed && { seed }) };
          // The marker counts only items the broker had confirmed: read before one more look at
          // the queue, a complete marker and an empty queue mean every item of the seed was taken.
          seed = await this.readSeed(connection);
          markerRead = true;
          continue;
        }
        this.state.claimedAny = true;
        const attempt = this.attemptOf(connection, message);
        const item = message.content.toString('utf8');
        if (attempt <= this.options.maxAttempts) {
          const traceContext = this.options.readTraceContext
            ? traceContextOfHeaders(message.properties.headers)
            : undefined;
          const delivery: AmqpDelivery = { item, attempt, message, connection, lost: connection.closed, traceContext };
          return { deliveries: [delivery], deadLettered, settled: false, retryInMs: 0 };
        }
        // Its earlier deliveries failed or ended without an answer (crashed or timed-out workers): dead-letter it untried.
        const deliveries = attempt - 1;
        const why = keptError(
          `delivered ${deliveries} times without an answer (its workers died, or outlasted the consumer timeout)`,
        );
        const published = await this.deadLetters.publish(message.content, deliveries, why);
        if (published) channel.ack(message);
        else channel.reject(message, false);
        deadLettered.push(item);
      }
    });
  }

  /**
   * Acks get no reply, so one round trip on the same channel follows them: the broker handles a
   * channel's frames in order, so its answer says the acks were taken. When the round trip fails
   * (a channel the broker closed first, on a consumer timeout; a connection lost, or a node killed,
   * after the acks were sent) whether they were taken is unknown: those items count as not
   * completed, and may be delivered again.
   */
  async complete(deliveries: readonly Delivery[]): Promise<number> {
    const acked: AmqpDelivery[] = [];
    let lost = 0;
    for (const delivery of deliveries as AmqpDelivery[]) {
      if (this.settle(delivery, (ch, message) => ch.ack(message))) acked.push(delivery);
      else {
        this.options.onLost(delivery.item, NOT_ACKNOWLEDGED);
        lost++;
      }
    }
    for (const connection of new Set(acked.map((delivery) => delivery.connection))) {
      const failure = await connection.channel.checkQueue(this.names.work).then(
        () => undefined,
        (error: unknown) => error,
      );
      if (failure === undefined) continue;
      const closedConnection = whyClosed(connection);
      const why =
        closedConnection === undefined
          ? `the channel closed (${describeCause(failure)})`
          : `the connection closed (${closedConnection})`;
      for (const delivery of acked.filter((d) => d.connection === connection)) {
        this.options.onLost(delivery.item, unconfirmed(why));
        lost++;
      }
    }
    return lost;
  }

  /**
   * A failed attempt with attempts left is a `basic.reject` with requeue. RabbitMQ counts it in
   * `x-delivery-count` on 3.10 through 4.3, where a nack with requeue no longer counts
   * (rabbitmq-server #15387); docs/worker.md says more. The last one is published to the
   * dead-letter queue with its record, then acknowledged; or, when that publish cannot be had
   * (see DeadLetterPublisher), rejected without requeue, which the broker dead-letters.
   */
  async fail(delivery: Delivery, error: string): Promise<FailOutcome> {
    const amqpDelivery = delivery as AmqpDelivery;
    if (delivery.attempt < this.options.maxAttempts)
      return this.settle(amqpDelivery, (ch, message) => ch.reject(message, true)) ? 'retry' : 'lost';
    if (amqpDelivery.connection.closed.aborted) return 'lost';
    const published = await this.deadLetters.publish(amqpDelivery.message.content, delivery.attempt, error);
    return this.settle(amqpDelivery, (ch, message) => (published ? ch.ack(message) : ch.reject(message, false)))
      ? 'dead'
      : 'lost';
  }

  release(deliveries: readonly Delivery[]): Promise<void> {
    // A nack with requeue: from RabbitMQ 4.3 it does not count as an attempt (before, it does).
    // On a closed connection there is nothing to do: the broker has taken them back.
    for (const delivery of deliveries as AmqpDelivery[])
      this.settle(delivery, (ch, message) => ch.nack(message, false, true));
    return Promise.resolve();
  }

  /** The consumer's connection first: its acknowledgements must not wait for the other's close. */
  async close(): Promise<void> {
    await this.connection.close();
    await this.deadLetters.close();
  }

  /**
   * The delivery's number: 1 plus the deliveries the quorum queue counted before it. A message
   * that is not what RabbitMQ sends (no bytes, a count that is not a whole number) means the peer
   * misbehaves: the connection is given up, as lost.
   */
  private attemptOf(connection: ConsumerConnection, message: GetMessage): number {
    const count: unknown = message.properties.headers?.['x-delivery-count'] ?? 0;
    if (!Buffer.isBuffer(message.content)) {
      throw connection.lose(
        new Error(`basic.get from ${this.names.work} answered with a message without content: not a broker's answer`),
      );
    }
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) {
      throw connection.lose(
        new Error(
          `basic.get from ${this.names.work} answered with x-delivery-count ${JSON.stringify(count)}, expected a whole number of at least 0: not a broker's answer`,
        ),
      );
    }
    return count + 1;
  }

  /**
   * On a channel of its own: the marker queue does not exist before the first seed, and reading a
   * missing queue closes the channel. It is not declared here: workers that declare a quorum queue
   * together may read it before its first declarer has started it, which the broker answers by
   * closing the connection.
   */
  private async readSeed({ model }: ConsumerConnection): Promise<SeedMarker | undefined> {
    try {
      const marker = await withChannel(model, (channel) => readMarker(channel, this.names.marker));
      return marker && { id: marker.id, total: marker.total, pushed: marker.pushed };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Acks or nacks on the delivery's own connection; false when that has closed. */
  private settle(
    { connection, message }: AmqpDelivery,
    action: (channel: Channel, message: GetMessage) => void,
  ): boolean {
    if (connection.closed.aborted) return false;
    try {
      action(connection.channel, message);
      return true;
    } catch {
      return false;
    }
  }
}
