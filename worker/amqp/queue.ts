import { type ChannelModel, type ConfirmChannel, type GetMessage, type MessagePropertyHeaders, connect } from 'amqplib';
import { type BrokerConfig, tlsServerName } from '../config';
import { Env, ExitCode, amqpQueueNames, describeProblem } from '../contract';
import { CliError } from '../errors';
import type { Claimed, Delivery, FailOutcome, QueueOptions, QueueStatus, SeedOptions, SeedStart, WorkQueue } from '../queue';
import { connectError } from '../unreachable';
import { deadLetterQueueOptions, seedMarkerQueueOptions, workQueueOptions } from './topology';

interface AmqpDelivery extends Delivery {
  readonly message: GetMessage;
}

/** Publishes awaiting their confirm at any time while seeding. */
const SEED_WINDOW = 1000;
/** Progress is reported every so many confirms. */
const PROGRESS_EVERY = 500;

const Header = {
  id: 'x-seed-id',
  total: 'x-seed-total',
  index: 'x-seed-index',
  state: 'x-seed-state',
  seededBefore: 'x-seeded-before',
} as const;

export async function openAmqpQueue(broker: BrokerConfig, queue: string, options: QueueOptions): Promise<WorkQueue> {
  let model: ChannelModel;
  try {
    model = await connect(
      {
        protocol: broker.tls ? 'amqps' : 'amqp',
        hostname: broker.hostname,
        port: broker.port,
        username: broker.username ?? 'guest',
        password: broker.password ?? 'guest',
        vhost: broker.path,
        heartbeat: 30,
      },
      // Nagle plus delayed ACKs would stall each small frame; the pod's one item must not wait.
      // Over TLS the certificate is always verified, whatever NODE_TLS_REJECT_UNAUTHORIZED says.
      { noDelay: true, timeout: 5000, ...(broker.tls && { servername: tlsServerName(broker), rejectUnauthorized: true }) },
    );
  } catch (error) {
    throw connectError(broker, error);
  }
  model.on('error', () => {
    // Reported by the operation that fails next.
  });
  const channel = await model.createConfirmChannel();
  channel.on('error', () => {
    // Reported by the operation that fails next.
  });
  return new AmqpWorkQueue(model, channel, queue, options);
}

/** A marker read from the seed marker queue. */
interface MarkerState {
  readonly id: string;
  readonly total: number;
  readonly pushed: number;
  readonly seededBefore: number;
}

class AmqpWorkQueue implements WorkQueue {
  private readonly names: ReturnType<typeof amqpQueueNames>;
  private declared = false;
  private seededBefore = 0;

  constructor(
    private readonly model: ChannelModel,
    private readonly channel: ConfirmChannel,
    private readonly queue: string,
    private readonly options: QueueOptions,
  ) {
    this.names = amqpQueueNames(queue);
  }

  async beginSeed(items: readonly string[], options: SeedOptions): Promise<SeedStart> {
    await this.declare(true);
    const marker = await this.readMarker(this.channel);
    if (options.force || !marker || (marker.id !== options.id && marker.pushed === marker.total)) {
      this.seededBefore = marker ? marker.seededBefore + marker.pushed : 0;
      await this.publishMarker({ [Header.state]: 'started', [Header.id]: options.id, [Header.total]: items.length });
      return { kind: 'fresh', from: 0 };
    }
    this.seededBefore = marker.seededBefore;
    if (marker.id === options.id) return { kind: 'resume', from: marker.pushed };
    return { kind: 'conflict', marker };
  }

  async seed(items: readonly string[], from: number, options: SeedOptions): Promise<void> {
    const ch = this.channel;
    const total = items.length - from;
    await new Promise<void>((resolve, reject) => {
      let next = from;
      let inFlight = 0;
      let confirmed = 0;
      let waitingForDrain = false;
      let failed = false;
      const onConfirm = (error: unknown) => {
        inFlight--;
        if (failed) return;
        if (error) {
          failed = true;
          reject(new Error(`the broker refused a seeded item (${String(error)}); rerun seed to resume`));
          return;
        }
        confirmed++;
        if (confirmed === total) resolve();
        else {
          if (confirmed % PROGRESS_EVERY === 0) options.onProgress(from + confirmed);
          pump();
        }
      };
      const pump = () => {
        while (!waitingForDrain && next < items.length && inFlight < SEED_WINDOW) {
          const index = next++;
          inFlight++;
          const headers = { [Header.id]: options.id, [Header.index]: index, [Header.total]: items.length, [Header.seededBefore]: this.seededBefore };
          const written = ch.sendToQueue(this.names.work, Buffer.from(items[index], 'utf8'), { persistent: true, CC: this.names.marker, headers }, onConfirm);
          if (!written) {
            waitingForDrain = true;
            ch.once('drain', () => {
              waitingForDrain = false;
              pump();
            });
          }
        }
      };
      if (total === 0) resolve();
      else pump();
    });
    options.onProgress(items.length);
    await this.publishMarker({ [Header.state]: 'complete', [Header.id]: options.id, [Header.total]: items.length, [Header.seededBefore]: this.seededBefore });
  }

