import { connect, createServer, type AddressInfo, type Server, type Socket } from 'net';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IService } from 'kubernetes-models/v1/Service';
import { brokerGeneration } from './broker-generation';
import { gatePorts } from './service-gate';
import { ServiceNetwork } from './service-network';

/** A stand-in broker on 127.0.0.1 that echoes, and records whether its connections are still open. */
async function echoBroker(): Promise<{ server: Server; port: number; open: Set<Socket> }> {
  const open = new Set<Socket>();
  const server = createServer((socket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, open };
}

function service(name: string, port: number, targetPort: number | string, selector: Record<string, string>): IService {
  return { metadata: { name, namespace: 'default' }, spec: { ports: [{ port, targetPort }], selector } } as IService;
}

function statefulSet(labels: Record<string, string>, containerPort = 5672): IStatefulSet {
  return {
    metadata: { name: 'broker', namespace: 'default' },
    spec: {
      template: {
        metadata: { labels },
        spec: { containers: [{ name: 'broker', ports: [{ name: 'amqp', containerPort }] }] },
      },
    },
  } as unknown as IStatefulSet;
}

/** Connects, sends `ping` and resolves with the answer, or rejects with the socket's error code. */
function exchange(host: string, port: number, keep?: (socket: Socket) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port }, () => socket.write('ping'));
    socket.once('data', (data) => {
      if (keep) keep(socket);
      else socket.destroy();
      resolve(data.toString());
    });
    socket.once('error', (error: NodeJS.ErrnoException) => reject(new Error(error.code)));
  });
}

async function until(probe: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !probe(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(probe()).toBe(true);
}

describe('ServiceNetwork', () => {
  const network = new ServiceNetwork();
  let broker: Awaited<ReturnType<typeof echoBroker>>;
  const servicePort = 20000 + Math.floor(Math.random() * 20000);

  beforeAll(async () => {
    broker = await echoBroker();
    network.add(service('rabbitmq-service', servicePort, broker.port, { app: 'rabbitmq' }));
    network.add(service('other', servicePort, broker.port, { app: 'other' }));
  });
  afterAll(async () => {
    await network.close();
    await new Promise((resolve) => broker.server.close(resolve));
  });

  test('gives each Service an address of its own on the loopback, by every name a pod of its namespace uses', () => {
    const address = network.resolve('rabbitmq-service', 'default');
    expect(address).toMatch(/^127\.1\.\d+\.1$/);
    expect(network.resolve('rabbitmq-service.default.svc.cluster.local', 'default')).toBe(address);
    expect(network.resolve('rabbitmq-service', 'keda')).toBeUndefined();
    expect(network.resolve('rabbitmq-service.default.svc', 'keda')).toBe(address);
    expect(network.resolve('other', 'default')).not.toBe(address);
  });

  test('refuses connections until a StatefulSet it selects has booted, then forwards them to the broker', async () => {
    const address = network.resolve('rabbitmq-service', 'default')!;
    await expect(exchange(address, servicePort)).rejects.toThrow('ECONNREFUSED');
    network.open([statefulSet({ app: 'elsewhere' })]);
    await network.opened();
    await expect(exchange(address, servicePort)).rejects.toThrow('ECONNREFUSED');

    network.open([statefulSet({ app: 'rabbitmq', extra: 'label' })]);
    await network.opened();
    expect(await exchange(address, servicePort)).toBe('ping');
    // The Service that selects other pods stays closed.
    await expect(exchange(network.resolve('other', 'default')!, servicePort)).rejects.toThrow('ECONNREFUSED');
  });

  test('a client killed mid-connection ends its connection at the broker too, and the broker closing ends it at the client', async () => {
    const address = network.resolve('rabbitmq-service', 'default')!;
    let client: Socket | undefined;
    await exchange(address, servicePort, (socket) => (client = socket));
    await until(() => broker.open.size === 1);
    client!.destroy();
    await until(() => broker.open.size === 0);

    let closedAtClient = false;
    await exchange(address, servicePort, (socket) => socket.on('close', () => (closedAtClient = true)));
    await until(() => broker.open.size === 1);
    for (const socket of broker.open) socket.destroy();
    await until(() => closedAtClient);
  });
});

test("a network given the broker generation's ports forwards a Service to the local broker that serves its container port", async () => {
  const broker = await echoBroker();
  // The broker's container listens on 5672; the generation's RabbitMQ, here the echo broker, elsewhere.
  const network = new ServiceNetwork({
    backendPort: (containerPort) => (containerPort === 5672 ? broker.port : undefined),
  });
  const servicePort = 20000 + Math.floor(Math.random() * 20000);
  try {
    network.add(service('rabbitmq-service', servicePort, 'amqp', { app: 'rabbitmq' }));
    network.add(service('metrics', servicePort + 1, 15692, { app: 'rabbitmq' }));
    network.open([statefulSet({ app: 'rabbitmq' })]);
    await network.opened();
    expect(await exchange(network.resolve('rabbitmq-service', 'default')!, servicePort)).toBe('ping');
    // No local broker serves 15692: nothing listens behind that Service.
    await expect(exchange(network.resolve('metrics', 'default')!, servicePort + 1)).rejects.toThrow('ECONNREFUSED');
  } finally {
    await network.close();
    await new Promise((resolve) => broker.server.close(resolve));
  }
});

describe('gatePorts', () => {
  const itself = (containerPort: number) => containerPort;

  test('leads each Service port to its numeric targetPort, a named one to the container port of that name, none to the port itself', () => {
    const containers = statefulSet({}).spec!.template.spec!.containers;
    expect(
      gatePorts(
        {
          spec: { ports: [{ port: 5672, targetPort: 'amqp' }, { port: 6379, targetPort: 6380 }, { port: 15672 }] },
        } as IService,
        containers,
        itself,
      ),
    ).toEqual([
      { port: 5672, target: 5672 },
      { port: 6379, target: 6380 },
      { port: 15672, target: 15672 },
    ]);
  });

  test("leads the brokers' container ports to the generation's local brokers, and leaves out a port none of them serves", () => {
    const containers = statefulSet({}).spec!.template.spec!.containers;
    const ports = {
      spec: { ports: [{ port: 5672, targetPort: 'amqp' }, { port: 6379, targetPort: 6379 }, { port: 15672 }] },
    } as IService;
    expect(gatePorts(ports, containers, brokerGeneration('deployed').backendPort)).toEqual([
      { port: 5672, target: 5682 },
      { port: 6379, target: 6389 },
    ]);
    expect(gatePorts(ports, containers, brokerGeneration('machine').backendPort)).toEqual([
      { port: 5672, target: 5672 },
      { port: 6379, target: 6379 },
    ]);
  });

  test('fails for a targetPort that names no container port', () => {
    expect(() =>
      gatePorts(
        { metadata: { name: 'redis' }, spec: { ports: [{ port: 6379, targetPort: 'resp' }] } } as IService,
        [],
        itself,
      ),
    ).toThrow('Service redis: targetPort resp names no container port of the broker');
  });
});
