import { randomBytes } from 'node:crypto';
import { RedisClient } from '@redis/client';
import type { RedisClientType } from 'redis';
import { type BrokerConfig, tlsServerName } from '../config';
import { queueKeys } from '../contract';
import type { Claimed, Delivery, FailOutcome, QueueOptions, QueueStatus, SeedOptions, SeedStart, WorkQueue } from '../queue';
import { connectError } from '../unreachable';
import { CLAIM, COMPLETE, FAIL, RELEASE, RENEW, SEED_BEGIN, SEED_CHUNK, STATUS } from './scripts';
import { ScriptRunner } from './scripts-runner';

interface RedisDelivery extends Delivery {
  readonly token: string;
}

/** Items per seeding chunk, and bytes, whichever is reached first. */
const SEED_CHUNK_ITEMS = 1000;
const SEED_CHUNK_BYTES = 1024 * 1024;
/** Chunks sent before the first reply is awaited. */
const SEED_WINDOW = 4;

export async function openRedisQueue(broker: BrokerConfig, queue: string, options: QueueOptions): Promise<WorkQueue> {
  // The core client of node-redis: `redis`'s createClient would also attach (and the bundle would
  // carry) the commands of every Redis module (search, JSON, ...), which costs start-up time.
  const socket = { host: broker.hostname, port: broker.port, connectTimeout: 5000, reconnectStrategy: false, noDelay: true } as const;
  const client = RedisClient.create({
    // Over TLS the certificate is always verified, whatever NODE_TLS_REJECT_UNAUTHORIZED says.
    socket: broker.tls ? { ...socket, tls: true, servername: tlsServerName(broker), rejectUnauthorized: true } : socket,
    username: broker.username,
    password: broker.password,
    database: Number(broker.path),
    disableClientInfo: true,
  }) as RedisClientType;
  let lastError: Error | undefined;
  client.on('error', (error: Error) => {
    lastError = error;
  });
  try {
    await client.connect();
  } catch (error) {
    throw connectError(broker, lastError ?? error);
  }
  return new RedisWorkQueue(client, queue, options);
}

