/**
 * The worker image's interface as a pod spec sees it: environment variables, subcommands, modes,
 * defaults and exit codes. The constructs write these, the worker reads them.
 */
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

/** The OTLP protocols `seed` and `work` send traces with (OTEL_EXPORTER_OTLP_PROTOCOL); the first is the default, as OpenTelemetry specifies. */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

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

/** Where the restricted pods get a writable emptyDir (their root filesystem is read-only). */
export const SCRATCH_DIRECTORY = '/tmp';
