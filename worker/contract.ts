/**
 * The container contract: what the constructs write into pod specs and the worker reads back.
 *
 * This is the one module that both sides import (the constructs import nothing else from
 * `worker/`, the worker imports nothing from `constructs/`), so a rename cannot split them.
 * It must stay dependency-free: no cdk8s, no broker client (Node.js built-ins only).
 */
import { createHash } from 'node:crypto';

/** Environment variables of the worker image. */
export const Env = {
  /** `amqp[s]://user:pass@host:5672[/vhost]` or `redis[s]://[:pass@]host:6379[/db]`; the scheme picks the broker and TLS. */
  brokerUrl: 'BROKER_URL',
  /** Queue (AMQP) or list (Redis) name. */
  queue: 'QUEUE',
  /**
   * `single` (take one item, exit), `drain` (loop until the queue and all leases are empty) or
   * `indexed` (no broker: take item JOB_COMPLETION_INDEX of the files in ITEMS_DIRECTORY, exit).
   */
  workerMode: 'WORKER_MODE',
  /** Path of a JSON array of strings for `seed`. */
  itemsFile: 'ITEMS_FILE',
  /**
   * A directory of items split over files named `ItemFiles.fileName(first)`, each a JSON array of
   * strings whose first item has index `first` (the constructs project their items ConfigMaps
   * there): `seed` seeds them all, `work` with WORKER_MODE=indexed takes the item of its index.
   */
  itemsDirectory: 'ITEMS_DIRECTORY',
  /** Set by Kubernetes in each pod of an Indexed Job: the pod's index, the item it works on (WORKER_MODE=indexed). */
  jobCompletionIndex: 'JOB_COMPLETION_INDEX',
  /** Optional shell command run once per item with the item's bytes on stdin. */
  workCommand: 'WORK_COMMAND',
  /** Seconds of simulated work of the built-in handler. */
  workSeconds: 'WORK_SECONDS',
  /** Lease length in seconds (Redis). */
  leaseSeconds: 'LEASE_SECONDS',
  /** Deliveries before an item is dead-lettered. */
  maxAttempts: 'MAX_ATTEMPTS',
  /**
   * `work`: seconds one item's work may take; then the worker stops it (the command's whole process
   * group) and counts a failed attempt. Below the broker's consumer timeout (see `RetryBudget`).
   */
  workTimeoutSeconds: 'WORK_TIMEOUT_SECONDS',
  /** Broker user name, from a Secret; expanded into `BROKER_URL` as `$(BROKER_USERNAME)`. */
  brokerUsername: 'BROKER_USERNAME',
  /** Broker password, from a Secret; expanded into `BROKER_URL` as `$(BROKER_PASSWORD)`. */
  brokerPassword: 'BROKER_PASSWORD',
  /** Seconds a lost broker connection is retried (with backoff) before the CLI gives up with exit code 3. */
  brokerRetrySeconds: 'BROKER_RETRY_SECONDS',
  /**
   * RabbitMQ only, optional: the broker's node count; quorum queues are created with that many
   * members (`x-quorum-initial-group-size`). Unset, RabbitMQ picks the members itself.
   */
  brokerReplicas: 'BROKER_REPLICAS',
  /**
   * RabbitMQ only, optional, for `status`: the management plugin's HTTP API, `http[s]://host:15672`,
   * where it reads the quorum queue's leader and members; user and password default to BROKER_URL's.
   */
  brokerManagementUrl: 'BROKER_MANAGEMENT_URL',
  /**
   * `work`, optional: the seed (`seedId`) that fills the queue. Set, the worker takes an empty queue
   * as done only once the queue's seed marker shows this seed complete, and waits for it up to
   * `SEED_WAIT_SECONDS` (then exit code 4). Unset: an empty queue is done (a queue that another
   * producer fills).
   */
  seedId: 'SEED_ID',
  /** `work`: seconds an empty queue whose seed (`SEED_ID`) is not complete is waited for. */
  seedWaitSeconds: 'SEED_WAIT_SECONDS',
  /**
   * `seed`, optional: a label of this run of the items. The seed id is `seedId(items, run)`: the same
   * items with another run are a new seed, seeded again (a re-run of the batch).
   */
  seedRun: 'SEED_RUN',
  /** `credentials`: a JSON array of `GeneratedSecret`, the Secrets to create once in the pod's namespace. */
  credentials: 'CREDENTIALS',
  /**
   * `seed`, `work`, optional (OpenTelemetry's own variable): the OTLP/HTTP collector, such as
   * `http://otel-collector:4318`; set, they send traces to `<endpoint>/v1/traces` (docs/operations.md,
   * Traces). Unset (and no `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), nothing of OpenTelemetry is loaded.
   */
  otlpEndpoint: 'OTEL_EXPORTER_OTLP_ENDPOINT',
  /** `seed`, `work`, optional: the traces URL itself, used as it is; it wins over OTEL_EXPORTER_OTLP_ENDPOINT. */
  otlpTracesEndpoint: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  /** `seed`, `work`, optional: `http/protobuf` (the default) or `http/json`, how spans are encoded. */
  otlpProtocol: 'OTEL_EXPORTER_OTLP_PROTOCOL',
  /** `seed`, `work`, optional: the same for traces alone; it wins over OTEL_EXPORTER_OTLP_PROTOCOL. */
  otlpTracesProtocol: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  /** `seed`, `work`, optional: the spans' `service.name`; `work-queue` by default. */
  otelServiceName: 'OTEL_SERVICE_NAME',
  /** `seed`, `work`, optional: `true` turns tracing off whatever the endpoints say (OpenTelemetry's switch). */
  otelSdkDisabled: 'OTEL_SDK_DISABLED',
  /**
   * `work`, optional: where the termination message goes (`TerminationMessage`), for a container
   * whose `terminationMessagePath` is not Kubernetes' default `/dev/termination-log`. Unset, the
   * worker writes the default path only where the kubelet has mounted it (the file exists).
   */
  terminationMessagePath: 'TERMINATION_MESSAGE_PATH',
} as const;

