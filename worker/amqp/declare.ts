import type { ConfirmChannel } from 'amqplib';
import { Env, ExitCode, amqpQueueNames, describeProblem } from '../contract';
import { CliError } from '../errors';
import { firstLine, refusedByBroker } from './connection';
import { deadLetterQueueOptions, seedMarkerQueueOptions, workQueueOptions } from './topology';

/** Declares the work and dead-letter queues (and for seeding the marker queue), as `work-queue` declares them. */
export async function declareQueues(channel: ConfirmChannel, queue: string, withMarker: boolean): Promise<void> {
  const names = amqpQueueNames(queue);
  try {
    await channel.assertQueue(names.work, workQueueOptions(queue));
    await channel.assertQueue(names.dead, deadLetterQueueOptions);
    if (withMarker) await channel.assertQueue(names.marker, seedMarkerQueueOptions);
  } catch (error) {
    if (!refusedByBroker(error)) throw error;
    throw new CliError(
      describeProblem(
        Env.queue,
        queue,
        `a queue name that is free or declared by work-queue (a durable quorum queue with dead-lettering, and ${names.dead}, ${names.marker}); the broker said: ${firstLine(error)}`,
      ),
      ExitCode.failed,
    );
  }
}
