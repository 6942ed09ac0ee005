import { randomBytes } from 'node:crypto';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { DeadLetters } from '../contract';
import { openConfirmChannel, publishConfirmed } from './connection';

/** Each connection's confirm channel for dead letters, opened with the first one it sends. */
const channels = new WeakMap<ChannelModel, Promise<ConfirmChannel>>();

/**
 * Publishes a dead item to the dead-letter queue with its record (DeadLetters in ../contract.ts)
 * and resolves once the broker confirmed it; only then may its delivery be acknowledged, so that a
 * worker dying in between leaves at most a duplicate in dead, never a loss. The confirm channel is
 * the connection's second: the consumer's own channel stays without confirms (a round trip less
 * at start-up), and the first dead letter pays for opening this one.
 */
export async function publishDeadLetter(model: ChannelModel, deadQueue: string, content: Buffer, attempts: number, error: string): Promise<void> {
  let channel = channels.get(model);
  if (!channel) {
    channel = openConfirmChannel(model);
    channels.set(model, channel);
    channel.then(
      (opened) => opened.once('close', () => channels.delete(model)),
      () => channels.delete(model),
    );
  }
  const headers = { [DeadLetters.attemptsHeader]: attempts, [DeadLetters.errorHeader]: error, [DeadLetters.idHeader]: randomBytes(16).toString('hex') };
  await publishConfirmed(await channel, '', deadQueue, content, { persistent: true, headers });
}