export type EnvName = (typeof Env)[keyof typeof Env];

/** The worker image's subcommands. */
export const Command = {
  seed: 'seed',
  work: 'work',
  status: 'status',
  /** Creates the Secrets of `CREDENTIALS` in the cluster when they are missing; never changes one. */
  credentials: 'credentials',
  /** Lists, redrives (back to the queue) or purges the dead-letter queue/list. */
  dead: 'dead',
} as const;

/** Values of `WORKER_MODE`. */
export const WORKER_MODES = ['single', 'drain', 'indexed'] as const;
export type WorkerMode = (typeof WORKER_MODES)[number];

/** The supported brokers, named by their plain `BROKER_URL` scheme. */
export const BROKER_SCHEMES = ['amqp', 'redis'] as const;
export type BrokerScheme = (typeof BROKER_SCHEMES)[number];

/** The `BROKER_URL` scheme of each broker over TLS (`amqps://`, `rediss://`). */
export const TLS_SCHEMES: Record<BrokerScheme, string> = { amqp: 'amqps', redis: 'rediss' };

/** The `BROKER_URL` scheme for a broker, with or without TLS. */
export function brokerUrlScheme(scheme: BrokerScheme, tls: boolean): string {
  return tls ? TLS_SCHEMES[scheme] : scheme;
}

/**
 * The `BROKER_URL` scheme of a Redis whose primary clients ask Sentinel for:
 * `redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/<master name>[/<db>]`.
 */
export function sentinelUrlScheme(tls: boolean): string {
  return `${brokerUrlScheme('redis', tls)}+sentinel`;
}

