import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { type Construct } from 'constructs';
import {
  Defaults,
  describeProblem,
  Env,
  type GeneratedSecret,
  PropRules,
  RetryBudget,
  Rules,
  SECRET_SHOWN_AS,
} from '../contract';
import { addClusterParts } from './broker-cluster';
import { SecretKeys } from './broker-credentials';
import { type MetricsEndpoint } from './broker-metrics';
import { InClusterCredentials } from './in-cluster-credentials';
import { appLabels } from './labels';
import { containerResources } from './resources';
import { hardenedContainer } from './security';
import { check, checkDuration, checkSecret, checkSize, fail } from './validate';
import { WorkQueueBroker, type WorkQueueBrokerProps } from './work-queue-broker';

export interface RabbitMQStatefulSetProps extends WorkQueueBrokerProps {
  /**
   * Name of the StatefulSet; its pods are `<name>-0`, `<name>-1`, ...
   * @default 'rabbitmq'
   */
  readonly name?: string;
  /**
   * RabbitMQ nodes: 1, or an odd number of at least 3 that form one cluster. Quorum queues then
   * keep a replica on every node and go on while a majority of them is up.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * The Erlang cookie the nodes of a cluster share (replicas of 3 or more), kept in a Secret
   * `<serviceName>-erlang-cookie`. Nodes with different cookies cannot talk, so it must never
   * change (Pulumi keeps a generated one in its state). Given, it appears in the manifests.
   * @default - a random cookie created once inside the cluster by the credentials Job (see `workerImage`)
   */
  readonly erlangCookie?: string;
  /**
   * The worker image, for the Job that creates the credentials this broker generates (the
   * password without `password` or `existingSecretName`, the cookie of a cluster without
   * `erlangCookie`) once, inside the cluster: `work-queue credentials`, with a ServiceAccount
   * that may create Secrets and read only these by name.
   * Not used when the props give every credential.
   * @default - the image of the first client Job this broker admits (a synth error names
   *   workerImage when there is none and credentials are to be generated)
   */
  readonly workerImage?: string;
  /**
   * Size of each node's PersistentVolumeClaim for `/var/lib/rabbitmq`.
   * @default Size.gibibytes(1)
   */
  readonly storage?: Size;
  /**
   * StorageClass of the PersistentVolumeClaims.
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;
  /**
   * How long a delivery may stay unacknowledged before RabbitMQ closes the channel that holds it
   * (`consumer_timeout` in a conf.d file of the nodes; RabbitMQ checks it about once a minute);
   * whole seconds. It must exceed the workers' `workTimeout` by 60 s, which synth checks: the
   * worker stops overlong work itself and counts a failed attempt, and this only catches a worker
   * that hangs.
   * @default Duration.minutes(30) (RabbitMQ's own default)
   */
  readonly consumerTimeout?: Duration;
  /**
   * User the broker creates on first boot; the clients use it.
   * @default 'work-queue' (not with `existingSecretName`, whose Secret names the user)
   */
  readonly username?: string;
}

/** The official image runs RabbitMQ as this user; running as it from the start needs no root step. */
const RABBITMQ_UID = 999;
const DATA_DIRECTORY = '/var/lib/rabbitmq';
/** Erlang's port mapper and the inter-node distribution port of the official image. */
const EPMD_PORT = 4369;
const DISTRIBUTION_PORT = 25672;
const CLUSTER_CONFIG_FILE = '20-cluster.conf';
/** After the image's 10-defaults.conf and the cluster's file. */
const WORK_QUEUE_CONFIG_FILE = '30-work-queue.conf';
const COOKIE_KEY = 'cookie';

/**
 * The Prometheus endpoint of the rabbitmq_prometheus plugin, which the official image enables (its
 * enabled_plugins file; this construct leaves it as it is). `/metrics` sums over the node's queues
 * (node health, alarms); `/metrics/detailed` with the family `queue_coarse_metrics` gives each
 * queue's ready, unacknowledged and total messages, cheaply (only the families asked for).
 */
const PROMETHEUS_PORT = 15692;
const METRICS_ENDPOINT: MetricsEndpoint = {
  port: PROMETHEUS_PORT,
  portName: 'prometheus',
  paths: [{ path: '/metrics' }, { path: '/metrics/detailed', params: { family: ['queue_coarse_metrics'] } }],
};

