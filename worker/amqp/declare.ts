import type { Channel, ChannelModel, Options } from 'amqplib';
import { Env, ExitCode, amqpQueueNames, describeProblem } from '../../contract';
import { CliError } from '../errors';
import { refusedByBroker } from './broker-errors';
import { firstLine } from '../thrown';
import { withChannel } from './connection';
import {
  DELIVERY_LIMIT_ARGUMENT,
  GROUP_SIZE_ARGUMENT,
  deadLetterQueueOptions,
  seedMarkerQueueOptions,
  withGroupSize,
  workQueueOptions,
} from './topology';

export interface DeclareOptions {
  /**
   * The broker's node count (BROKER_REPLICAS): the members each quorum queue is created with.
   * @default - RabbitMQ picks the members
   */
  readonly replicas?: number;
  /** Also the seed marker queue (seeding). */
  readonly withMarker: boolean;
}

/** A connection and its channel, on which the queues are declared. */
interface DeclaringConnection {
  readonly model: ChannelModel;
  readonly channel: Channel;
}

/** Declares the work and dead-letter queues (and for seeding the marker queue), as `work-queue` declares them. */
export async function declareQueues(
  connection: DeclaringConnection,
  queue: string,
  { replicas, withMarker }: DeclareOptions,
): Promise<void> {
  const names = amqpQueueNames(queue);
  const queues: [string, Options.AssertQueue][] = [
    [names.work, workQueueOptions(queue)],
    [names.dead, deadLetterQueueOptions],
  ];
  if (withMarker) queues.push([names.marker, seedMarkerQueueOptions]);
  for (const [name, options] of queues) {
    try {
      if (name === names.dead) await declareDeadLetterQueue(connection.model, name, replicas);
      else await declareQueue(connection, name, options, replicas);
    } catch (error) {
      if (!refusedByBroker(error)) throw error;
      throw new CliError(
        describeProblem(
          Env.queue,
          queue,
          `${expectedQueues(queue)}; the broker said: ${firstLine(error)}${hint(queue, name, firstLine(error))}`,
        ),
        ExitCode.failed,
      );
    }
  }
}

/**
 * With a node count, on a channel of its own: a queue created while the broker had another node
 * count (or none was given) is refused for its group size alone, which closes the channel. Its
 * members were chosen when it was created (`rabbitmq-queues grow` adds members), so it is taken as
 * it is.
 */
async function declareQueue(
  { model, channel }: DeclaringConnection,
  name: string,
  options: Options.AssertQueue,
  replicas: number | undefined,
): Promise<void> {
  if (replicas === undefined) {
    await channel.assertQueue(name, options);
    return;
  }
  try {
    await withChannel(model, (alone) => alone.assertQueue(name, withGroupSize(options, replicas)));
  } catch (error) {
    if (!refusedByBroker(error) || !firstLine(error).includes(`'${GROUP_SIZE_ARGUMENT}'`)) throw error;
  }
}

/**
 * On a channel of its own: a dead-letter queue declared before it had its delivery limit is
 * refused for that argument alone (which closes the channel), and taken as it is; so is one
 * refused for its group size alone (see declareQueue). Returns whether it has the limit.
 */
export async function declareDeadLetterQueue(
  model: ChannelModel,
  name: string,
  replicas: number | undefined,
): Promise<boolean> {
  const options = replicas === undefined ? deadLetterQueueOptions : withGroupSize(deadLetterQueueOptions, replicas);
  try {
    await withChannel(model, (alone) => alone.assertQueue(name, options));
    return true;
  } catch (error) {
    const said = firstLine(error);
    if (!refusedByBroker(error)) throw error;
    if (said.includes(`'${DELIVERY_LIMIT_ARGUMENT}'`)) return false;
    if (replicas !== undefined && said.includes(`'${GROUP_SIZE_ARGUMENT}'`)) return true;
    throw error;
  }
}

function expectedQueues(queue: string): string {
  const names = amqpQueueNames(queue);
  return `a queue name that is free or declared by work-queue (a durable quorum queue with dead-lettering, and the quorum queues ${names.dead} and ${names.marker})`;
}

/** What to do about the refusals that have a known cause. */
function hint(queue: string, name: string, said: string): string {
  if (said.includes(`'${GROUP_SIZE_ARGUMENT}'`)) {
    return `; ${name} was created for a RabbitMQ cluster: set ${Env.brokerReplicas} to the broker's node count, as its other clients have it`;
  }
  if (name === amqpQueueNames(queue).marker && said.includes("'x-queue-type'")) {
    return `; ${name} is the seed marker of an earlier work-queue (a classic queue): delete it (rabbitmqctl delete_queue ${name}) once its seed is finished; the items on ${queue} stay, and the next seed starts afresh (the same items seeded again are added again)`;
  }
  return '';
}
