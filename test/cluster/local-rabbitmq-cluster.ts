import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Chart, Testing } from 'cdk8s';
import { RabbitMQStatefulSet } from '../../constructs';
import { Env, GENERATED_SECRET_BYTES } from '../../contract';
import type { RabbitMQInstall, RabbitMQTool } from './rabbitmq-install';

/** What a synthesized cluster gives its nodes: the cluster-formation config and the Erlang cookie. */
export interface SynthesizedCluster {
  /** The StatefulSet's name: nodes are `rabbit@<name>-N.<name>-nodes`. */
  readonly name: string;
  readonly replicas: number;
  /** `20-cluster.conf` of the ConfigMap `<name>-cluster`, as the pods mount it. */
  readonly clusterConf: string;
  /** The cookie of the Secret `<service>-erlang-cookie`. */
  readonly cookie: string;
  /** BROKER_REPLICAS as the broker's clients get it (its `clientEnv`). */
  readonly brokerReplicas: string;
}

/**
 * Synthesizes `new RabbitMQStatefulSet(chart, id, { name, replicas, ... })` and reads what its nodes
 * are formed from. The credentials are given, as random as the credentials Job would make them, so
 * that the cookie is in the synthesized Secret the nodes are started with.
 */
export function synthesizeCluster(name: string, replicas: number): SynthesizedCluster {
  const chart = new Chart(Testing.app(), 'broker');
  const generated = () => randomBytes(GENERATED_SECRET_BYTES).toString('base64url');
  const broker = new RabbitMQStatefulSet(chart, name, {
    name,
    replicas,
    password: generated(),
    erlangCookie: generated(),
  });
  const brokerReplicas = broker.clientEnv.find((variable) => variable.name === Env.brokerReplicas)?.value.value;
  const objects = chart.toJson() as {
    kind: string;
    metadata: { name: string };
    data?: Record<string, string>;
    stringData?: Record<string, string>;
  }[];
  const config = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${name}-cluster`);
  const cookie = objects.find((o) => o.kind === 'Secret' && o.metadata.name.endsWith('-erlang-cookie'));
  if (!config?.data?.['20-cluster.conf'] || !cookie?.stringData?.cookie || brokerReplicas === undefined) {
    throw new Error(
      `the synthesized broker has no ConfigMap ${name}-cluster with 20-cluster.conf, no Erlang cookie Secret or no ${Env.brokerReplicas} for its clients: ${objects.map((o) => `${o.kind} ${o.metadata.name}`).join(', ')}`,
    );
  }
  return {
    name,
    replicas,
    clusterConf: config.data['20-cluster.conf'],
    cookie: cookie.stringData.cookie,
    brokerReplicas,
  };
}

/**
 * The synthesized config with every node name mapped to a local one. Each `rabbit@<name>-N.<name>-nodes`
 * must occur and is replaced; anything left naming a pod would make the node look for a host that
 * does not exist here.
 */
export function localClusterConf(cluster: SynthesizedCluster, localName: (index: number) => string): string {
  let conf = cluster.clusterConf;
  for (let index = 0; index < cluster.replicas; index++) {
    const podNode = `rabbit@${cluster.name}-${index}.${cluster.name}-nodes`;
    if (!conf.includes(podNode)) throw new Error(`20-cluster.conf does not name ${podNode}:\n${conf}`);
    conf = conf.split(podNode).join(localName(index));
  }
  if (conf.includes(`${cluster.name}-nodes`)) throw new Error(`20-cluster.conf names a node left unmapped:\n${conf}`);
  return conf;
}

/** One local RabbitMQ node, in a directory of its own, started from its install's rabbitmq scripts. */
export class LocalNode {
  readonly nodeName: string;
  readonly amqpPort: number;
  /** Port of the management plugin's HTTP API, when the cluster enables it. */
  readonly managementPort?: number;
  private process?: ChildProcess;
  private output = '';

  /** `nodeName` is short, `<prefix>N@localhost`: epmd keys nodes by the prefix, which must differ from the system broker's `rabbit`. */
  constructor(
    nodeName: string,
    amqpPort: number,
    managementPort: number | undefined,
    private readonly install: RabbitMQInstall,
    private readonly env: Record<string, string>,
  ) {
    this.nodeName = nodeName;
    this.amqpPort = amqpPort;
    this.managementPort = managementPort;
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.amqpPort}`;
  }

  /** The management API's URL, for BROKER_MANAGEMENT_URL. */
  get managementUrl(): string {
    if (this.managementPort === undefined) throw new Error(`node ${this.nodeName} runs without the management plugin`);
    return `http://127.0.0.1:${this.managementPort}`;
  }

  /** Starts the node (its data kept from an earlier start) and waits until it serves clients. */
  async start(timeoutSeconds = 60): Promise<void> {
    this.output = '';
    // A process group of its own, so that kill() ends the Erlang VM and its helpers, not only the script.
    const child = this.install.spawn('rabbitmq-server', [], this.env);
    child.stdout!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.process = child;
    try {
      // `wait` waits for the pid file, then for the node to have started (await_startup alone
      // fails at once on a node that has not registered with epmd yet).
      await Promise.race([
        this.ctl(
          ['wait', this.env.RABBITMQ_PID_FILE, '--timeout', String(timeoutSeconds)],
          (timeoutSeconds + 10) * 1000,
        ),
        new Promise((_, reject) =>
          child.once('exit', (code, signal) => reject(new Error(`rabbitmq-server exited (${String(signal ?? code)})`))),
        ),
      ]);
    } catch (error) {
      throw new Error(
        `RabbitMQ node ${this.nodeName} (amqp ${this.amqpPort}) did not start: ${(error as Error).message}\nserver output:\n${this.output.slice(-3000)}`,
        { cause: error },
      );
    }
  }

  /** `kill -9` of the whole node: the Erlang VM gets no chance to tell the others. */
  kill(): void {
    if (this.process?.pid !== undefined && this.process.exitCode === null && this.process.signalCode === null) {
      try {
        process.kill(-this.process.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }

  /** Waits until the killed node's process has ended. */
  async exited(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  }

  /** rabbitmqctl against this node, with the cookie and the environment the node runs with. */
  async ctl(args: string[], timeoutMs = 30000): Promise<string> {
    return this.tool('rabbitmqctl', args, timeoutMs);
  }

  async tool(tool: Exclude<RabbitMQTool, 'rabbitmq-server'>, args: string[], timeoutMs = 30000): Promise<string> {
    return this.install.run(tool, ['-n', this.nodeName, ...args], this.env, timeoutMs);
  }
}

export interface LocalClusterOptions {
  /** Where the nodes' programs come from (RabbitMQ 3.10 or 4.0). */
  readonly install: RabbitMQInstall;
  /** Node names are `<install's namePrefix><prefix>N@localhost`. */
  readonly prefix: string;
  /** Each node's AMQP and distribution port, `[amqp, dist]`, and with a third the management plugin's HTTP port. */
  readonly ports: (readonly [number, number] | readonly [number, number, number])[];
  /**
   * rabbitmq.conf lines added for the local run only (the synthesized ones come first, the
   * install's quick-start lines next).
   * @default - none
   */
  readonly extraConf?: string[];
  /**
   * Each node's port for the rabbitmq_prometheus plugin, which the official image enables (and
   * RabbitMQStatefulSet scrapes on 15692); with it the node serves its metrics on 127.0.0.1 there.
   * @default - the plugin is off
   */
  readonly prometheusPorts?: readonly number[];
}

/**
 * Three (or `replicas`) local RabbitMQ nodes formed from a synthesized cluster's config: never the
 * system broker (its own name, its port 5672, its data and its rabbitmq-env.conf stay untouched).
 */
export class LocalCluster {
  readonly nodes: LocalNode[];
  /** The cluster's directory, where the test may put files of its own (on the host). */
  readonly dir: string;
  readonly conf: string;

  constructor(cluster: SynthesizedCluster, options: LocalClusterOptions) {
    const directory = options.install.makeDirectory();
    this.dir = directory.host;
    /** A path in the cluster's directory as the nodes see it. */
    const nodePath = (...parts: string[]) => path.posix.join(directory.node, ...parts);
    const nodeName = (index: number) => `${options.install.namePrefix}${options.prefix}${index}@localhost`;
    this.conf = [
      localClusterConf(cluster, nodeName),
      'loopback_users.guest = true',
      ...options.install.quickStartConf,
      ...(options.extraConf ?? []),
      '',
    ].join('\n');

    // The system's /etc/rabbitmq/rabbitmq-env.conf names the system node; this one names nothing.
    writeFileSync(path.join(this.dir, 'rabbitmq-env.conf'), '');
    mkdirSync(path.join(this.dir, 'home'));
    const cookieFile = path.join(this.dir, 'home', '.erlang.cookie');
    writeFileSync(cookieFile, cluster.cookie);
    chmodSync(cookieFile, 0o400);

    this.nodes = Array.from({ length: cluster.replicas }, (_, index) => {
      const nodeDir = `node${index}`;
      mkdirSync(path.join(this.dir, nodeDir, 'log'), { recursive: true });
      const name = nodeName(index);
      const managementPort = options.ports[index][2];
      const prometheusPort = options.prometheusPorts?.[index];
      // A config and plugins file per node: each plugin (the management plugin slows a node's start) only where a port is given for it.
      const plugins = [
        ...(managementPort === undefined
          ? []
          : [{ name: 'rabbitmq_management', conf: 'management', port: managementPort }]),
        ...(prometheusPort === undefined
          ? []
          : [{ name: 'rabbitmq_prometheus', conf: 'prometheus', port: prometheusPort }]),
      ];
      writeFileSync(
        path.join(this.dir, nodeDir, 'rabbitmq.conf'),
        this.conf +
          plugins.map(({ conf, port }) => `${conf}.tcp.ip = 127.0.0.1\n${conf}.tcp.port = ${port}\n`).join(''),
      );
      writeFileSync(
        path.join(this.dir, nodeDir, 'enabled_plugins'),
        `[${plugins.map(({ name }) => name).join(',')}].\n`,
      );
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        HOME: nodePath('home'),
        LANG: 'C.UTF-8',
        RABBITMQ_CONF_ENV_FILE: nodePath('rabbitmq-env.conf'),
        RABBITMQ_NODENAME: name,
        RABBITMQ_USE_LONGNAME: 'false',
        RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
        RABBITMQ_NODE_PORT: String(options.ports[index][0]),
        RABBITMQ_DIST_PORT: String(options.ports[index][1]),
        ERL_EPMD_ADDRESS: '127.0.0.1',
        RABBITMQ_SERVER_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
        RABBITMQ_CONFIG_FILE: nodePath(nodeDir, 'rabbitmq.conf'),
        RABBITMQ_ENABLED_PLUGINS_FILE: nodePath(nodeDir, 'enabled_plugins'),
        RABBITMQ_MNESIA_BASE: nodePath(nodeDir, 'mnesia'),
        RABBITMQ_LOG_BASE: nodePath(nodeDir, 'log'),
        RABBITMQ_PID_FILE: nodePath(nodeDir, 'pid'),
      };
      return new LocalNode(name, options.ports[index][0], managementPort, options.install, env);
    });
  }

  /** Starts every node at once, as `podManagementPolicy: Parallel` does. */
  async start(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.start()));
  }

  /** Kills every node and removes the directory; safe to call twice and after a failed start. */
  async stop(): Promise<void> {
    for (const node of this.nodes) node.kill();
    await Promise.all(this.nodes.map((node) => node.exited()));
    // The VM's helper processes may still be closing their files for a moment after the kill.
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }

  /** The running nodes as `node`'s cluster_status reports them. */
  async runningNodes(node: LocalNode): Promise<string[]> {
    const status = JSON.parse(await node.ctl(['cluster_status', '--formatter', 'json']));
    return [...status.running_nodes].sort();
  }
}
