import { Chart } from 'cdk8s';
import { type IConstruct } from 'constructs';
import { brokerUrlScheme, PropRules } from '../contract';
import { type BrokerConnection, type IWorkQueueBroker } from './broker';
import { check, fail } from './validate';

/**
 * How KEDA turns the queue length into new Jobs each polling interval (its `scalingStrategy`):
 * `default` creates `ceil(queueLength / itemsPerJob) - runningJobs`, `accurate` deducts only
 * Jobs still pending, `custom` deducts what `customScaling*` say.
 */
export type KedaScalingStrategy = 'default' | 'custom' | 'accurate';

/** The strategies as a list, for the check: the compiler holds it to exactly the type's values. */
const KEDA_SCALING_STRATEGIES = Object.keys({ default: true, custom: true, accurate: true } satisfies Record<
  KedaScalingStrategy,
  true
>);

/** With `custom`, what is deducted before KEDA divides the queue length. */
export interface CustomScaling {
  /** Items taken off the queue length. @default 0 */
  readonly queueLengthDeduction?: number;
  /** The share of running Jobs deducted, from 0 to 1. @default 1 */
  readonly runningJobPercentage?: number;
}

/** A ScaledJob trigger: the scaler's type and its metadata. */
export interface KedaTrigger {
  readonly type: string;
  readonly metadata: Record<string, string>;
}

/** One entry of a TriggerAuthentication's `secretTargetRef`: a scaler parameter read from a Secret's key. */
export interface KedaSecretTarget {
  readonly parameter: string;
  readonly name: string;
  readonly key: string;
}

/** What KEDA's scaler of a work queue reads, and how much of it one Job is for. */
export interface QueueTriggerProps {
  readonly broker: IWorkQueueBroker;
  readonly queue: string;
  /** Queue length one Job is for: `value` (RabbitMQ) or `listLength` (Redis). */
  readonly itemsPerJob: number;
  /** Queue length at or below which no Job is created. */
  readonly activationQueueLength: number;
  /**
   * Namespace of the broker's Service, which KEDA's operator needs to resolve it.
   * @default - the namespace of the broker's chart (a host given by the user is used as it is)
   */
  readonly brokerNamespace?: string;
}

/** The parts of a ScaledJob and its TriggerAuthentication that read a work queue. */
export interface QueueTrigger {
  /** The ScaledJob's trigger, without its `authenticationRef`. */
  readonly trigger: KedaTrigger;
  /**
   * The `secretTargetRef` of the TriggerAuthentication that gives the scaler the broker's
   * credentials and CA; undefined for a broker with neither.
   */
  readonly secretTargets?: readonly KedaSecretTarget[];
}

/** Checks a `scalingStrategy` prop: one of KEDA's strategies, or undefined for the construct's default. */
export function checkScalingStrategy(scope: IConstruct, strategy: unknown): void {
  if (strategy === undefined || (typeof strategy === 'string' && KEDA_SCALING_STRATEGIES.includes(strategy))) return;
  const quoted = KEDA_SCALING_STRATEGIES.map((known) => `"${known}"`);
  fail(scope, 'scalingStrategy', strategy, `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`);
}

/** A ScaledJob's `scalingStrategy`: the strategy, and with `custom` what it deducts. */
export function kedaScalingStrategy(strategy: KedaScalingStrategy, custom: CustomScaling): Record<string, unknown> {
  return {
    strategy,
    ...(strategy === 'custom'
      ? {
          customScalingQueueLengthDeduction: custom.queueLengthDeduction ?? 0,
          customScalingRunningJobPercentage: String(custom.runningJobPercentage ?? 1),
        }
      : {}),
  };
}

/**
 * KEDA's scaler of the broker on the work queue itself (its `rabbitmq`, `redis` or
 * `redis-sentinel` trigger) and the credentials it reads, checked against what KEDA can do;
 * `scope`'s props are named in the errors.
 */