/** The client port of a broker when `BROKER_URL` names none: AMQP's IANA ports, Redis' one port for both. */
export function defaultBrokerPort(scheme: BrokerScheme, tls: boolean): number {
  if (scheme === 'amqp') return tls ? Defaults.amqpsPort : Defaults.amqpPort;
  return Defaults.redisPort;
}

/**
 * Where a seeded item carries the trace context of its seed run (W3C Trace Context): AMQP message
 * headers of these names; in Redis the `traces` hash of queueKeys holds it by item.
 */
export const TraceHeader = { parent: 'traceparent', state: 'tracestate' } as const;

/** The OTLP protocols `seed` and `work` send traces with (OTEL_EXPORTER_OTLP_PROTOCOL); the first is the default, as OpenTelemetry specifies. */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** How long Redis keeps the trace contexts of a queue's items after the last traced seed chunk (`traces` of queueKeys). */
export const TRACE_CONTEXT_TTL_MS = 7 * 24 * 3600 * 1000;

/** Defaults the worker applies when a variable is unset; the constructs document and emit the same. */
export const Defaults = {
  workerMode: 'single' as WorkerMode,
  /** The tutorials simulate 10 seconds of work per item. */
  workSeconds: 10,
  leaseSeconds: 30,
  maxAttempts: 5,
  /**
   * 25 minutes: with RetryBudget.stopMarginSeconds it stays below RabbitMQ's own default consumer
   * timeout of 30 minutes, so a worker stops overlong work before the broker closes its channel.
   */
  workTimeoutSeconds: 1500,
  /** Long enough to ride out a broker restart or a pod being rescheduled. */
  brokerRetrySeconds: 60,
  /**
   * Fits a seeding Job that retries its broker: 5 pods (backoffLimit 4) of up to 60 s each
   * (BROKER_RETRY_SECONDS) with the Job controller's 10, 20, 40 and 80 s between them.
   */
  seedWaitSeconds: 600,
  amqpPort: 5672,
  amqpsPort: 5671,
  redisPort: 6379,
  /** Sentinel's port, in a `redis+sentinel://` URL that names none. */
  sentinelPort: 26379,
} as const;

/**
 * The parts of the retry budget that the worker and the constructs both rely on (docs/worker.md,
 * "The retry budget").
 */
export const RetryBudget = {
  /**
   * `x-delivery-limit` of every work queue (fixed: a changed argument makes RabbitMQ refuse the
   * declaration of an existing queue). The worker dead-letters an item itself after MAX_ATTEMPTS,
   * so MAX_ATTEMPTS must not exceed it; the broker's limit is only a safety net above it (RabbitMQ 4
   * would otherwise apply a default of 20).
   */
  amqpDeliveryLimit: 1000,
  /** RabbitMQ's `consumer_timeout` when nothing sets it (3.8.15 and later): 30 minutes. */
  rabbitmqDefaultConsumerTimeoutSeconds: 1800,
  /**
   * What the broker's consumer timeout must exceed WORK_TIMEOUT_SECONDS by: the command's TERM to
   * KILL grace (3 s), settling the item, and room for a busy node.
   */
  stopMarginSeconds: 60,
} as const;

/** Process exit codes of `work-queue`. */
export const ExitCode = {
  ok: 0,
  /** The handler failed or the run could not finish its work. */
  failed: 1,
  /**
   * A variable, argument or items file is malformed; nothing was touched. In an Indexed Job also
   * an index with no item (JOB_COMPLETION_INDEX outside the items of ITEMS_DIRECTORY): the Job's
   * pod failure policy fails that index at once (`FailIndex`) instead of retrying it.
   */
  badInput: 2,
  /**
   * The broker could not be reached at start-up (nothing was touched), or a lost connection could
   * not be re-established within `BROKER_RETRY_SECONDS` (what the worker held goes back to the
   * queue: Redis leases expire, RabbitMQ redelivers unacknowledged messages).
   */
  brokerUnreachable: 3,
  /**
   * `work` with `SEED_ID`: the queue stayed empty and its seed was not complete for
   * `SEED_WAIT_SECONDS` (no seeder ran, it failed, or it seeds other items). Nothing was taken.
   */
  seedIncomplete: 4,
  /** Stopped by SIGTERM/SIGINT before the work was finished (128 + SIGTERM); what it held was handed back. */
  interrupted: 143,
} as const;

