import { randomBytes } from 'node:crypto';
import { GENERATED_SECRET_BYTES } from '../../contract';
import { closedPort } from '../worker/helpers';
import { LocalCluster } from './local-rabbitmq-cluster';
import { RABBITMQ_INSTALLS, type RabbitMQInstall } from './rabbitmq-install';

/** A RabbitMQ node of a test's own: the url its clients use, rabbitmqctl against it, and its end. */
export interface OwnRabbitMQNode {
  readonly url: string;
  /** `http://127.0.0.1:<port>` of the rabbitmq_prometheus plugin; only for a node started with `prometheus`. */
  readonly metricsUrl?: string;
  ctl(args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export interface OwnRabbitMQNodeOptions {
  /**
   * Enable the rabbitmq_prometheus plugin (as the official image does) on a port of the node's own.
   * @default false
   */
  readonly prometheus?: boolean;
}

/** Starts a node of one broker generation with `conf` added to its rabbitmq.conf. */
export type StartOwnRabbitMQNode = (conf: string, options?: OwnRabbitMQNodeOptions) => Promise<OwnRabbitMQNode>;

/** A node of `install`, as a one-node LocalCluster (its file lists the one node). */
async function ownRabbitMQNode(
  install: RabbitMQInstall,
  conf: string,
  options: OwnRabbitMQNodeOptions = {},
): Promise<OwnRabbitMQNode> {
  await install.ready();
  const name = 'own';
  const prometheusPort = options.prometheus ? await closedPort() : undefined;
  const cluster = new LocalCluster(
    {
      name,
      replicas: 1,
      clusterConf: `cluster_formation.peer_discovery_backend = classic_config\ncluster_formation.classic_config.nodes.1 = rabbit@${name}-0.${name}-nodes\n${conf}`,
      cookie: randomBytes(GENERATED_SECRET_BYTES).toString('base64url'),
      brokerReplicas: '1',
    },
    {
      install,
      prefix: `own${process.pid}n`,
      ports: [[await closedPort(), await closedPort()]],
      ...(prometheusPort !== undefined && { prometheusPorts: [prometheusPort] }),
    },
  );
  try {
    await cluster.start();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  const [node] = cluster.nodes;
  return {
    url: node.url,
    ...(prometheusPort !== undefined && { metricsUrl: `http://127.0.0.1:${prometheusPort}` }),
    ctl: (args) => node.ctl(args),
    stop: () => cluster.stop(),
  };
}

/** Both generations, for `describe.each`: the machine's RabbitMQ 3.10 and the deployed 4.0 (from the Debian 13 root). */
export const OWN_RABBITMQ_NODES: [string, StartOwnRabbitMQNode][] = RABBITMQ_INSTALLS.map(([generation, install]) => [
  generation,
  (conf: string, options?: OwnRabbitMQNodeOptions) => ownRabbitMQNode(install, conf, options),
]);
