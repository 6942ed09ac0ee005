import type { BrokerConfig } from './config';
import type { ConnectOptions, Consumer, ConsumerOptions, DeadLetters, Seeder, StatusReader } from './queue';

// Each broker's client is initialised only when BROKER_URL names that broker (the bundle turns
// these imports into lazy initialisers), and the implementations import only the interfaces in ./queue.

export async function openSeeder(broker: BrokerConfig, queue: string, options: ConnectOptions): Promise<Seeder> {
  if (broker.scheme === 'redis') return (await import('./redis/seeder')).openRedisSeeder(broker, queue, options);
  return (await import('./amqp/seeder')).openAmqpSeeder(broker, queue, options);
}

export async function openConsumer(broker: BrokerConfig, queue: string, options: ConsumerOptions): Promise<Consumer> {
  if (broker.scheme === 'redis') return (await import('./redis/consumer')).openRedisConsumer(broker, queue, options);
  return (await import('./amqp/consumer')).openAmqpConsumer(broker, queue, options);
}

export async function openStatusReader(
  broker: BrokerConfig,
  queue: string,
  options: ConnectOptions,
): Promise<StatusReader> {
  if (broker.scheme === 'redis')
    return (await import('./redis/status-reader')).openRedisStatusReader(broker, queue, options);
  return (await import('./amqp/status-reader')).openAmqpStatusReader(broker, queue, options);
}

export async function openDeadLetters(
  broker: BrokerConfig,
  queue: string,
  options: ConnectOptions,
): Promise<DeadLetters> {
  if (broker.scheme === 'redis')
    return (await import('./redis/dead-letters')).openRedisDeadLetters(broker, queue, options);
  return (await import('./amqp/dead-letters')).openAmqpDeadLetters(broker, queue, options);
}