/**
 * The id of a seed: a content hash of the item list (and of the run label, when there is one), so
 * that a re-run of the same list is recognised and a changed list, or another run, is a new seed.
 * The constructs compute it at synth for the workers' `SEED_ID`; `seed` computes it from its items.
 */
export function seedId(items: readonly string[], run?: string): string {
  const content = run === undefined || run === '' ? JSON.stringify(items) : JSON.stringify({ items, run });
  return createHash('sha256').update(content).digest('hex').slice(0, 32);
}

/** One Secret that `work-queue credentials` creates when it is missing (`CREDENTIALS` is a JSON array of them). */
export interface GeneratedSecret {
  /** The Secret's name in the pod's namespace. */
  readonly name: string;
  /** Keys with fixed values, such as a user name. */
  readonly values?: Readonly<Record<string, string>>;
  /** Keys given `GENERATED_SECRET_BYTES` random bytes each, base64url-encoded (URL-unreserved). */
  readonly generate: readonly string[];
  /** Labels of the created Secret. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Random bytes of a generated credential: 256 bits. */
export const GENERATED_SECRET_BYTES = 32;

/** Where the seeding Job and the Indexed Job mount their items ConfigMaps (ITEMS_DIRECTORY). */
export const ItemsMount = {
  directory: '/etc/work-queue',
} as const;

/**
 * How a Job's items reach its pods (ITEMS_DIRECTORY): split over files named `items-<first>.json`
 * (one per ConfigMap, all projected into one volume), each a JSON array of strings whose first item
 * has index `<first>`. `seed` reads them all, in order; a pod of an Indexed Job only the file that
 * holds its index: the one with the largest `first` not above it.
 */
export const ItemFiles = {
  fileName: (first: number): string => `items-${first}.json`,
  /** Matches a file name of `fileName`; group 1 is `first`. Other entries (the kubelet's `..data`) are not item files. */
  fileNamePattern: /^items-(0|[1-9][0-9]*)\.json$/,
  /** Largest file read: a ConfigMap holds at most 1 MiB. */
  maxFileBytes: 1024 * 1024,
} as const;

/** The limits of an Indexed Job's items (WORKER_MODE=indexed). */
export const IndexedItems = {
  /**
   * Most items of an Indexed Job: Kubernetes tracks at most 10^5 indexes of a Job with
   * `backoffLimitPerIndex` unless `maxFailedIndexes` is set, and a pod per item is a lot of pods.
   */
  maxItems: 100_000,
  /** Most bytes of items in all (JSON): every pod mounts every file, and the kubelet writes them into each pod's volume. */
  maxTotalBytes: 8 * 1024 * 1024,
} as const;

/** Where the restricted pods get a writable emptyDir (their root filesystem is read-only). */
export const SCRATCH_DIRECTORY = '/tmp';

/**
 * Names derived from a queue name. Redis: the pending list is the queue name itself (so the
 * tutorial's `rpush job2 ...` still feeds it); the other keys share the `{queue}` hash tag so a
 * Lua script may touch them all, also on Redis Cluster.
 *
 * A claimed item gets a unique token `<worker>#<n>` (n counted by the worker), so two equal items
 * are never confused: `processing` maps token -> "<deliveries so far>|<item>", `leases` is a sorted
 * set token -> lease deadline (ms); `done` counts completed items and `seed` is the seeding marker
 * (hash: id, total, pushed, seeded). `traces` exists only once a traced seed ran (tracing on): a
 * hash item -> "<traceparent>[\n<tracestate>]", the W3C trace context of the seed run that last
 * added that item, which a tracing worker reads with its claim; it expires TRACE_CONTEXT_TTL_MS after
 * the last traced seed chunk.
 */
export function queueKeys(queue: string) {
  const tag = `{${queue}}`;
  return {
    pending: queue,
    processing: `${tag}:processing`,
    leases: `${tag}:leases`,
    done: `${tag}:done`,
    seed: `${tag}:seed`,
    dead: `${queue}.dead`,
    traces: `${tag}:traces`,
    deadRecords: `${tag}:dead-records`,
  };
}

/**
 * What is kept with a dead item: its deliveries and the last error (the work command's outcome).
 *
 * Redis: the dead list keeps the plain items (as before, so `LRANGE <queue>.dead` still shows
 * them); the list `deadRecords` holds one record per item that a worker dead-lettered, in the same
 * order, `<attempts>|<error bytes>|<error><item>`. The records are a subsequence of the dead list
 * (items pushed there by hand have none), so each record is matched to the first dead item at or
 * after the previous match that equals its item; the scripts that take items off the dead list
 * take its record with it, in the same step.
 *
 * RabbitMQ: the worker publishes the dead item to the dead-letter queue itself, with the headers
 * below, on a connection of its own, and acknowledges the delivery once the broker confirmed it (a
 * worker that dies in between leaves the item also on the work queue: at most a duplicate in dead,
 * never a loss). While the broker blocks publishing (an alarm), or when the confirm is late, the
 * worker rejects the delivery instead and the broker dead-letters it: such items, and those the
 * broker dead-lettered at its delivery limit, carry none of the headers, only the broker's
 * `x-death`, which tells them apart (`notKept`); the broker keeps no count of their attempts there.
 */
export const DeadLetters = {
  attemptsHeader: 'x-work-queue-attempts',
  errorHeader: 'x-work-queue-last-error',
  /** RabbitMQ: a random id of each dead item the worker publishes, by which `dead redrive` recognises an item it moved already. */
  idHeader: 'x-work-queue-dead-id',
  /** The last error is cut to this many characters. */
  maxErrorLength: 500,
  /** Why a dead item has no record, as `dead list` says it (and its JSON's `notKept`). */
  notKept: {
    /** RabbitMQ: a worker rejected it, and the work queue's dead-lettering moved it (see DeadLetterPublisher). */
    byBrokerForWorker: 'dead-lettered by the broker for a worker, while publishing was blocked (a memory or disk alarm) or slow to confirm',
    /** RabbitMQ: deliveries no worker answered reached the work queue's delivery limit. */
    atDeliveryLimit: "dead-lettered by the broker at the work queue's delivery limit (deliveries no worker answered)",
    /** Pushed or published there by something else than a worker. */
    byHand: 'put there by hand, not by a worker',
  },
} as const;

/** A last error as it is kept with a dead item: one line, at most DeadLetters.maxErrorLength characters. */
export function keptError(error: string): string {
  const line = error.replace(/\s*\n\s*/g, ' ').trim();
  return line.length > DeadLetters.maxErrorLength ? `${line.slice(0, DeadLetters.maxErrorLength - 1)}…` : line;
}

/**
 * Redis key where a worker's last settling call (complete, fail, release) records its reply, so
 * that the call, repeated after a lost connection, is not applied twice. Expires on its own.
 */
export function redisReplyKey(queue: string, worker: string): string {
  return `{${queue}}:reply:${worker}`;
}

/** Redis key that counts the items one seed run added (another seeder of the same list adds the rest). Expires on its own. */
export function redisSeedRunKey(queue: string, run: string): string {
  return `{${queue}}:seed-run:${run}`;
}

/** AMQP queue that holds the seeding marker of a queue (one message: the last one seeded). */
export function seedMarkerQueue(queue: string): string {
  return `${queue}.seed`;
}

/** Dead-letter queue (AMQP) or list (Redis) of a queue. */
export function deadLetterQueue(queue: string): string {
  return queueKeys(queue).dead;
}

/**
 * Every AMQP queue that belongs to a work queue: the queue itself, its dead letters, its seed
 * marker, and the exclusive queue a seeder holds while it seeds (so two seeders take turns).
 */
export function amqpQueueNames(queue: string) {
  return {
    work: queue,
    dead: deadLetterQueue(queue),
    marker: seedMarkerQueue(queue),
    seedLock: `${queue}.seed-lock`,
    /** What `dead redrive` published to the work queue and has not yet taken off dead (see `amqpRedriveExchange`). */
    redriveJournal: `${queue}.redrive-journal`,
    /** An exclusive queue a redrive holds while it runs, so two redrives take turns. */
    redriveLock: `${queue}.redrive-lock`,
  };
}

/**
 * The direct exchange through which `dead redrive` publishes to a work queue: bound to the work
 * queue and to its redrive journal with the queue's name as routing key, so that one publish puts
 * the item on both or on neither.
 */
export function amqpRedriveExchange(queue: string): string {
  return `${queue}.redrive`;
}

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

// ---------------------------------------------------------------------------------------------
// Validation rules shared by construct props, stack config and the worker's start-up checks.
// Each rule returns undefined when the value is fine, or the text of what is expected.
// ---------------------------------------------------------------------------------------------

export type Rule<T = unknown> = (value: T) => string | undefined;

/** One place that words every validation failure: the field, the bad value, what is expected. */
export function describeProblem(field: string, value: unknown, expected: string): string {
  return `${field}: got ${showValue(value)}, expected ${expected}`;
}

function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') {
    return value.length > 80 ? `${JSON.stringify(value.slice(0, 80))}... (${value.length} characters)` : JSON.stringify(value);
  }
  if (Array.isArray(value)) return value.length > 5 ? `an array of ${value.length}` : JSON.stringify(value);
  if (typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    // A circular object: named by its kind.
    return Object.prototype.toString.call(value);
  }
}

