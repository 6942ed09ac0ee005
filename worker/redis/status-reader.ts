import type { BrokerConfig } from '../config';
import { queueKeys } from '../../contract';
import type { ConnectOptions, QueueStatus, StatusReader } from '../queue';
import { RedisConnection } from './connection';
import { STATUS } from './scripts/status';

export async function openRedisStatusReader(
  broker: BrokerConfig,
  queue: string,
  options: ConnectOptions,
): Promise<StatusReader> {
  return new RedisStatusReader(await RedisConnection.open(broker, options), queue);
}

/** The Redis side of `status`: every count in one script call. */
class RedisStatusReader implements StatusReader {
  constructor(
    private readonly connection: RedisConnection,
    private readonly queue: string,
  ) {}

  async status(): Promise<QueueStatus | undefined> {
    const { pending, processing, leases, done, dead, seed } = queueKeys(this.queue);
    const [keysExisting, pendingCount, inProgress, doneCount, deadCount, seeded, id, total, pushed, expiredLeases] =
      await this.connection.run(STATUS, {
        keys: { pending, processing, leases, done, dead, seed },
        args: {},
      });
    if (keysExisting === 0) return undefined;
    return {
      pending: pendingCount,
      inProgress,
      done: doneCount,
      dead: deadCount,
      seeded: seeded === null ? undefined : Number(seeded),
      seed: id === null ? undefined : { id, total: Number(total), pushed: Number(pushed) },
      expiredLeases,
    };
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}