export function queueTrigger(scope: IConstruct, props: QueueTriggerProps): QueueTrigger {
  const { connection } = props.broker;
  const host = triggerHost(scope, props);
  if (connection.scheme === 'amqp' && connection.tls) {
    fail(
      scope,
      'broker',
      props.broker.node.path,
      "an AMQP broker without TLS: KEDA's rabbitmq scaler takes its TLS switch and CA from a Secret of its own, which this construct does not create",
    );
  }
  return { trigger: trigger(connection, host, props), secretTargets: secretTargets(connection) };
}

function trigger(connection: BrokerConnection, host: string, props: QueueTriggerProps): KedaTrigger {
  if (connection.scheme === 'amqp') {
    return {
      type: 'rabbitmq',
      metadata: {
        protocol: 'amqp',
        host: `${brokerUrlScheme(connection.scheme, connection.tls)}://${host}:${connection.port}${connection.path || '/'}`,
        queueName: props.queue,
        mode: 'QueueLength',
        value: String(props.itemsPerJob),
        activationValue: String(props.activationQueueLength),
      },
    };
  }
  // KEDA's redis and redis-sentinel scalers (pkg/scalers/redis_scaler.go) read the same list
  // metadata; redis-sentinel asks the Sentinels at `addresses` for the primary of `sentinelMaster`.
  const list = {
    // Our pending list is the queue's own name, so its length is the items waiting, less those
    // handed back or left by a dead worker, which wait among the leased ones (docs/constructs.md, Autoscaling).
    listName: props.queue,
    listLength: String(props.itemsPerJob),
    activationListLength: String(props.activationQueueLength),
    databaseIndex: connection.path.replace(/^\//, '') || '0',
    enableTLS: String(connection.tls),
  };
  const address = `${host}:${connection.port}`;
  return connection.sentinelMaster === undefined
    ? { type: 'redis', metadata: { address, ...list } }
    : { type: 'redis-sentinel', metadata: { addresses: address, sentinelMaster: connection.sentinelMaster, ...list } };
}

/** The scaler's parameters read from the broker's Secrets: user name, password (Sentinel's too) and CA. */
function secretTargets(connection: BrokerConnection): KedaSecretTarget[] | undefined {
  const { credentials, tlsCa } = connection;
  if (!credentials && !tlsCa) return undefined;
  return [
    ...(credentials?.usernameKey !== undefined
      ? [{ parameter: 'username', name: credentials.secretName, key: credentials.usernameKey }]
      : []),
    ...(credentials ? [{ parameter: 'password', name: credentials.secretName, key: credentials.passwordKey }] : []),
    // Sentinel takes the data nodes' password (BROKER_URL's one password serves both).
    ...(credentials && connection.sentinelMaster !== undefined
      ? [{ parameter: 'sentinelPassword', name: credentials.secretName, key: credentials.passwordKey }]
      : []),
    ...(tlsCa ? [{ parameter: 'ca', name: tlsCa.secretName, key: tlsCa.key }] : []),
  ];
}

/** The broker's host as KEDA's operator resolves it from its own namespace: `<service>.<namespace>.svc` for a Service of a chart. */
function triggerHost(scope: IConstruct, { broker, brokerNamespace }: QueueTriggerProps): string {
  const { connection } = broker;
  if (!connection.serviceOfChart) {
    if (brokerNamespace !== undefined)
      fail(
        scope,
        'brokerNamespace',
        brokerNamespace,
        'no brokerNamespace for an ExternalBroker, whose host is used as given',
      );
    return connection.host;
  }
  const namespace = brokerNamespace ?? Chart.of(broker).namespace;
  if (namespace === undefined) {
    fail(
      scope,
      'brokerNamespace',
      undefined,
      `the namespace of the broker's Service "${connection.host}" (or a chart namespace): KEDA's operator reads the queue from its own namespace, where the bare Service name does not resolve`,
    );
  }
  check(scope, 'brokerNamespace', namespace, PropRules.dnsLabel);
  return `${connection.host}.${namespace}.svc`;
}
