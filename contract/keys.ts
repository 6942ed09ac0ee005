/**
 * Where a seeded item carries the trace context of its seed run (W3C Trace Context): AMQP message
 * headers of these names; in Redis the `traces` hash of queueKeys holds it by item.
 */
export const TraceHeader = { parent: 'traceparent', state: 'tracestate' } as const;

/** How long Redis keeps the trace contexts of a queue's items after the last traced seed chunk (`traces` of queueKeys). */
export const TRACE_CONTEXT_TTL_MS = 7 * 24 * 3600 * 1000;

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
