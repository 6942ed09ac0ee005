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
  /**
   * The trace context its seed run stored with it, read only by a consumer opened with `readTraceContext`.
   * @default - none: not read, or the item was seeded without tracing (or pushed by other means)
   */
  readonly traceContext?: TraceContext;
}

/** A W3C Trace Context as it travels with an item: the seed span's `traceparent`, and its `tracestate` if any. */
export interface TraceContext {
  readonly traceparent: string;
  readonly tracestate?: string;
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

/**
 * What became of one delivery in `work`: done, or failed (FailOutcome); `notCompleted` (done, but
 * its completion was not confirmed), `aborted` (handed back at shutdown), `disconnected` (its
 * connection closed while it ran: the broker gives it to another worker).
 */
export type DeliveryOutcome = 'done' | FailOutcome | 'notCompleted' | 'aborted' | 'disconnected';

/** Takes items and settles them: the `work` side. */
export interface Consumer {
  /** Takes up to `max` items, each leased to this worker until completed, failed or released. */
  claim(max: number): Promise<Claimed>;
  /**
   * Marks the items done; those this worker no longer held (or whose acknowledgement the broker
   * did not confirm) are reported through `onLost` and counted in the result.
   */
  complete(deliveries: readonly Delivery[]): Promise<number>;
  /**
   * The handler failed: retry later, or dead-letter when the attempts are used up, with `error`
   * (the attempt's outcome, `keptError`) kept beside the item.
   */
  fail(delivery: Delivery, error: string): Promise<FailOutcome>;
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
  /**
   * The seed span's context, stored with each item this run adds (tracing on).
   * @default - none: the items carry no trace context
   */
  readonly traceContext?: TraceContext;
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

export type QueueReplicas =
  { readonly leader: string; readonly members: readonly string[] } | { readonly unreadable: string };

/** Reads a queue's counts: the `status` side. */
export interface StatusReader {
  /** The counts, or undefined when the queue does not exist (was never seeded nor worked on). */
  status(): Promise<QueueStatus | undefined>;
  close(): Promise<void>;
}

/** An item of the dead-letter queue/list, with what was kept when it was dead-lettered. */
export interface DeadItem {
  readonly item: string;
  /** Deliveries it had; undefined when no record was kept (then `notKept` says why). */
  readonly attempts?: number;
  /** The last attempt's outcome; undefined as `attempts`. */
  readonly lastError?: string;
  /** Why it has no record, one of DeadLetters.notKept; undefined when it has one. */
  readonly notKept?: string;
}

/** The dead letters of a queue: the `dead` side. */
export interface DeadLetters {
  /** How many items are dead. */
  count(): Promise<number>;
  /** The first `limit` dead items, oldest first, without taking them. */
  list(limit: number): Promise<DeadItem[]>;
  /**
   * Moves up to `max` of the oldest dead items to the end of the work queue as new items (their
   * attempt count starts again), each exactly once even when the process dies at any point (on
   * RabbitMQ, an item without a record at most twice); returns those it moved (fewer when dead
   * has fewer).
   */
  move(max: number): Promise<DeadItem[]>;
  /** Deletes every dead item; returns how many there were. */
  purge(): Promise<number>;
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
  /**
   * Read each claimed item's trace context (`Delivery.traceContext`): the worker traces. Off, no
   * claim looks for it.
   * @default false
   */
  readonly readTraceContext?: boolean;
}
