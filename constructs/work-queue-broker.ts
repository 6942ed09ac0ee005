import { randomBytes } from 'crypto';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { BrokerScheme } from '../worker/contract';
import { BrokerConnection, ClientEnvVar, IWorkQueueBroker } from './broker';
import { BrokerCredentials, SecretKeys } from './broker-credentials';
import { appLabels } from './labels';
import { containerResources, ResourceBudget } from './resources';
import { ensureUniqueNames } from './unique-names';
import { check, fail, PropRules } from './validate';

/** Label that admits a pod through a broker's NetworkPolicy; its value is the broker's Service name. */
export const CLIENT_OF_LABEL = 'work-queue-stack.io/client-of';

/** What every broker this library runs in the cluster takes. */
export interface WorkQueueBrokerProps {
  /**
   * Name of the client Service, the host in `BROKER_URL`.
   * @default - the tutorial's: 'rabbitmq-service' for RabbitMQStatefulSet, 'redis' for RedisPod
   */
  readonly serviceName?: string;
  /**
   * Broker image, pinned; an image of the official family the broker class names.
   * @default - 'rabbitmq:4.1.4' for RabbitMQStatefulSet, 'redis:7.4.5' for RedisPod
   */
  readonly image?: string;
  /**
   * Password clients must give. URL-unreserved characters only, since it is expanded into `BROKER_URL`.
   * @default - RabbitMQStatefulSet: a random password generated at synth time; RedisPod: no password
   *   (only the NetworkPolicy restricts access)
   */
  readonly password?: string;
  /**
   * An existing Secret with the credentials (keys `username` and `password`; Redis reads `password`
   * only) to use instead of creating one.
   * @default - a Secret `<serviceName>-credentials` is created when there are credentials
   */
  readonly existingSecretName?: string;
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
  /** `user-and-password`: AMQP, a password is generated when none is given; `password`: Redis, optional. */
  readonly authentication: 'user-and-password' | 'password';
  /** The user name to create (user-and-password only). */
  readonly username?: string;
}

/** The user a RabbitMQStatefulSet creates unless told otherwise. */
export const DEFAULT_BROKER_USERNAME = 'work-queue';

/**
 * The base of the brokers this library runs in the cluster: resolves the shared props once, owns
 * the credentials and the client environment, and a NetworkPolicy that admits only the pods of the
 * workloads registered with `admitClient`. A subclass builds the workload from the resolved fields
 * and labels its pods with `labels`.
 */
export abstract class WorkQueueBroker extends Construct implements IWorkQueueBroker {
  public readonly scheme: BrokerScheme;
  public readonly host: string;
  public readonly port: number;
  /** The credentials Secret, or undefined for a broker without a password. */
  public readonly secret?: kplus.ISecret;
  public readonly connection: BrokerConnection;
  public readonly clientEnv: ClientEnvVar[];
  protected readonly image: string;
  protected readonly resources: kplus.ContainerResources;
  /** Labels of the broker's objects and pods; the NetworkPolicy selects the pods by them. */
  protected readonly labels: Record<string, string>;
  /** Admits the registered clients to the broker's port; a subclass may admit more (its own nodes). */
  protected readonly networkPolicy: kplus.NetworkPolicy;
  /** The broker's pods, selected by `labels`. */
  protected readonly pods: kplus.Pods;

  protected constructor(scope: Construct, id: string, props: WorkQueueBrokerProps, traits: BrokerTraits) {
    super(scope, id);
    this.scheme = traits.scheme;
    this.port = traits.port;
    this.host = props.serviceName ?? traits.defaultServiceName;
    this.image = props.image ?? traits.defaultImage;
    this.resources = props.resources ?? containerResources(traits.defaultResources);
    this.labels = appLabels(traits.scheme === 'amqp' ? 'rabbitmq' : 'redis', traits.workloadName, 'broker');
    check(this, 'serviceName', this.host, PropRules.dnsLabel);
    check(this, 'username', traits.username, PropRules.credential);
    check(this, 'password', props.password, PropRules.credential);
    if (props.existingSecretName !== undefined && (traits.username !== undefined || props.password !== undefined)) {
      fail(this, 'existingSecretName', props.existingSecretName, 'either existingSecretName or username/password, not both');
    }
    check(this, 'existingSecretName', props.existingSecretName, PropRules.dnsSubdomain);

    const withUsername = traits.authentication === 'user-and-password';
    const password = props.password ?? (withUsername ? randomBytes(24).toString('base64url') : undefined);
    const credentials = new BrokerCredentials(this, 'Credentials', {
      scheme: this.scheme,
      host: this.host,
      serviceOfChart: true,
      port: this.port,
      credentials:
        props.existingSecretName !== undefined
          ? { existingSecretName: props.existingSecretName, usernameKey: withUsername ? SecretKeys.username : undefined, passwordKey: SecretKeys.password }
          : password !== undefined
            ? { secretName: `${this.host}-credentials`, username: withUsername ? (traits.username ?? DEFAULT_BROKER_USERNAME) : undefined, password }
            : undefined,
    });
    this.secret = credentials.secret;
    this.connection = credentials.connection;
    this.clientEnv = credentials.clientEnv;

    this.pods = kplus.Pods.select(this, 'BrokerPods', { labels: this.labels });
    this.networkPolicy = new kplus.NetworkPolicy(this, 'NetworkPolicy', {
      metadata: { name: `${this.host}-clients`, labels: this.labels },
      selector: this.pods,
      ingress: {
        default: kplus.NetworkPolicyTrafficDefault.DENY,
        rules: [
          {
            peer: kplus.Pods.select(this, 'Clients', { labels: { [CLIENT_OF_LABEL]: this.host } }),
            ports: [kplus.NetworkPolicyPort.tcp(this.port)],
          },
        ],
      },
    });
    ensureUniqueNames(this);
  }

  public admitPeer(peer: kplus.INetworkPolicyPeer): void {
    this.networkPolicy.addIngressRule(peer, [kplus.NetworkPolicyPort.tcp(this.port)]);
  }

  /** Labels a client workload's pods for the NetworkPolicy and orders the workload after the broker. */
  public admitClient(client: kplus.Workload): void {
    client.podMetadata.addLabel(CLIENT_OF_LABEL, this.host);
    client.node.addDependency(this);
  }
}
