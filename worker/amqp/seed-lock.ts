import type { ChannelModel } from 'amqplib';
import { sleep } from '../sleep';
import { openChannel } from './connection';

const RESOURCE_LOCKED = 405;
const RETRY_MS = 250;

/**
 * Takes the seed lock of a queue: an exclusive queue, which the broker lets one connection hold
 * and deletes when that connection closes (also when it dies). Two seeders of one queue thus take
 * turns; the second then finds the first one's marker and adds only what is missing.
 */
export async function takeSeedLock(model: ChannelModel, lockQueue: string, onWait: () => void): Promise<void> {
  for (let waited = false; ; waited = true) {
    const channel = await openChannel(model);
    try {
      await channel.assertQueue(lockQueue, { exclusive: true, durable: false });
      await channel.close();
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== RESOURCE_LOCKED) throw error;
    }
    if (!waited) onWait();
    await sleep(RETRY_MS);
  }
}