/**
 * A RabbitMQ broker: a StatefulSet with a persistent volume per node, its client Service, a
 * credentials Secret and a NetworkPolicy that admits only the registered client workloads. With
 * `replicas` of 3 or more the nodes form one cluster (classic peer discovery over a headless
 * Service, a shared Erlang cookie, `pause_minority`), spread over nodes and zones, with a
 * PodDisruptionBudget that lets one node go at a time.
 */
export class RabbitMQStatefulSet extends WorkQueueBroker {
  public readonly statefulSet: kplus.StatefulSet;
  public readonly service: kplus.Service;
  /** Nodes of the broker. */
  public readonly replicas: number;
  /** The headless Service that gives each node a stable DNS name; only for a cluster. */
  public readonly nodesService?: kplus.Service;
  /** RabbitMQ's consumer timeout, as the nodes are configured with it. */
  public readonly consumerTimeout: Duration;
  /** Creates the password and cookie in the cluster that no prop gives; undefined when props give them all. */
  public readonly inClusterCredentials?: InClusterCredentials;

  constructor(scope: Construct, id: string, props: RabbitMQStatefulSetProps = {}) {
    const name = props.name ?? 'rabbitmq';
    const replicas = props.replicas ?? 1;
    const clustered = replicas > 1;
    super(scope, id, props, {
      scheme: 'amqp',
      port: Defaults.amqpPort,
      defaultServiceName: 'rabbitmq-service',
      defaultImage: 'rabbitmq:4.1.4',
      defaultResources: { cpuMillis: { request: 250, limit: 1000 }, memoryMiB: { request: 512, limit: 1024 } },
      workloadName: name,
      authentication: 'user-and-password',
      username: props.username,
      // A single node needs no group size: its quorum queues have their one member either way.
      clientEnv: clustered ? [{ name: Env.brokerReplicas, value: kplus.EnvValue.fromValue(String(replicas)) }] : [],
    });
    const { host: serviceName, port } = this.connection;
    this.replicas = replicas;
    this.consumerTimeout = props.consumerTimeout ?? Duration.seconds(RetryBudget.rabbitmqDefaultConsumerTimeoutSeconds);
    checkDuration(this, 'consumerTimeout', this.consumerTimeout, Rules.positiveInteger);
    const storage = props.storage ?? Size.gibibytes(1);
    check(this, 'name', name, PropRules.dnsLabel);
    checkSize(this, 'storage', storage, PropRules.storageQuantity);
    check(this, 'replicas', replicas, PropRules.clusterSize);
    if (props.erlangCookie !== undefined && !clustered)
      fail(
        this,
        'erlangCookie',
        SECRET_SHOWN_AS,
        'no erlangCookie for a single node (replicas 1): only the nodes of a cluster share one',
      );
    checkSecret(this, 'erlangCookie', props.erlangCookie, PropRules.credential);
    check(this, 'workerImage', props.workerImage, PropRules.image);
    const cookieSecretName = `${serviceName}-erlang-cookie`;
    const generated: GeneratedSecret[] = [
      ...(this.generatedCredentials ? [this.generatedCredentials] : []),
      ...(clustered && props.erlangCookie === undefined
        ? [{ name: cookieSecretName, generate: [COOKIE_KEY], labels: this.labels }]
        : []),
    ];
    if (generated.length > 0) {
      this.inClusterCredentials = new InClusterCredentials(this, 'GeneratedCredentials', {
        secrets: generated,
        name: `${serviceName}-credentials`,
        labels: appLabels(this, 'rabbitmq', name, 'credentials'),
        image: props.workerImage,
      });
      this.node.addValidation({ validate: () => this.missingWorkerImage() });
    }

    const labels = this.labels;
    this.service = new kplus.Service(this, 'Service', {
      metadata: { name: serviceName, labels },
      ports: [{ name: 'amqp', port, targetPort: port }],
    });
    // A node's DNS name (<pod>.<name>-nodes) must resolve before it is ready, so that the nodes can
    // find each other while they form the cluster.
    this.nodesService = clustered
      ? new kplus.Service(this, 'NodesService', {
          metadata: { name: `${name}-nodes`, labels },
          clusterIP: 'None',
          publishNotReadyAddresses: true,
          ports: [
            { name: 'amqp', port, targetPort: port },
            { name: 'epmd', port: EPMD_PORT, targetPort: EPMD_PORT },
            { name: 'distribution', port: DISTRIBUTION_PORT, targetPort: DISTRIBUTION_PORT },
          ],
        })
      : undefined;

    this.statefulSet = new kplus.StatefulSet(this, 'Resource', {
      metadata: { name, labels },
      podMetadata: { labels },
      service: this.nodesService ?? this.service,
      replicas,
      podManagementPolicy: clustered ? kplus.PodManagementPolicy.PARALLEL : kplus.PodManagementPolicy.ORDERED_READY,
      automountServiceAccountToken: false,
      terminationGracePeriod: Duration.seconds(120),
      securityContext: { user: RABBITMQ_UID, group: RABBITMQ_UID, fsGroup: RABBITMQ_UID, ensureNonRoot: true },
    });
    if (clustered) this.service.select(this.statefulSet);
    const secret = this.secret;
    // 'user-and-password' authentication always gives the broker its credentials Secret.
    if (secret === undefined) throw new Error(`${this.node.path}: RabbitMQ has no credentials Secret`);

    const clusterEnv: Record<string, kplus.EnvValue> = clustered
      ? {
          POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
          RABBITMQ_USE_LONGNAME: kplus.EnvValue.fromValue('true'),
          RABBITMQ_NODENAME: kplus.EnvValue.fromValue(`rabbit@$(POD_NAME).${name}-nodes`),
        }
      : {};
    const container = this.statefulSet.addContainer({
      name: 'rabbitmq',
      image: this.image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      ports: [
        { name: 'amqp', number: port },
        { name: METRICS_ENDPOINT.portName, number: METRICS_ENDPOINT.port },
        ...(clustered
          ? [
              { name: 'epmd', number: EPMD_PORT },
              { name: 'distribution', number: DISTRIBUTION_PORT },
            ]
          : []),
      ],
      envVariables: {
        RABBITMQ_DEFAULT_USER: kplus.EnvValue.fromSecretValue({ secret, key: SecretKeys.username }),
        RABBITMQ_DEFAULT_PASS: kplus.EnvValue.fromSecretValue({ secret, key: SecretKeys.password }),
        ...clusterEnv,
      },
      startup: kplus.Probe.fromTcpSocket({ port, periodSeconds: Duration.seconds(10), failureThreshold: 30 }),
      // Ready when this node serves clients, not when the whole cluster is complete: a cluster
      // that lost a node keeps its other nodes in the Service.
      readiness: kplus.Probe.fromTcpSocket({ port, periodSeconds: Duration.seconds(10) }),
      liveness: kplus.Probe.fromCommand(['rabbitmq-diagnostics', '-q', 'ping'], {
        periodSeconds: Duration.seconds(60),
        timeoutSeconds: Duration.seconds(15),
        failureThreshold: 3,
      }),
      resources: this.resources,
      // Erlang writes below $HOME (the data volume) and to a few paths of the image at start.
      securityContext: hardenedContainer(RABBITMQ_UID, false),
    });

    // cdk8s-plus has no volumeClaimTemplates yet: the claim is patched in, mounted at the data directory.
    const claim = {
      metadata: { name: 'data', labels },
      spec: {
        accessModes: ['ReadWriteOnce'],
        // The typed serializer runs after patches, so the quantity must be a k8s.Quantity here.
        resources: { requests: { storage: kplus.k8s.Quantity.fromString(storage.asString()) } },
        ...(props.storageClassName ? { storageClassName: props.storageClassName } : {}),
      },
    };
    const dataMount = { name: 'data', mountPath: DATA_DIRECTORY };
    ApiObject.of(this.statefulSet).addJsonPatch(JsonPatch.add('/spec/volumeClaimTemplates', [claim]));
    if (clustered) this.formCluster(name, replicas, container, dataMount, cookieSecretName, props.erlangCookie);
    this.mountWorkQueueConfig(name, container);
    this.serveMetrics(props, METRICS_ENDPOINT);
    if (!clustered)
      ApiObject.of(this.statefulSet).addJsonPatch(
        JsonPatch.add('/spec/template/spec/containers/0/volumeMounts/-', dataMount),
      );
  }

