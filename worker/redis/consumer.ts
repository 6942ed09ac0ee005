import { randomBytes } from 'node:crypto';
import type { BrokerConfig } from '../config';
import { queueKeys, redisReplyKey } from '../../contract';
import { leaseLostByBroker, queueDataLost } from '../errors';
import type { Claimed, Consumer, ConsumerOptions, Delivery, FailOutcome } from '../queue';
import { traceContextOfStored } from '../trace-context';
import { brokerAt } from '../unreachable';
import { RedisConnection } from './connection';
import { type HeldToken, LeaseRenewer } from './lease-renewer';
import { CLAIM } from './scripts/claim';
import { COMPLETE } from './scripts/complete';
import { FAIL } from './scripts/fail';
import { RELEASE } from './scripts/release';

interface RedisDelivery extends Delivery, HeldToken {}

/**
 * The items' bytes after which a claim takes no more (it always takes one): a full batch of items
 * of the largest size `seed` accepts (64 of MAX_ITEM_BYTES), and a quarter of MAX_REPLY_BYTES, so
 * larger items pushed by other means are claimed a few at a time instead of ending the connection.
 */
const CLAIM_BYTES = 32 * 1024 * 1024;

const LEASE_TAKEN_OVER = 'its lease expired and another worker took it over: it may be processed twice';

export async function openRedisConsumer(
  broker: BrokerConfig,
  queue: string,
  options: ConsumerOptions,
): Promise<Consumer> {
  return new RedisConsumer(await RedisConnection.open(broker, options), broker, queue, options);
}

/**
 * The Redis side of `work`. Every call survives a lost connection: a repeated claim finds the
 * tokens its first run took (they are numbered by this worker), a repeated completion, failure or
 * release finds the reply its first run recorded. A worker that saw the queue (its seed marker, or
 * items it claimed) and then finds it gone reports that the broker lost the queue's data.
 */