/** Longest queue name: leaves room for suffixes such as `.dead` under AMQP's 255-byte limit. */
export const MAX_QUEUE_NAME_LENGTH = 200;
const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

/** A name both brokers accept unchanged: AMQP forbids the `amq.` prefix and names over 255 bytes. */
const queueNameRule: Rule = (value) => {
  const expected = `a queue name of 1 to ${MAX_QUEUE_NAME_LENGTH} characters from A-Z a-z 0-9 . _ : - starting with a letter or digit, not beginning with "amq."`;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_QUEUE_NAME_LENGTH) return expected;
  if (!QUEUE_NAME.test(value) || value.startsWith('amq.')) return expected;
  return undefined;
};

/** Largest item: larger payloads belong in object storage, with their key as the item. */
export const MAX_ITEM_BYTES = 512 * 1024;

/**
 * Largest ITEMS_FILE (or ITEMS_DIRECTORY in all) `seed` reads, checked before reading it: seeding holds the items in memory,
 * and its peak resident memory was measured at up to SEED_MEMORY_PER_FILE_BYTE times the file
 * over SEED_BASE_MEMORY_MIB (the worst case: RabbitMQ, many items of a few bytes; Redis about a
 * third of that). The seeder Job's default memory limit is derived from them.
 */
export const MAX_ITEMS_FILE_BYTES = 8 * 1024 * 1024;
export const SEED_MEMORY_PER_FILE_BYTE = 40;
export const SEED_BASE_MEMORY_MIB = 64;

