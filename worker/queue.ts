/**
 * The broker-neutral interfaces that `seed`, `work` and `status` are written against. The
 * implementations (`redis/`, `amqp/`) import this module; `open-queue.ts` loads them.
 */

/** One delivery of an item to this worker. Each broker adds what it needs to settle it. */
export interface Delivery {
  readonly item: string;
  /** 1 for the first delivery, counting redeliveries after failures and crashes. */
  readonly attempt: number;
  /**
   * Aborts when this delivery can no longer be settled by this worker (the broker takes it back),
   * with a `CliError` (exit code 3) as its reason: the item's command is then stopped.
   */
  readonly lost: AbortSignal;
}

export interface Claimed {
  readonly deliveries: Delivery[];
  /** Nothing pending and nothing in progress (as far as the broker can tell). */
  readonly settled: boolean;
  /** When nothing was claimed: how long to wait before asking again. */
  readonly retryInMs: number;
  /** Items moved to the dead-letter queue while claiming (their deliveries ran out in crashes). */
  readonly deadLettered: string[];
  /**
   * For a consumer opened with `readSeed`, when nothing was claimed: the queue's seed marker as it
   * stood when the claim found the queue empty (read with the claim or before its last look), so
   * that a complete marker and an empty queue together mean the seed's items are all taken.
   * Undefined: the queue has no marker, or it was not read.
   */
  readonly seed?: SeedMarker;
}

export type FailOutcome = 'retry' | 'dead' | 'lost';

/** Takes items and settles them: the `work` side. */
export interface Consumer {
  /** Takes up to `max` items, each leased to this worker until completed, failed or released. */
  claim(max: number): Promise<Claimed>;
  /**
   * Marks the items done; those this worker no longer held (or whose acknowledgement the broker
   * did not confirm) are reported through `onLost` and counted in the result.
   */
  complete(deliveries: readonly Delivery[]): Promise<number>;
  /** The handler failed: retry later, or dead-letter when the attempts are used up. */
  fail(delivery: Delivery): Promise<FailOutcome>;
  /** Hands items back untouched (shutdown), without counting an attempt where the broker allows. */
  release(deliveries: readonly Delivery[]): Promise<void>;
  close(): Promise<void>;
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
  /** Called whenever more items are confirmed on the queue, with the seed's count so far. */
  readonly onProgress: (pushed: number) => void;
}

/** Puts items on the queue exactly once per item list: the `seed` side. */
export interface Seeder {
  /** Declares what the queue needs; reads the marker and decides where seeding starts. */
  begin(items: readonly string[], options: SeedOptions): Promise<SeedStart>;
  /**
   * Appends `items[from..]` crash-safely, so that a rerun resumes exactly where this one stopped;
   * a lost connection is resumed the same way. Returns how many items this run added (another
   * seeder of the same list at the same time adds the others).
   */
  seed(items: readonly string[], from: number, options: SeedOptions): Promise<number>;
  close(): Promise<void>;
}

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
  /** Redis: leases that ran out or were given up (a failed attempt awaiting its retry, an item handed back), counted in `pending` too. */
  readonly expiredLeases?: number;
  /** What the broker cannot tell, in words. */
  readonly note?: string;
  /** The queue's replicas, where the broker has them (a RabbitMQ quorum queue): its leader and members, or why they could not be read. */
  readonly replicas?: QueueReplicas;
}

export type QueueReplicas = { readonly leader: string; readonly members: readonly string[] } | { readonly unreadable: string };

/** Reads a queue's counts: the `status` side. */
export interface StatusReader {
  /** The counts, or undefined when the queue does not exist (was never seeded nor worked on). */
  status(): Promise<QueueStatus | undefined>;
  close(): Promise<void>;
}

/** How every client treats its connection. */
export interface ConnectOptions {
  /** Seconds a lost connection is retried before giving up with exit code 3. */
  readonly retrySeconds: number;
  /** Which CLI process this is, for the broker's list of connections (`seed`, `work`, `status`). */
  readonly clientName: string;
  /**
   * Stops waiting for the broker (SIGTERM): what the process holds goes back to the queue as
   * leases expire or the broker redelivers, and it exits 143.
   */
  readonly signal?: AbortSignal;
  /** Where reconnection notices go. */
  readonly log: (line: string) => void;
}

export interface ConsumerOptions extends ConnectOptions {
  readonly leaseSeconds: number;
  readonly maxAttempts: number;
  /** Called for an item this worker finished but could not complete, with the reason in words. */
  readonly onLost: (item: string, reason: string) => void;
  /**
   * Report the seed marker with each claim that takes nothing (`Claimed.seed`): the worker waits
   * for its seed (SEED_ID). Off, no claim reads it.
   * @default false
   */
  readonly readSeed?: boolean;
}
