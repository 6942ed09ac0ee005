/**
 * `work-queue status --json`: one object per read of the queue (one line each, NDJSON, with
 * `--watch`). Its JSON Schema is `status.schema.json` beside this file (shipped as
 * `work-queue-stack/status.schema.json`); the fields and their meaning are documented there and in
 * docs/operations.md. A count the broker cannot tell is null, never left out or guessed.
 * `schemaVersion` changes whenever a field is added, removed or changes meaning.
 */
export const STATUS_SCHEMA_VERSION = 1;

export interface StatusReport {
  readonly schemaVersion: typeof STATUS_SCHEMA_VERSION;
  readonly queue: string;
  /** When the counts were read, ISO 8601 in UTC. */
  readonly sampledAt: string;
  /** Items waiting to be taken (Redis: with those whose lease ran out). */
  readonly pending: number;
  /** Items taken and not yet settled; null on RabbitMQ (AMQP does not tell unacknowledged messages). */
  readonly inProgress: number | null;
  /** Items completed; null on RabbitMQ. */
  readonly done: number | null;
  /** In progress and done together; on RabbitMQ seeded - pending - dead, null without a seed marker. */
  readonly inProgressOrDone: number | null;
  readonly dead: number;
  /** Items put on the queue by `seed`, over all its runs; null when no `seed` ran (items pushed by other means). */
  readonly seeded: number | null;
  /** The seed in progress or last finished; null when no `seed` ran. */
  readonly seed: { readonly id: string; readonly total: number; readonly pushed: number } | null;
  /** Whether that seed put all its items on the queue; null when no `seed` ran. */
  readonly seedComplete: boolean | null;
  readonly rate: {
    /** `finished`: done + dead per second (Redis); `taken`: items leaving the queue (pending) per second (RabbitMQ). */
    readonly counts: 'finished' | 'taken';
    /** Null until two reads (`--watch`), and when the count it is measured on is null. */
    readonly itemsPerSecond: number | null;
    /** Seconds between the first and last read the rate is measured over; 0 with one read. */
    readonly windowSeconds: number;
    /** Seconds until the remaining items (Redis: pending + in progress; RabbitMQ: pending) are through at that rate; 0 when none remain, null when not known. */
    readonly etaSeconds: number | null;
  };
  readonly broker: StatusReportRedis | StatusReportRabbitmq;
}

export interface StatusReportRedis {
  readonly kind: 'redis';
  /**
   * Leases that ran out (their worker stopped renewing them) or were given up (a failed attempt
   * awaiting its retry, an item handed back at shutdown): claimable again, counted in `pending` too.
   */
  readonly expiredLeases: number;
}

export interface StatusReportRabbitmq {
  readonly kind: 'rabbitmq';
  /** The quorum queue's leader and members (management API, read once per `status`), or null with `replicasUnreadable` saying why. */
  readonly replicas: { readonly leader: string; readonly members: readonly string[] } | null;
  readonly replicasUnreadable: string | null;
  /** What the broker cannot tell, in words. */
  readonly note: string;
}
