import { randomBytes } from 'node:crypto';
import type { BrokerConfig } from '../config';
import { DeadLetters as Record, queueKeys, redisReplyKey } from '../../contract';
import type { ConnectOptions, DeadItem, DeadLetters } from '../queue';
import { RedisConnection } from './connection';
import { DEAD_LIST } from './scripts/dead-list';
import { DEAD_MOVE } from './scripts/dead-move';
import { DEAD_PURGE } from './scripts/dead-purge';

export async function openRedisDeadLetters(
  broker: BrokerConfig,
  queue: string,
  options: ConnectOptions,
): Promise<DeadLetters> {
  return new RedisDeadLetters(await RedisConnection.open(broker, options), queue, options);
}

/**
 * The Redis side of `dead`: the dead list and its records (DeadLetters in contract/dead-letters.ts), read and
 * changed by scripts, so that an item and its record always go together.
 */
class RedisDeadLetters implements DeadLetters {
  private readonly keys: ReturnType<typeof queueKeys>;
  private readonly replyKey: string;
  private readonly replyTtlMs: number;
  private nextCall = 1;

  constructor(
    private readonly connection: RedisConnection,
    queue: string,
    options: ConnectOptions,
  ) {
    this.keys = queueKeys(queue);
    this.replyKey = redisReplyKey(queue, `dead:${process.pid}:${randomBytes(4).toString('hex')}`);
    this.replyTtlMs = Math.round(options.retrySeconds * 1000) + 60_000;
  }

  async count(): Promise<number> {
    const [length] = await this.read(0);
    return length;
  }

  async list(limit: number): Promise<DeadItem[]> {
    const [, items, records] = await this.read(limit);
    return matchRecords(items, records.map(parseRecord));
  }

  async move(max: number): Promise<DeadItem[]> {
    const call = this.nextCall++;
    const moved = await this.connection.run(DEAD_MOVE, (retried) => ({
      keys: {
        dead: this.keys.dead,
        deadRecords: this.keys.deadRecords,
        pending: this.keys.pending,
        reply: this.replyKey,
      },
      args: { call, retry: retried ? 1 : 0, replyTtl: this.replyTtlMs, max },
    }));
    return moved.map(([item, attempts, lastError]) =>
      lastError === null ? withoutRecord(item) : { item, attempts, lastError },
    );
  }

  purge(): Promise<number> {
    return this.connection.run(DEAD_PURGE, {
      keys: { dead: this.keys.dead, deadRecords: this.keys.deadRecords },
      args: {},
    });
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  private read(limit: number) {
    return this.connection.run(DEAD_LIST, {
      keys: { dead: this.keys.dead, deadRecords: this.keys.deadRecords },
      args: { limit },
    });
  }
}

interface DeadRecord {
  readonly attempts: number;
  readonly lastError: string;
  readonly item: string;
}

/** `<attempts>|<error length>|<error><item>`; the length counts bytes (Lua's), as the item's are. */
function parseRecord(record: string): DeadRecord {
  const bytes = Buffer.from(record, 'utf8');
  const bar = bytes.indexOf('|');
  const second = bytes.indexOf('|', bar + 1);
  const length = Number(bytes.subarray(bar + 1, second).toString());
  return {
    attempts: Number(bytes.subarray(0, bar).toString()),
    lastError: bytes.subarray(second + 1, second + 1 + length).toString('utf8'),
    item: bytes.subarray(second + 1 + length).toString('utf8'),
  };
}

/** Gives each record to the first dead item at or after the previous match that equals its item (the records are a subsequence of the list). */
export function matchRecords(items: readonly string[], records: readonly DeadRecord[]): DeadItem[] {
  let next = 0;
  return items.map((item) => {
    const record = records.at(next);
    if (record === undefined || record.item !== item) return withoutRecord(item);
    next++;
    return { item, attempts: record.attempts, lastError: record.lastError };
  });
}

/** On Redis every worker keeps a record: an item without one was pushed there by something else. */
function withoutRecord(item: string): DeadItem {
  return { item, notKept: Record.notKept.byHand };
}