class RedisWorkQueue implements WorkQueue {
  private readonly keys: ReturnType<typeof queueKeys>;
  private readonly scripts: ScriptRunner;
  /** Names this worker in its tokens (`<owner>#<n>`): the pod's host name, the pid and a random part. */
  private readonly owner = `${process.env.HOSTNAME ?? 'worker'}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly leaseMs: number;
  /** Tokens this worker holds, renewed together while it works. */
  private readonly held = new Map<string, RedisDelivery>();
  private renewTimer?: NodeJS.Timeout;

  constructor(
    private readonly client: RedisClientType,
    queue: string,
    private readonly options: QueueOptions,
  ) {
    this.keys = queueKeys(queue);
    this.scripts = new ScriptRunner(client);
    this.leaseMs = Math.max(1, Math.round(options.leaseSeconds * 1000));
  }

  async beginSeed(items: readonly string[], options: SeedOptions): Promise<SeedStart> {
    const reply = (await this.scripts.run(SEED_BEGIN, [this.keys.seed], [options.id, items.length, options.force ? 1 : 0])) as string[];
    if (reply[0] === 'fresh') return { kind: 'fresh', from: 0 };
    if (reply[0] === 'resume') return { kind: 'resume', from: Number(reply[1]) };
    return { kind: 'conflict', marker: { id: reply[1], total: Number(reply[2]), pushed: Number(reply[3]) } };
  }

  async seed(items: readonly string[], from: number, options: SeedOptions): Promise<void> {
    let next = from;
    while (next < items.length) {
      // A window of chunks in flight: each checks the marker's count, so order and exactness hold.
      const sends: Promise<number>[] = [];
      let offset = next;
      for (let w = 0; w < SEED_WINDOW && offset < items.length; w++) {
        const end = chunkEnd(items, offset);
        sends.push(this.scripts.run(SEED_CHUNK, [this.keys.pending, this.keys.seed], [options.id, offset, ...items.slice(offset, end)]) as Promise<number>);
        offset = end;
      }
      for (const pushed of await Promise.all(sends)) {
        if (pushed < 0) throw new Error(`another seed run replaced this one's marker on ${this.keys.seed}; nothing more added`);
        next = Math.max(next, pushed);
      }
      options.onProgress(next);
    }
  }

  async claim(max: number): Promise<Claimed> {
    const k = this.keys;
    const [claimed, dead, pending, leases, nextExpiry] = (await this.scripts.run(
      CLAIM,
      [k.pending, k.processing, k.leases, k.dead, k.sequence],
      [this.owner, max, this.leaseMs, this.options.maxAttempts],
    )) as [string[] | number[], string[], number, number, number];
    const deliveries: RedisDelivery[] = [];
    for (let i = 0; i < claimed.length; i += 3) {
      const delivery = { token: String(claimed[i]), item: String(claimed[i + 1]), attempt: Number(claimed[i + 2]) };
      deliveries.push(delivery);
      this.held.set(delivery.token, delivery);
    }
    if (deliveries.length > 0) this.startRenewing();
    return {
      deliveries,
      deadLettered: dead,
      settled: pending === 0 && leases === 0,
      retryInMs: nextExpiry < 0 ? 100 : Math.min(Math.max(nextExpiry + 5, 20), 100),
    };
  }

  async complete(deliveries: readonly Delivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    const tokens = this.forget(deliveries);
    const k = this.keys;
    const lost = (await this.scripts.run(COMPLETE, [k.processing, k.leases, k.done], [tokens.join('\n')])) as string[];
    for (const token of lost) {
      const item = deliveries.find((d) => (d as RedisDelivery).token === token)?.item ?? token;
      this.options.onLeaseLost?.(item);
    }
  }

  async fail(delivery: Delivery): Promise<FailOutcome> {
    const [token] = this.forget([delivery]);
    const k = this.keys;
    return (await this.scripts.run(FAIL, [k.processing, k.leases, k.dead], [this.options.maxAttempts, token])) as FailOutcome;
  }

  async release(deliveries: readonly Delivery[]): Promise<void> {
    if (deliveries.length === 0) return;
    const tokens = this.forget(deliveries);
    await this.scripts.run(RELEASE, [this.keys.processing, this.keys.leases], [tokens.join('\n')]);
  }

  async status(): Promise<QueueStatus> {
    const k = this.keys;
    const [pending, inProgress, done, dead, seeded, id, total, pushed] = (await this.scripts.run(STATUS, [k.pending, k.leases, k.done, k.dead, k.seed], [])) as (
      | number
      | string
      | null
    )[];
    return {
      pending: Number(pending),
      inProgress: Number(inProgress),
      done: Number(done),
      dead: Number(dead),
      seeded: seeded === null ? undefined : Number(seeded),
      seed: id === null ? undefined : { id: String(id), total: Number(total), pushed: Number(pushed) },
    };
  }

  async close(): Promise<void> {
    clearInterval(this.renewTimer);
    if (this.client.isOpen) await this.client.close();
  }

  private forget(deliveries: readonly Delivery[]): string[] {
    return deliveries.map((d) => {
      const { token } = d as RedisDelivery;
      this.held.delete(token);
      return token;
    });
  }

  /** Renews every held lease at a third of the lease length, in one call. */
  private startRenewing(): void {
    if (this.renewTimer) return;
    this.renewTimer = setInterval(() => void this.renew(), Math.max(50, this.leaseMs / 3));
    this.renewTimer.unref();
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0 || !this.client.isReady) return;
    const tokens = [...this.held.keys()];
    try {
      const lost = (await this.scripts.run(RENEW, [this.keys.leases], [this.leaseMs, tokens.join('\n')])) as string[];
      for (const token of lost) {
        const delivery = this.held.get(token);
        if (delivery) this.options.onLeaseLost?.(delivery.item);
      }
    } catch {
      // The next renewal or the completion reports a broken connection.
    }
  }
}

function chunkEnd(items: readonly string[], start: number): number {
  let bytes = 0;
  let end = start;
  while (end < items.length && end - start < SEED_CHUNK_ITEMS) {
    bytes += Buffer.byteLength(items[end], 'utf8');
    if (bytes > SEED_CHUNK_BYTES && end > start) break;
    end++;
  }
  return end;
}
