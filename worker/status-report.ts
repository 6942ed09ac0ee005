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
        ? { kind: 'redis', expiredLeases: s.expiredLeases! }
        : {
            kind: 'rabbitmq',
            replicas: replicas && 'leader' in replicas ? { leader: replicas.leader, members: replicas.members } : null,
            replicasUnreadable: replicas && 'unreadable' in replicas ? replicas.unreadable : null,
            note: s.note!,
          },
  };
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
