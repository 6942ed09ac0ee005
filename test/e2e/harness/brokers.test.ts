import { createServer, type AddressInfo } from 'net';
import type { BrokerGeneration } from './broker-generation';
import { requireBrokers } from './brokers';

/** A loopback port nothing listens on: one the kernel gave, closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('requireBrokers fails naming each broker that does not answer, its generation, host:port and how to start the brokers', async () => {
  const [amqpPort, redisPort] = [await closedPort(), await closedPort()];
  const generation: BrokerGeneration = {
    name: 'gone',
    description: 'gone (nothing on its ports)',
    amqpAdminUrl: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
    redisUrl: `redis://127.0.0.1:${redisPort}`,
    rabbitmqctl: ['rabbitmqctl'],
    backendPort: () => undefined,
  };
  await expect(requireBrokers([generation])).rejects.toThrow(
    `The e2e tests need RabbitMQ of the gone (nothing on its ports) generation on 127.0.0.1:${amqpPort} and Redis of the gone (nothing on its ports) generation on 127.0.0.1:${redisPort}, which do not answer. Run \`bash .ci/start-brokers\` (as root).`,
  );
});