  /**
   * The settings the workers rely on, in a conf.d file: `consumer_timeout`, which RabbitMQ 3.8.15
   * through 4.x read from rabbitmq.conf and apply to every delivery with manual acknowledgement,
   * `basic.get` included (the worker's). Not a queue argument: `x-consumer-timeout` exists only
   * from 3.12 and a changed argument makes the broker refuse an existing queue's declaration.
   */
  private mountWorkQueueConfig(name: string, container: kplus.Container): void {
    const config = new kplus.ConfigMap(this, 'WorkQueueConfig', {
      metadata: { name: `${name}-work-queue`, labels: this.labels },
      data: { [WORK_QUEUE_CONFIG_FILE]: `consumer_timeout = ${this.consumerTimeout.toMilliseconds()}\n` },
    });
    container.mount(
      `/etc/rabbitmq/conf.d/${WORK_QUEUE_CONFIG_FILE}`,
      kplus.Volume.fromConfigMap(this, 'WorkQueueConfigVolume', config, { name: 'work-queue-config' }),
      { subPath: WORK_QUEUE_CONFIG_FILE, readOnly: true },
    );
  }

  /** Admits a client, and takes its image for the credentials Job when `workerImage` gave none. */
  public admitClient(client: kplus.Workload): void {
    super.admitClient(client);
    const image = client.containers.at(0)?.image;
    if (image !== undefined) this.inClusterCredentials?.useImage(image);
  }

