import type { BrokerConfig } from './config';

/** One delivery of an item to this worker. Each broker adds what it needs to settle it. */
export interface Delivery {
  readonly item: string;
  /** 1 for the first delivery, counting redeliveries after failures and crashes. */
  readonly attempt: number;
}

export interface Claimed {
  readonly deliveries: Delivery[];
  /** Nothing pending and nothing in progress (as far as the broker can tell). */
  readonly settled: boolean;
  /** When nothing was claimed: how long to wait before asking again. */
  readonly retryInMs: number;
  /** Items moved to the dead-letter queue while claiming (their deliveries ran out in crashes). */
  readonly deadLettered: string[];
}

export type FailOutcome = 'retry' | 'dead' | 'lost';

/** What a queue knows about its items. `undefined` means the broker cannot tell. */
export interface QueueStatus {
  readonly pending: number;
  readonly inProgress?: number;
  readonly done?: number;
  /** In progress and done together, when the broker cannot tell them apart. */
  readonly taken?: number;
  readonly dead: number;
  /** Items put on the queue by `seed`, over all seed runs. */
  readonly seeded?: number;
  /** The seeding in progress or last finished. */
  readonly seed?: { readonly id: string; readonly total: number; readonly pushed: number };
  /** What the broker cannot tell, in words. */
  readonly note?: string;
}

export interface SeedMarker {
  readonly id: string;
  readonly total: number;
  /** Items of this seed run already on the queue. */
  readonly pushed: number;
}

/** What `seed` decides from the marker before publishing anything. */
export type SeedStart =
  | { readonly kind: 'fresh'; readonly from: 0 }
  | { readonly kind: 'resume'; readonly from: number }
  | { readonly kind: 'conflict'; readonly marker: SeedMarker };

export interface SeedOptions {
  readonly id: string;
  readonly force: boolean;
  /** Called whenever more items are confirmed on the queue, with the count of this run so far. */
  readonly onProgress: (pushed: number) => void;
}

/** The broker-neutral queue that `seed`, `work` and `status` are written against. */
export interface WorkQueue {
  /** Declares what the queue needs; reads the marker and decides where seeding starts. */
  beginSeed(items: readonly string[], options: SeedOptions): Promise<SeedStart>;
  /** Appends `items[from..]` crash-safely, so that a rerun resumes exactly where this one stopped. */
  seed(items: readonly string[], from: number, options: SeedOptions): Promise<void>;
  /** Takes up to `max` items, each leased to this worker until completed, failed or released. */
  claim(max: number): Promise<Claimed>;
  complete(deliveries: readonly Delivery[]): Promise<void>;
  /** The handler failed: retry later, or dead-letter when the attempts are used up. */
  fail(delivery: Delivery): Promise<FailOutcome>;
  /** Hands items back untouched (shutdown), without counting an attempt where the broker allows. */
  release(deliveries: readonly Delivery[]): Promise<void>;
  status(): Promise<QueueStatus>;
  close(): Promise<void>;
}

export interface QueueOptions {
  readonly leaseSeconds: number;
  readonly maxAttempts: number;
  /** Called when a lease could not be renewed because another worker took the item over. */
  readonly onLeaseLost?: (item: string) => void;
}

/** Connects to the broker named by the URL's scheme, loading only that broker's client. */
export async function openQueue(broker: BrokerConfig, queue: string, options: QueueOptions): Promise<WorkQueue> {
  if (broker.scheme === 'redis') {
    const { openRedisQueue } = await import('./redis/queue');
    return openRedisQueue(broker, queue, options);
  }
  const { openAmqpQueue } = await import('./amqp/queue');
  return openAmqpQueue(broker, queue, options);
}