class RedisConsumer implements Consumer {
  private readonly keys: ReturnType<typeof queueKeys>;
  /** Names this worker in its tokens (`<owner>#<n>`): the pod's host name, the pid and a random part. */
  private readonly owner = `${process.env.HOSTNAME ?? 'worker'}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly replyKey: string;
  private readonly leaseMs: number;
  private readonly replyTtlMs: number;
  private readonly renewer: LeaseRenewer;
  /** The next token number; a claim of up to `max` items reserves `max` numbers. */
  private nextToken = 1;
  /** Numbers the settling calls, so that a repeat is recognised. */
  private nextCall = 1;
  private sawMarker = false;
  private claimedAny = false;

  constructor(
    private readonly connection: RedisConnection,
    private readonly broker: BrokerConfig,
    private readonly queue: string,
    private readonly options: ConsumerOptions,
  ) {
    this.keys = queueKeys(queue);
    this.replyKey = redisReplyKey(queue, this.owner);
    this.leaseMs = Math.max(1, Math.round(options.leaseSeconds * 1000));
    this.replyTtlMs = Math.round(options.retrySeconds * 1000) + 60_000;
    this.renewer = new LeaseRenewer(connection, queue, this.leaseMs);
  }

  async claim(max: number): Promise<Claimed> {
    const { pending, processing, leases, dead, deadRecords, done, seed, traces } = this.keys;
    const first = this.nextToken;
    this.nextToken += max;
    let sentAt = Date.now();
    const [
      claimed,
      deadLettered,
      pendingCount,
      leaseCount,
      nextExpiry,
      markerExists,
      keysExisting,
      seedId,
      seedTotal,
      seedPushed,
      traceContexts,
    ] = await this.connection.run(CLAIM, (retried) => {
      sentAt = Date.now();
      return {
        keys: { pending, processing, leases, dead, deadRecords, done, seed, traces },
        args: {
          owner: this.owner,
          first,
          max,
          maxBytes: CLAIM_BYTES,
          leaseMs: this.leaseMs,
          maxAttempts: this.options.maxAttempts,
          recover: retried ? 1 : 0,
          traced: this.options.readTraceContext ? 1 : 0,
        },
      };
    });
    this.checkState(markerExists, keysExisting);
    const deliveries: RedisDelivery[] = claimed.map(([token, item, attempt], i) => ({
      token,
      item,
      attempt,
      lost: this.connection.gaveUp,
      leaseEnds: sentAt + this.leaseMs,
      traceContext: traceContextOfStored(traceContexts[i] ?? null),
    }));
    if (deliveries.length > 0) {
      this.claimedAny = true;
      this.renewer.hold(deliveries);
    }
    const marker = this.options.readSeed &&
      deliveries.length === 0 &&
      seedId !== null && { id: seedId, total: Number(seedTotal), pushed: Number(seedPushed) };
    return {
      deliveries,
      deadLettered,
      settled: pendingCount === 0 && leaseCount === 0,
      retryInMs: nextExpiry < 0 ? 100 : Math.min(Math.max(nextExpiry + 5, 20), 100),
      ...(marker && { seed: marker }),
    };
  }

  async complete(deliveries: readonly Delivery[]): Promise<number> {
    if (deliveries.length === 0) return 0;
    const tokens = this.renewer.forget(deliveries as RedisDelivery[]);
    const { pending, processing, leases, done, dead, seed } = this.keys;
    const call = this.nextCall++;
    let sentAt = Date.now();
    const [lost, markerExists, keysExisting] = await this.connection.run(COMPLETE, (retried) => {
      sentAt = Date.now();
      return {
        keys: { pending, processing, leases, done, dead, seed, reply: this.replyKey },
        args: { call, retry: retried ? 1 : 0, replyTtl: this.replyTtlMs, tokenList: tokens.join('\n') },
      };
    });
    this.checkState(markerExists, keysExisting);
    for (const token of lost) {
      const delivery = (deliveries as RedisDelivery[]).find((d) => d.token === token);
      const lostByRedis = delivery !== undefined && this.renewer.leasedAt(delivery, sentAt);
      this.options.onLost(
        delivery?.item ?? token,
        lostByRedis ? leaseLostByBroker(brokerAt(this.broker)) : LEASE_TAKEN_OVER,
      );
    }
    return lost.length;
  }

  async fail(delivery: Delivery, error: string): Promise<FailOutcome> {
    const [token] = this.renewer.forget([delivery as RedisDelivery]);
    const call = this.nextCall++;
    return this.connection.run(FAIL, (retried) => ({
      keys: {
        processing: this.keys.processing,
        leases: this.keys.leases,
        dead: this.keys.dead,
        deadRecords: this.keys.deadRecords,
        reply: this.replyKey,
      },
      args: {
        call,
        retry: retried ? 1 : 0,
        replyTtl: this.replyTtlMs,
        maxAttempts: this.options.maxAttempts,
        token,
        error,
      },
    }));
  }

  async release(deliveries: readonly Delivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    const tokens = this.renewer.forget(deliveries as RedisDelivery[]);
    const call = this.nextCall++;
    await this.connection.run(RELEASE, (retried) => ({
      keys: { processing: this.keys.processing, leases: this.keys.leases, reply: this.replyKey },
      args: { call, retry: retried ? 1 : 0, replyTtl: this.replyTtlMs, tokenList: tokens.join('\n') },
    }));
  }

  async close(): Promise<void> {
    this.renewer.stop();
    await this.connection.close();
  }

  /** Fails when the queue this worker saw is gone: its seed marker, or every key of a queue it claimed from. */
  private checkState(markerExists: number, keysExisting: number): void {
    if (this.sawMarker && !markerExists) {
      throw queueDataLost(this.queue, brokerAt(this.broker), `its seed marker ${this.keys.seed}, seen before, is gone`);
    }
    if (this.claimedAny && !keysExisting) {
      throw queueDataLost(
        this.queue,
        brokerAt(this.broker),
        `none of its keys is left, though this worker claimed items from it`,
      );
    }
    if (markerExists) this.sawMarker = true;
  }
}