/** A UTF-16 surrogate without its partner: what invalid UTF-8 becomes once read into a string (see `items.ts`). */
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * An item is any string that is valid UTF-8, the empty string included (items are opaque: the
 * broker carries it, the command gets empty input), of at most MAX_ITEM_BYTES.
 */
const itemRule: Rule = (value) => {
  if (typeof value !== 'string') return 'a string';
  if (UNPAIRED_SURROGATE.test(value)) return 'valid UTF-8 text (it holds bytes that are not UTF-8, or an unpaired UTF-16 surrogate)';
  if (Buffer.byteLength(value, 'utf8') > MAX_ITEM_BYTES) return `a string of at most ${MAX_ITEM_BYTES} bytes (512 KiB) in UTF-8`;
  return undefined;
};

/**
 * Checks a list of items. Returns the field suffix (`[3]`) and what is expected for the first bad
 * one, or undefined when all are fine.
 */
export function checkItems(items: unknown): { where: string; value: unknown; expected: string } | undefined {
  if (!Array.isArray(items)) return { where: '', value: items, expected: 'a JSON array of strings' };
  if (items.length === 0) return { where: '', value: items, expected: 'at least one item' };
  for (let i = 0; i < items.length; i++) {
    const expected = itemRule(items[i]);
    if (expected) return { where: `[${i}]`, value: items[i], expected };
  }
  return undefined;
}