  /** The synth error when credentials are to be generated and no image was given or admitted. */
  private missingWorkerImage(): string[] {
    if (this.inClusterCredentials?.job !== undefined) return [];
    const expected =
      "the worker image, for the Job that creates the broker's credentials inside the cluster (or a client Job of this broker, whose image it takes; " +
      'or password, existingSecretName and, for a cluster, erlangCookie, so that nothing is generated)';
    return [`${this.node.path}: ${describeProblem('workerImage', undefined, expected)}`];
  }

  /**
   * The parts of a cluster: peer discovery listing every node, the shared Erlang cookie, the
   * partition policy, inter-node traffic through the NetworkPolicy, spreading and a disruption budget.
   */
  private formCluster(
    name: string,
    replicas: number,
    container: kplus.Container,
    dataMount: object,
    cookieSecretName: string,
    erlangCookie: string | undefined,
  ): void {
    const nodes = Array.from({ length: replicas }, (_, index) => `rabbit@${name}-${index}.${name}-nodes`);
    const config = new kplus.ConfigMap(this, 'ClusterConfig', {
      metadata: { name: `${name}-cluster`, labels: this.labels },
      data: {
        [CLUSTER_CONFIG_FILE]: [
          'cluster_formation.peer_discovery_backend = classic_config',
          ...nodes.map((node, index) => `cluster_formation.classic_config.nodes.${index + 1} = ${node}`),
          // A node cut off from the majority stops serving instead of accepting writes it may lose.
          'cluster_partition_handling = pause_minority',
          '',
        ].join('\n'),
      },
    });
    container.mount(
      `/etc/rabbitmq/conf.d/${CLUSTER_CONFIG_FILE}`,
      kplus.Volume.fromConfigMap(this, 'ClusterConfigVolume', config, { name: 'cluster-config' }),
      { subPath: CLUSTER_CONFIG_FILE, readOnly: true },
    );

    // Erlang reads the cookie from $HOME/.erlang.cookie and refuses a file others may read, which a
    // mounted Secret is; an init container copies it onto the data volume with mode 0400. Without
    // `erlangCookie`, the credentials Job creates the Secret: the kubelet retries a pod until it exists.
    const cookie =
      erlangCookie === undefined
        ? kplus.Secret.fromSecretName(this, 'ErlangCookie', cookieSecretName)
        : new kplus.Secret(this, 'ErlangCookie', {
            metadata: { name: cookieSecretName, labels: this.labels },
            stringData: { [COOKIE_KEY]: erlangCookie },
          });
    this.statefulSet.addInitContainer({
      name: 'erlang-cookie',
      image: this.image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      command: [
        'sh',
        '-c',
        `rm -f ${DATA_DIRECTORY}/.erlang.cookie && install -m 0400 /etc/rabbitmq-cookie/${COOKIE_KEY} ${DATA_DIRECTORY}/.erlang.cookie`,
      ],
      volumeMounts: [
        {
          path: '/etc/rabbitmq-cookie',
          readOnly: true,
          volume: kplus.Volume.fromSecret(this, 'ErlangCookieVolume', cookie, { name: 'erlang-cookie' }),
        },
      ],
      resources: containerResources({ cpuMillis: { request: 10, limit: 100 }, memoryMiB: { request: 16, limit: 64 } }),
      securityContext: hardenedContainer(RABBITMQ_UID),
    });
    ApiObject.of(this.statefulSet).addJsonPatch(
      JsonPatch.add('/spec/template/spec/containers/0/volumeMounts/-', dataMount),
      JsonPatch.add('/spec/template/spec/initContainers/0/volumeMounts/-', dataMount),
    );
    addClusterParts(this, {
      statefulSet: this.statefulSet,
      labels: this.labels,
      networkPolicy: this.networkPolicy,
      members: this.pods,
      memberPorts: [EPMD_PORT, DISTRIBUTION_PORT],
    });
  }
}
