import { type BrokerScheme, STATUS_SCHEMA_VERSION, type StatusReport } from '../contract';
import { type RateEstimate, rateBasis } from './completion-rate';
import type { QueueReplicas, QueueStatus } from './queue';

export interface ReportInput {
  readonly queueName: string;
  readonly scheme: BrokerScheme;
  readonly status: QueueStatus;
  /** As read with the first status (RabbitMQ reads them once). */
  readonly replicas: QueueReplicas | undefined;
  readonly rate: RateEstimate;
  readonly sampledAt: Date;
}

/**
 * `status --json`: one read as the documented object (`status.schema.json`), every unknown count
 * null. Each reader always sets its broker's own fields (Redis `expiredLeases`, RabbitMQ `note`).
 */
export function statusReport({ queueName, scheme, status: s, replicas, rate, sampledAt }: ReportInput): StatusReport {
  return {
    schemaVersion: STATUS_SCHEMA_VERSION,
    queue: queueName,
    sampledAt: sampledAt.toISOString(),
    pending: s.pending,
    inProgress: s.inProgress ?? null,
    done: s.done ?? null,
    inProgressOrDone: s.inProgress !== undefined && s.done !== undefined ? s.inProgress + s.done : (s.taken ?? null),
    dead: s.dead,
    seeded: s.seeded ?? null,
    seed: s.seed ? { id: s.seed.id, total: s.seed.total, pushed: s.seed.pushed } : null,
    seedComplete: s.seed ? s.seed.pushed >= s.seed.total : null,
    rate: {
      counts: rateBasis(s),
      itemsPerSecond: rate.itemsPerSecond === undefined ? null : round(rate.itemsPerSecond, 3),
      windowSeconds: round(rate.windowSeconds, 3),
      etaSeconds: rate.etaSeconds ?? null,
    },
    broker:
      scheme === 'redis'
        ? { kind: 'redis', expiredLeases: setByReader(s.expiredLeases, 'expiredLeases', scheme) }
        : {
            kind: 'rabbitmq',
            replicas: replicas && 'leader' in replicas ? { leader: replicas.leader, members: replicas.members } : null,
            replicasUnreadable: replicas && 'unreadable' in replicas ? replicas.unreadable : null,
            note: setByReader(s.note, 'note', scheme),
          },
  };
}

/** A field the reader of `scheme` always sets: its absence is a reader that broke that promise. */
function setByReader<T>(value: T | undefined, field: keyof QueueStatus, scheme: BrokerScheme): T {
  if (value === undefined)
    throw new Error(`the ${scheme} status reader left out ${field}, which status --json reports for it`);
  return value;
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
