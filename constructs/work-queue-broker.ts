import { type ApiObject, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { type BrokerScheme, type GeneratedSecret, PropRules } from '../contract';
import { type BrokerConnection, type ClientEnvVar, type IWorkQueueBroker } from './broker';
import { BrokerCredentials, SecretKeys } from './broker-credentials';
import {
  admitScrapers,
  type BrokerMetricsProps,
  checkMetricsProps,
  type MetricsEndpoint,
  MetricsFields,
  podMonitor,
} from './broker-metrics';
import { appLabels } from './labels';
import { ensureNamespace } from './namespace';
import { containerResources, type ResourceBudget } from './resources';
import { ensureUniqueNames } from './unique-names';
import { check, checkSecret, fail } from './validate';

/** Label that admits a pod through a broker's NetworkPolicy; its value is the broker's Service name. */
export const CLIENT_OF_LABEL = 'work-queue-stack.io/client-of';

/** What every broker this library runs in the cluster takes. */
export interface WorkQueueBrokerProps extends BrokerMetricsProps {
  /**
   * Name of the client Service, the host in `BROKER_URL`.
   * @default - the tutorial's: 'rabbitmq-service' for RabbitMQStatefulSet, 'redis' for RedisPod
   */
  readonly serviceName?: string;
  /**
   * Broker image, pinned; an image of the official family the broker class names (for RedisPod: Valkey or Redis).
   * @default - 'rabbitmq:4.1.4' for RabbitMQStatefulSet, 'valkey/valkey:8.1.1' for RedisPod (BSD-3; a Redis image works too)
   */
  readonly image?: string;
  /**
   * Password clients must give. URL-unreserved characters only, since it is expanded into `BROKER_URL`.
   * It is written into the Secret `<serviceName>-credentials`, so it appears in the manifests.
   * @default - RabbitMQStatefulSet: a random password created once inside the cluster by the
   *   broker's credentials Job (see its `workerImage`), never at synth; RedisPod: no password
   *   (only the NetworkPolicy restricts access)
   */
  readonly password?: string;
  /**
   * An existing Secret with the credentials (keys `username` and `password`; Redis reads `password`
   * only) to use instead of creating one.
   * @default - the Secret `<serviceName>-credentials`, written with `password` or created in the cluster
   */
  readonly existingSecretName?: string;
  /**
   * Write the Namespace object of the chart's namespace as the chart's first object, so that
   * `kubectl apply -f` of the chart creates it. `false` for a namespace that exists already or
   * that something else creates (Pulumi, a GitOps tool). Needs a chart with a namespace.
   * @default - true when the chart has a namespace
   */
  readonly createNamespace?: boolean;
  /**
   * CPU and memory of the broker container.
   * @default - RabbitMQStatefulSet: requests 250m CPU and 512Mi memory, limits 1 CPU and 1Gi;
   *   RedisPod: requests 100m CPU and 256Mi memory, limits 1 CPU and 1Gi
   */
  readonly resources?: kplus.ContainerResources;
}

/** What a broker class fixes for its base: its protocol, its defaults and how it authenticates. */
export interface BrokerTraits {
  readonly scheme: BrokerScheme;
  readonly port: number;
  readonly defaultServiceName: string;
  readonly defaultImage: string;
  readonly defaultResources: ResourceBudget;
  /** Name of the broker's workload, the `app.kubernetes.io/instance` of its objects. */
  readonly workloadName: string;
  /**
   * `user-and-password`: AMQP, a password is created in the cluster when none is given
   * (`generatedCredentials`); `password`: Redis, optional.
   */
  readonly authentication: 'user-and-password' | 'password';
  /** The user name to create (user-and-password only). */
  readonly username?: string;
  /**
   * For a Redis whose clients ask its Sentinels (at `port`) for the primary: the master name.
   * @default - none: `port` is the broker's own
   */
  readonly sentinelMaster?: string;
  /**
   * `BROKER_URL`'s path after the port (or the master name), encoded: `/<db>`.
   * @default '' (database 0)
   */
  readonly path?: string;
  /**
   * The ports the registered clients (and peers such as KEDA) may reach.
   * @default - `port` alone
   */
  readonly clientPorts?: number[];
  /**
   * Variables the broker's clients need beside `BROKER_URL`, after it.
   * @default - none
   */
  readonly clientEnv?: readonly ClientEnvVar[];
}

/** The user a RabbitMQStatefulSet creates unless told otherwise. */
export const DEFAULT_BROKER_USERNAME = 'work-queue';

/**
 * The base of the brokers this library runs in the cluster: resolves the shared props once, owns
 * the credentials and the client environment, and a NetworkPolicy that admits only the pods of the
 * workloads registered with `admitClient`. A subclass builds the workload from the resolved fields
 * and labels its pods with `labels`. Internal: not exported by the package, whose users type
 * against `IWorkQueueBroker`.
 */
export abstract class WorkQueueBroker extends Construct implements IWorkQueueBroker {
  /** The credentials Secret, or undefined for a broker without a password. */
  public readonly secret?: kplus.ISecret;
  /** The Namespace object this broker wrote for its chart (the chart's first object), if any. */
  public readonly namespaceObject?: ApiObject;
  public readonly connection: BrokerConnection;
  public readonly clientEnv: readonly ClientEnvVar[];
  protected readonly image: string;
  protected readonly resources: kplus.ContainerResources;
  /** Labels of the broker's objects and pods; the NetworkPolicy selects the pods by them. */
  protected readonly labels: Record<string, string>;
  /** Admits the registered clients to the broker's port; a subclass may admit more (its own nodes). */
  protected readonly networkPolicy: kplus.NetworkPolicy;
  /** The ports clients and peers are admitted to. */
  private readonly clientPorts: number[];
  /** The broker's pods, selected by `labels`. */
  protected readonly pods: kplus.Pods;
  /**
   * The credentials Secret when neither `password` nor `existingSecretName` is given to a broker
   * with users: the subclass has it created in the cluster (`InClusterCredentials`).
   */
  protected readonly generatedCredentials?: GeneratedSecret;

  protected constructor(scope: Construct, id: string, props: WorkQueueBrokerProps, traits: BrokerTraits) {
    super(scope, id);
    const serviceName = props.serviceName ?? traits.defaultServiceName;
    this.image = props.image ?? traits.defaultImage;
    this.resources = props.resources ?? containerResources(traits.defaultResources);
    this.clientPorts = traits.clientPorts ?? [traits.port];
    this.labels = appLabels(this, traits.scheme === 'amqp' ? 'rabbitmq' : 'redis', traits.workloadName, 'broker');
    check(this, 'serviceName', serviceName, PropRules.dnsLabel);
    check(this, 'username', traits.username, PropRules.credential);
    checkSecret(this, 'password', props.password, PropRules.credential);
    if (props.existingSecretName !== undefined && (traits.username !== undefined || props.password !== undefined)) {
      fail(
        this,
        'existingSecretName',
        props.existingSecretName,
        'either existingSecretName or username/password, not both',
      );
    }
    check(this, 'existingSecretName', props.existingSecretName, PropRules.dnsSubdomain);
    checkMetricsProps(this, props);

    this.namespaceObject = this.resolveNamespace(props.createNamespace);

    const withUsername = traits.authentication === 'user-and-password';
    const username = withUsername ? (traits.username ?? DEFAULT_BROKER_USERNAME) : undefined;
    const secretName = `${serviceName}-credentials`;
    const keys = { usernameKey: withUsername ? SecretKeys.username : undefined, passwordKey: SecretKeys.password };
    if (props.existingSecretName === undefined && props.password === undefined && username !== undefined) {
      this.generatedCredentials = {
        name: secretName,
        values: { [SecretKeys.username]: username },
        generate: [SecretKeys.password],
        labels: this.labels,
      };
    }
    const credentials = new BrokerCredentials(this, 'Credentials', {
      scheme: traits.scheme,
      host: serviceName,
      serviceOfChart: true,
      port: traits.port,
      path: traits.path,
      sentinelMaster: traits.sentinelMaster,
      labels: this.labels,
      credentials:
        props.existingSecretName !== undefined
          ? { existingSecretName: props.existingSecretName, ...keys }
          : props.password !== undefined
            ? { secretName, username, password: props.password }
            : this.generatedCredentials !== undefined
              ? { existingSecretName: secretName, ...keys }
              : undefined,
    });
    this.secret = credentials.secret;
    this.connection = credentials.connection;
    this.clientEnv = Object.freeze([...credentials.clientEnv, ...(traits.clientEnv ?? [])]);

    this.pods = kplus.Pods.select(this, 'BrokerPods', { labels: this.labels });
    this.networkPolicy = new kplus.NetworkPolicy(this, 'NetworkPolicy', {
      metadata: { name: `${serviceName}-clients`, labels: this.labels },
      selector: this.pods,
      ingress: {
        default: kplus.NetworkPolicyTrafficDefault.DENY,
        rules: [
          {
            peer: kplus.Pods.select(this, 'Clients', { labels: { [CLIENT_OF_LABEL]: serviceName } }),
            ports: this.clientPortsOfPolicy(),
          },
        ],
      },
    });
    ensureUniqueNames(this);
  }

  /** The chart's Namespace object, unless the chart has no namespace or `createNamespace` is false. */
  private resolveNamespace(createNamespace: boolean | undefined): ApiObject | undefined {
    const namespace = Chart.of(this).namespace;
    if (createNamespace === false) return undefined;
    if (namespace === undefined) {
      if (createNamespace === true) {
        fail(
          this,
          'createNamespace',
          createNamespace,
          'a chart with a namespace, the Namespace object to write, or no createNamespace',
        );
      }
      return undefined;
    }
    check(this, 'createNamespace', createNamespace, (value) =>
      typeof value === 'boolean' ? undefined : 'true or false',
    );
    return ensureNamespace(this, namespace);
  }

  /**
   * Serves the broker's metrics: admits `metricsScrapers` to the endpoint's port and writes the `monitoring` PodMonitor.
   * @internal
   */
  protected serveMetrics(props: BrokerMetricsProps, endpoint: MetricsEndpoint): void {
    if (props.metricsScrapers !== undefined)
      admitScrapers(this, this.networkPolicy, props.metricsScrapers, endpoint.port);
    if (props.monitoring !== undefined)
      podMonitor(this, `${this.connection.host}-metrics`, this.labels, endpoint, props.monitoring);
  }

  /** For a broker that serves no metrics: refuses the metrics props, `needs` saying what would serve them. */
  protected refuseMetrics(props: BrokerMetricsProps, needs: string): void {
    for (const field of [MetricsFields.scrapers, MetricsFields.monitoring]) {
      if (props[field] !== undefined) fail(this, field, props[field], `no ${field} without ${needs}`);
    }
  }

  public admitPeer(peer: kplus.INetworkPolicyPeer): void {
    this.networkPolicy.addIngressRule(peer, this.clientPortsOfPolicy());
  }

  private clientPortsOfPolicy(): kplus.NetworkPolicyPort[] {
    return this.clientPorts.map((port) => kplus.NetworkPolicyPort.tcp(port));
  }

  /** Labels a client workload's pods for the NetworkPolicy and orders the workload after the broker. */
  public admitClient(client: kplus.Workload): void {
    client.podMetadata.addLabel(CLIENT_OF_LABEL, this.connection.host);
    client.node.addDependency(this);
  }
}