/** Longest run label (SEED_RUN): a date or a ticket, as long as a Kubernetes label value may be. */
export const MAX_SEED_RUN_LENGTH = 63;

/**
 * A run label goes into the seed id exactly as given (the constructs hash it at synth, the seeder
 * in its pod), so it is checked rather than trimmed: printable ASCII, no space at either end.
 */
const seedRunRule: Rule = (value) =>
  typeof value === 'string' && value.length <= MAX_SEED_RUN_LENGTH && /^[!-~]([ -~]*[!-~])?$/.test(value)
    ? undefined
    : `a run label of 1 to ${MAX_SEED_RUN_LENGTH} printable ASCII characters (letters, digits, punctuation, inner spaces), such as 2024-06-01 or rerun-2; unset for the items' first run`;

const nonNegativeIntegerRule: Rule = (value) =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 ? undefined : 'a whole number of at least 0';

const positiveIntegerRule: Rule = (value) => (typeof value === 'number' && Number.isInteger(value) && value >= 1 ? undefined : 'a whole number of at least 1');

const nonNegativeNumberRule: Rule = (value) =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? undefined : 'a finite number of at least 0';

const positiveNumberRule: Rule = (value) => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? undefined : 'a finite number greater than 0');

/** Longest work timeout: Node.js timers hold at most 2^31 - 1 ms (24.8 days). */
export const MAX_WORK_TIMEOUT_SECONDS = 2_147_483;

const workTimeoutRule: Rule = (value) =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= MAX_WORK_TIMEOUT_SECONDS
    ? undefined
    : `a number of seconds greater than 0 and at most ${MAX_WORK_TIMEOUT_SECONDS} (24.8 days)`;

/** The name Sentinels know a replicated Redis' primary by, as a `redis+sentinel://` URL's path carries it. */
const sentinelMasterRule: Rule = (value) =>
  typeof value === 'string' && /^[A-Za-z0-9._-]{1,200}$/.test(value) ? undefined : 'a Sentinel master name of 1 to 200 letters, digits, ".", "_" or "-"';

/**
 * The rules that construct props, stack config and the worker's start-up checks share; the rules
 * only props have are `PropRules` in `constructs/validate.ts`.
 */
export const Rules = {
  queueName: queueNameRule,
  item: itemRule,
  seedRun: seedRunRule,
  positiveInteger: positiveIntegerRule,
  nonNegativeInteger: nonNegativeIntegerRule,
  positiveNumber: positiveNumberRule,
  nonNegativeNumber: nonNegativeNumberRule,
  workTimeout: workTimeoutRule,
  sentinelMaster: sentinelMasterRule,
} as const satisfies Record<string, Rule>;

/** Parses a numeric environment variable as the worker does; '' and unset give undefined. */
export function parseNumber(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  return /^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$/.test(text) ? Number(text) : NaN;
}
