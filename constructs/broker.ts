import { type Duration } from 'cdk8s';
import type * as kplus from 'cdk8s-plus-28';
import { type IConstruct } from 'constructs';
import { type BrokerScheme } from '../contract';

/** One environment variable of a client container; order matters because later values may expand earlier ones. */
export interface ClientEnvVar {
  readonly name: string;
  readonly value: kplus.EnvValue;
}

/** Where clients find the credentials of a broker: a Secret and its keys. */
export interface BrokerSecretRef {
  readonly secretName: string;
  /** @default - none: the broker takes a password only (Redis `requirepass`) */
  readonly usernameKey?: string;
  readonly passwordKey: string;
}

/** Everything a client needs to reach a broker; `BROKER_URL` and KEDA's triggers are both built from it. */
export interface BrokerConnection {
  /** The broker's protocol, the `BROKER_URL` scheme before TLS: `amqp` (RabbitMQ) or `redis`. */
  readonly scheme: BrokerScheme;
  /** Whether clients connect over TLS (`amqps://`, `rediss://`). */
  readonly tls: boolean;
  /** A Service name of the broker's chart (`serviceOfChart`), or a host as the user gave it. */
  readonly host: string;
  /** Whether `host` is a Service of the broker's chart, which only its namespace resolves by that bare name. */
  readonly serviceOfChart: boolean;
  /** The client port at `host` (with `sentinelMaster`, the Sentinels'). */
  readonly port: number;
  /** URL path after the port, encoded: '' (the default virtual host or database 0), `/<vhost>` or `/<db>`. */
  readonly path: string;
  /**
   * The master name a Redis' Sentinels know its primary by: clients ask Sentinel at `host:port`
   * for the primary (`redis+sentinel://`) instead of connecting to `host:port` themselves.
   * @default - none: `host:port` is the broker itself
   */
  readonly sentinelMaster?: string;
  /** @default - no credentials */
  readonly credentials?: BrokerSecretRef;
  /** The CA of the broker's certificate, when no public CA signed it. @default - none */
  readonly tlsCa?: { readonly secretName: string; readonly key: string };
}

/**
 * A broker that seeder and worker pods connect to, whichever broker it is. Implemented by
 * `RabbitMQStatefulSet` (AMQP), `RedisPod` (Redis) and `ExternalBroker` (either, outside the chart).
 */
export interface IWorkQueueBroker extends IConstruct {
  /**
   * How clients connect, credentials by reference: the one place of the broker's scheme (which
   * also tells the pattern it can serve: `fine` needs `redis`), host and port.
   */
  readonly connection: BrokerConnection;
  /**
   * Credential variables from the broker's Secret, then `BROKER_URL` built from them with `$(VAR)`
   * expansion, then any variable the broker's clients also need: complete once the broker is
   * built, and frozen.
   */
  readonly clientEnv: readonly ClientEnvVar[];
  /**
   * RabbitMQ's consumer timeout (an unacknowledged delivery older than this closes its channel),
   * which the workers' work timeout must stay below. Undefined for Redis.
   */
  readonly consumerTimeout?: Duration;
  /**
   * Lets a workload's pods through the broker's NetworkPolicy and orders the workload after the
   * broker in the synthesized output.
   */
  admitClient(client: kplus.Workload): void;
  /**
   * Lets other pods reach the broker's client port, such as KEDA's operator, which reads the queue
   * length from its own namespace. A broker outside the chart has no NetworkPolicy to open.
   */
  admitPeer(peer: kplus.INetworkPolicyPeer): void;
}
