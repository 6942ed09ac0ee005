/**
 * A broker Service as the pods reach it: its names resolve to an address of its own on the
 * loopback (Linux routes all of 127/8 to lo), where nothing listens until the broker behind it
 * has booted, so a client that connects earlier gets "connection refused", as from a Service
 * without ready endpoints. Once open, each of the Service's ports forwards to the local broker
 * that serves its container port on 127.0.0.1 (the broker generation's port for 5672 or 6379); a
 * connection closed on either side is closed on the other, so a killed pod's connection ends at
 * the broker too (RabbitMQ requeues its unacked message).
 */
import { createServer, connect, type Server, type Socket } from 'net';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IContainer } from 'kubernetes-models/v1/Container';

/** Where the local brokers listen, behind every gate. */
export const BACKEND_HOST = '127.0.0.1';

export interface GatePort {
  /** The Service's port: what clients connect to on the gate's address. */
  readonly port: number;
  /** The local broker's port on 127.0.0.1 that the container port behind it leads to. */
  readonly target: number;
}

/** Where a broker's container port leads on 127.0.0.1; undefined when no local broker serves it. */
export type BackendPort = (containerPort: number) => number | undefined;

/**
 * The Service's ports and where each leads: the container port (the numeric targetPort, or the
 * container port a named one names among the broker's) through `backendPort`. A port no local
 * broker serves is left out: the gate never listens there, so connections to it are refused.
 */
export function gatePorts(service: IService, containers: readonly IContainer[], backendPort: BackendPort): GatePort[] {
  return (service.spec?.ports ?? []).flatMap(({ port, targetPort }) => {
    const target = backendPort(containerPort(service, port, targetPort, containers));
    return target === undefined ? [] : [{ port, target }];
  });
}

function containerPort(
  service: IService,
  port: number,
  targetPort: number | string | undefined,
  containers: readonly IContainer[],
): number {
  if (targetPort === undefined) return port;
  if (typeof targetPort === 'number' || /^\d+$/.test(targetPort)) return Number(targetPort);
  const named = containers
    .flatMap((container) => container.ports ?? [])
    .find((candidate) => candidate.name === targetPort);
  if (!named)
    throw new Error(
      `Service ${String(service.metadata?.name)}: targetPort ${targetPort} names no container port of the broker`,
    );
  return named.containerPort;
}

export class ServiceGate {
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private opening?: Promise<void>;
  private closed = false;

  /** `address`: the loopback address the Service's names resolve to, this gate's alone. */
  constructor(
    readonly name: string,
    readonly address: string,
  ) {}

  get isOpen(): boolean {
    return this.opening !== undefined && !this.closed;
  }

  /** Starts listening on every port (the broker has booted); opening again does nothing. */
  open(ports: readonly GatePort[]): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.opening ??= Promise.all(ports.map((port) => this.listen(port))).then(() => undefined);
    return this.opening;
  }

  /** Stops listening and ends every forwarded connection. */
  async close(): Promise<void> {
    this.closed = true;
    await this.opening?.catch(() => undefined);
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(this.servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }

  private listen({ port, target }: GatePort): Promise<void> {
    const server = createServer((client) => this.forward(client, target));
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', (error) =>
        reject(new Error(`Service ${this.name}: cannot listen on ${this.address}:${port}: ${error.message}`)),
      );
      server.listen(port, this.address, () => resolve());
    });
  }

  private forward(client: Socket, target: number): void {
    if (this.closed) return void client.destroy();
    const broker = connect({ host: BACKEND_HOST, port: target });
    for (const socket of [client, broker]) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('error', () => undefined); // the other side is destroyed on close below
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        broker.destroy();
      });
    }
    client.pipe(broker);
    broker.pipe(client);
  }
}
