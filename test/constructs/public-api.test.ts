/**
 * The shape of the package's construct API: what `constructs/index.ts` exports, the brokers' one
 * source of scheme, host and port, and their read-only client environment. The `@ts-expect-error`
 * lines are checked by the compiler (ts-jest and `tsc --noEmit`): they fail once the line they
 * mark compiles.
 */
import type { Chart } from 'cdk8s';
import * as api from '../../constructs';
import { ExternalBroker, type IWorkQueueBroker, RabbitMQStatefulSet, RedisPod } from '../../constructs';
import { synth } from '../manifests';

/** One broker of each kind (a RabbitMQ cluster among them), built in one chart. */
function brokers(): Record<'rabbitmq' | 'redis' | 'external', IWorkQueueBroker> {
  let built: Record<'rabbitmq' | 'redis' | 'external', IWorkQueueBroker> | undefined;
  synth((chart: Chart) => {
    built = {
      rabbitmq: new RabbitMQStatefulSet(chart, 'rabbitmq', { replicas: 3, password: 'p', erlangCookie: 'c' }),
      redis: new RedisPod(chart, 'redis'),
      external: new ExternalBroker(chart, 'external', {
        scheme: 'redis',
        host: 'cache.example.com',
        port: 6380,
        tls: true,
      }),
    };
  });
  return built!;
}

describe('the construct API', () => {
  test('exports the constructs, not the base classes they are built on', () => {
    const exported = Object.keys(api);
    for (const construct of [
      'RabbitMQStatefulSet',
      'RedisPod',
      'ExternalBroker',
      'QueueSeeder',
      'WorkQueueJob',
      'ScaledWorkQueueJob',
      'IndexedWorkJob',
    ]) {
      expect(exported).toContain(construct);
    }
    expect(exported).not.toContain('WorkQueueBroker');
    expect(exported).not.toContain('WorkerJobBase');
  });

  test("a broker's scheme, host and port are its connection's, and nowhere beside it", () => {
    const { rabbitmq, redis, external } = brokers();
    expect(rabbitmq.connection).toMatchObject({ scheme: 'amqp', tls: false, host: 'rabbitmq-service', port: 5672 });
    expect(redis.connection).toMatchObject({ scheme: 'redis', tls: false, host: 'redis', port: 6379 });
    expect(external.connection).toMatchObject({ scheme: 'redis', tls: true, host: 'cache.example.com', port: 6380 });
    for (const broker of [rabbitmq, redis, external]) {
      for (const field of ['scheme', 'host', 'port', 'tls']) expect(broker).not.toHaveProperty(field);
    }
    // @ts-expect-error: the host is read from `connection`
    expect(redis.host).toBeUndefined();
  });

  test("a broker's client environment is complete once the broker is built, and read-only", () => {
    const { rabbitmq, redis, external } = brokers();
    expect(rabbitmq.clientEnv.map((variable) => variable.name)).toEqual([
      'BROKER_USERNAME',
      'BROKER_PASSWORD',
      'BROKER_URL',
      'BROKER_REPLICAS',
    ]);
    for (const broker of [rabbitmq, redis, external]) {
      expect(() => {
        // @ts-expect-error: no construct adds to a broker's client environment
        broker.clientEnv.push(broker.clientEnv[0]);
      }).toThrow(TypeError);
    }
  });
});