  async claim(): Promise<Claimed> {
    await this.declare(false);
    const deadLettered: string[] = [];
    for (;;) {
      const message = await this.channel.get(this.names.work, { noAck: false });
      if (message === false) return { deliveries: [], deadLettered, settled: true, retryInMs: 100 };
      const attempt = Number(message.properties.headers?.['x-delivery-count'] ?? 0) + 1;
      const item = message.content.toString('utf8');
      if (attempt <= this.options.maxAttempts) return { deliveries: [{ item, attempt, message } as AmqpDelivery], deadLettered, settled: false, retryInMs: 0 };
      // Its earlier deliveries ended without an answer (crashed workers): dead-letter it untried.
      this.channel.nack(message, false, false);
      deadLettered.push(item);
    }
  }

  async complete(deliveries: readonly Delivery[]): Promise<void> {
    for (const d of deliveries) this.channel.ack((d as AmqpDelivery).message);
  }

  async fail(delivery: Delivery): Promise<FailOutcome> {
    const { message, attempt } = delivery as AmqpDelivery;
    const dead = attempt >= this.options.maxAttempts;
    // requeue=false makes the broker dead-letter it through the queue's dead-letter settings.
    this.channel.nack(message, false, !dead);
    return dead ? 'dead' : 'retry';
  }

  async release(deliveries: readonly Delivery[]): Promise<void> {
    for (const d of deliveries) this.channel.nack((d as AmqpDelivery).message, false, true);
  }

  async status(): Promise<QueueStatus> {
    const [work, dead, marker] = await Promise.all([
      this.inspect(this.names.work),
      this.inspect(this.names.dead),
      this.withChannel((ch) => this.readMarker(ch)).catch(() => undefined),
    ]);
    if (work === undefined) {
      throw new CliError(describeProblem(Env.queue, this.queue, 'an existing queue; seed it or start a worker first'), ExitCode.failed);
    }
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
  }

  async close(): Promise<void> {
    try {
      // Channel first: on RabbitMQ 3.10 a connection closed right after an ack can lose the ack
      // to a quorum queue (the message comes back), while channel.close is ordered after it.
      await this.channel.close();
      await this.model.close();
    } catch {
      // Already closed: unacknowledged messages are requeued by the broker either way.
    }
  }

  /** Declares the work and dead-letter queues (and for seeding the marker queue) once. */
  private async declare(withMarker: boolean): Promise<void> {
    if (this.declared && !withMarker) return;
    try {
      await this.channel.assertQueue(this.names.work, workQueueOptions(this.queue));
      await this.channel.assertQueue(this.names.dead, deadLetterQueueOptions);
      if (withMarker) await this.channel.assertQueue(this.names.marker, seedMarkerQueueOptions);
      await this.channel.prefetch(1);
    } catch (error) {
      throw new CliError(
        describeProblem(
          Env.queue,
          this.queue,
          `a queue name that is free or declared by work-queue (a durable quorum queue with dead-lettering, and ${this.names.dead}, ${this.names.marker}); the broker said: ${firstLine(error)}`,
        ),
        ExitCode.failed,
      );
    }
    this.declared = true;
  }

  /** Peeks at the seed marker: takes it and puts it straight back. */
  private async readMarker(ch: ConfirmChannel): Promise<MarkerState | undefined> {
    const message = await ch.get(this.names.marker, { noAck: false });
    if (message === false) return undefined;
    ch.nack(message, false, true);
    return parseMarker(message.properties.headers ?? {});
  }

  private async publishMarker(headers: MessagePropertyHeaders): Promise<void> {
    this.channel.sendToQueue(this.names.marker, Buffer.alloc(0), { persistent: true, headers: { [Header.seededBefore]: this.seededBefore, ...headers } });
    await this.channel.waitForConfirms();
  }

  /** Message count of a queue, or undefined when it does not exist (which closes the channel it was asked on). */
  private async inspect(name: string): Promise<number | undefined> {
    try {
      return await this.withChannel(async (ch) => (await ch.checkQueue(name)).messageCount);
    } catch (error) {
      if (/NOT_FOUND|404/.test(String(error))) return undefined;
      throw error;
    }
  }

  private async withChannel<T>(use: (ch: ConfirmChannel) => Promise<T>): Promise<T> {
    const ch = await this.model.createConfirmChannel();
    ch.on('error', () => {
      // The failed operation reports it.
    });
    try {
      return await use(ch);
    } finally {
      await ch.close().catch(() => undefined);
    }
  }
}

function parseMarker(headers: MessagePropertyHeaders): MarkerState | undefined {
  const id = headers[Header.id];
  if (typeof id !== 'string') return undefined;
  const total = Number(headers[Header.total] ?? 0);
  const state = headers[Header.state];
  const pushed = state === 'complete' ? total : state === 'started' ? 0 : Number(headers[Header.index] ?? -1) + 1;
  return { id, total, pushed, seededBefore: Number(headers[Header.seededBefore] ?? 0) };
}

function firstLine(error: unknown): string {
  return String((error as Error)?.message ?? error).split('\n')[0];
}
