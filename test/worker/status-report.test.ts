import { STATUS_SCHEMA_VERSION } from '../../contract';
import type { RateEstimate } from '../../worker/completion-rate';
import type { QueueStatus } from '../../worker/queue';
import { formatRate, formatSeconds, redraw } from '../../worker/status';
import { statusReport } from '../../worker/status-report';
import schema from '../../contract/status.schema.json';
import { statusSchemaErrors } from '../status-schema';

const oneRead: RateEstimate = { itemsPerSecond: undefined, windowSeconds: 0, etaSeconds: undefined };
const sampledAt = new Date('2026-06-01T12:00:00.000Z');
const seed = { id: 'a'.repeat(32), total: 10, pushed: 10 };
const redis: QueueStatus = { pending: 3, inProgress: 1, done: 6, dead: 0, seeded: 10, seed, expiredLeases: 1 };
const rabbitmq: QueueStatus = {
  pending: 3,
  taken: 7,
  dead: 0,
  seeded: 10,
  seed,
  note: 'AMQP does not report unacknowledged messages',
};

describe('status --json', () => {
  test('the schema and the contract name the same version', () => {
    expect(schema.properties.schemaVersion.const).toBe(STATUS_SCHEMA_VERSION);
  });

  test('a Redis read: every count known, the expired leases among the broker details', () => {
    const report = statusReport({
      queueName: 'job2',
      scheme: 'redis',
      status: redis,
      replicas: undefined,
      rate: oneRead,
      sampledAt,
    });
    expect(statusSchemaErrors(report)).toEqual([]);
    expect(report).toMatchObject({
      inProgress: 1,
      done: 6,
      inProgressOrDone: 7,
      seedComplete: true,
      broker: { kind: 'redis', expiredLeases: 1 },
    });
    expect(report.rate).toEqual({ counts: 'finished', itemsPerSecond: null, windowSeconds: 0, etaSeconds: null });
  });

  test('a RabbitMQ read: in progress and done null, not left out; the replicas or why they are not known', () => {
    const replicas = { leader: 'rabbit@mq-1', members: ['rabbit@mq-0', 'rabbit@mq-1', 'rabbit@mq-2'] };
    const rate = { itemsPerSecond: 0.123456, windowSeconds: 20.0004, etaSeconds: 25 };
    const report = statusReport({ queueName: 'job1', scheme: 'amqp', status: rabbitmq, replicas, rate, sampledAt });
    expect(statusSchemaErrors(report)).toEqual([]);
    expect(JSON.parse(JSON.stringify(report))).toMatchObject({ inProgress: null, done: null, inProgressOrDone: 7 });
    expect(report.rate).toEqual({ counts: 'taken', itemsPerSecond: 0.123, windowSeconds: 20, etaSeconds: 25 });
    expect(report.broker).toEqual({ kind: 'rabbitmq', replicas, replicasUnreadable: null, note: rabbitmq.note });
    const unreadable = statusReport({
      queueName: 'job1',
      scheme: 'amqp',
      status: rabbitmq,
      replicas: { unreadable: 'why' },
      rate,
      sampledAt,
    });
    expect(unreadable.broker).toMatchObject({ replicas: null, replicasUnreadable: 'why' });
  });

  test('items pushed by hand: no seed, so seeded, seed and seedComplete are null', () => {
    const report = statusReport({
      queueName: 'q',
      scheme: 'amqp',
      status: { pending: 2, dead: 0, note: 'n' },
      replicas: undefined,
      rate: oneRead,
      sampledAt,
    });
    expect(statusSchemaErrors(report)).toEqual([]);
    expect(report).toMatchObject({ seeded: null, seed: null, seedComplete: null, inProgressOrDone: null });
  });

  test('fails the schema for a count left out, a guessed count on the wrong broker, or a field it does not know', () => {
    const report = statusReport({
      queueName: 'job2',
      scheme: 'redis',
      status: redis,
      replicas: undefined,
      rate: oneRead,
      sampledAt,
    });
    const { inProgress, ...withoutInProgress } = report;
    expect(inProgress).toBe(1);
    expect(statusSchemaErrors(withoutInProgress)).toEqual([
      expect.stringMatching(/must have required property 'inProgress'/),
    ]);
    expect(statusSchemaErrors({ ...report, extra: 1 })).toEqual([
      expect.stringMatching(/must NOT have additional properties/),
    ]);
    expect(statusSchemaErrors({ ...report, pending: -1 })).toEqual([expect.stringMatching(/^\/pending must be >= 0/)]);
  });
});

describe('the rate and ETA as status --watch shows them', () => {
  test('from the second read on: items/s on Redis, taken/s on RabbitMQ', () => {
    expect(formatRate(redis, oneRead)).toBe('');
    expect(formatRate(redis, { itemsPerSecond: 2.4567, windowSeconds: 20, etaSeconds: 64 })).toBe(
      ', 2.5 items/s, ETA 1m04s',
    );
    expect(formatRate(rabbitmq, { itemsPerSecond: 0.04, windowSeconds: 20, etaSeconds: 7325 })).toBe(
      ', 0.04 taken/s, ETA 2h02m',
    );
    expect(formatRate(redis, { itemsPerSecond: 0, windowSeconds: 20, etaSeconds: undefined })).toBe(
      ', 0 items/s, ETA unknown',
    );
    expect(formatSeconds(0)).toBe('0s');
    expect(formatSeconds(59)).toBe('59s');
  });

  test('on a terminal the rate goes before the bar when the row is narrow', () => {
    const rate = ', 2.5 items/s, ETA 2s';
    const counts = 'pending 3, in progress 1, done 6, dead 0 (seeded 10)';
    expect(redraw('job2', redis, 200, rate)).toBe(`[${'#'.repeat(18)}${'.'.repeat(12)}] queue job2: ${counts}${rate}`);
    expect(redraw('job2', redis, 90, rate)).toMatch(/^\[[#.]{5,}\] pending 3, .*\(seeded 10\), 2\.5 items\/s, ETA 2s$/);
    expect(redraw('job2', redis, 70, rate)).toMatch(/^\[[#.]{5,}\] pending 3, .*\(seeded 10\)$/);
    for (const columns of [200, 90, 70, 60, 30])
      expect(Array.from(redraw('job2', redis, columns, rate)).length).toBeLessThan(columns);
  });
});
