import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  BROKER_SCHEMES,
  type BrokerScheme,
  defaultBrokerPort,
  Defaults,
  PropRules,
  RetryBudget,
  Rules,
} from '../contract';
import { type BrokerConnection, type ClientEnvVar, type IWorkQueueBroker } from './broker';
import { BrokerCredentials, SecretKeys } from './broker-credentials';
import { inSeconds, secondsOf } from './seconds';
import { check, checkDuration, fail } from './validate';

/** Where a client pod finds the broker's CA certificate, and the Node.js variable that makes the worker trust it. */
const CA_DIRECTORY = '/etc/work-queue-broker-ca';
const CA_FILE_NAME = 'ca.crt';
const NODE_EXTRA_CA_CERTS = 'NODE_EXTRA_CA_CERTS';

export interface ExternalBrokerProps {
  /** The broker's protocol: `amqp` (RabbitMQ) or `redis`. */
  readonly scheme: BrokerScheme;
  /** DNS name or IPv4 address clients connect to, e.g. `rabbitmq.messaging.svc.cluster.local`. */
  readonly host: string;
  /**
   * Client port (with `sentinelMaster`, the Sentinels').
   * @default 5672 for AMQP, 5671 for AMQP over TLS, 6379 for Redis, 26379 with `sentinelMaster`
   */
  readonly port?: number;
  /**
   * For a Redis run with Sentinel (the Bitnami chart's `sentinel.enabled`, an operator's
   * RedisFailover): the master name its Sentinels know the primary by. `host` and `port` are then
   * the Sentinels' (a Service in front of them), which clients ask for the primary
   * (`redis+sentinel://` BROKER_URL; KEDA's `redis-sentinel` trigger). Sentinel takes the same
   * password as the data nodes. Redis only.
   * @default - none: `host:port` is the broker itself
   */
  readonly sentinelMaster?: string;
  /**
   * Connect over TLS (`amqps://`, `rediss://`). The worker verifies the broker's certificate
   * against Node.js' CA store and the file named by `NODE_EXTRA_CA_CERTS`.
   * @default false
   */
  readonly tls?: boolean;
  /**
   * A Secret holding the PEM certificate of the CA that signed the broker's certificate, for a
   * broker whose certificate a public CA did not sign (one run by an operator with cert-manager,
   * say). It is mounted into the client pods and named by `NODE_EXTRA_CA_CERTS`. Needs `tls`.
   * @default - the broker's certificate is checked against Node.js' own CA store only
   */
  readonly caSecretName?: string;
  /**
   * Key of the CA certificate in `caSecretName`.
   * @default 'ca.crt' (as cert-manager writes it)
   */
  readonly caKey?: string;
  /**
   * An existing Secret in the clients' namespace with the broker credentials.
   * @default - no credentials: `BROKER_URL` carries no user-info (a Redis without a password)
   */
  readonly existingSecretName?: string;
  /**
   * Key of the user name in `existingSecretName`.
   * @default 'username' for AMQP; none for Redis (password only, as `requirepass` asks)
   */
  readonly usernameKey?: string;
  /**
   * Key of the password in `existingSecretName`.
   * @default 'password'
   */
  readonly passwordKey?: string;
  /**
   * The broker's consumer timeout (RabbitMQ's `consumer_timeout`, or its `consumer-timeout` policy
   * for the queue), checked against the workers' `workTimeout`; whole seconds. AMQP only.
   * @default Duration.minutes(30) for AMQP (RabbitMQ's own default)
   */
  readonly consumerTimeout?: Duration;
  /**
   * AMQP virtual host (AMQP only).
   * @default '/' (the broker's default virtual host)
   */
  readonly vhost?: string;
  /**
   * Redis database number (Redis only).
   * @default 0
   */
  readonly db?: number;
}

/**
 * A broker that is not in the chart: a managed RabbitMQ or Redis, or one run by an operator. It
 * creates no objects; seeders and Jobs get `BROKER_URL` from it exactly as from the brokers this
 * library runs, with the credentials read from `existingSecretName`. The broker's own network
 * rules decide who may connect.
 */
export class ExternalBroker extends Construct implements IWorkQueueBroker {
  /** The Secret the credentials are read from, if any. */
  public readonly secret?: kplus.ISecret;
  public readonly connection: BrokerConnection;
  public readonly clientEnv: readonly ClientEnvVar[];
  public readonly consumerTimeout?: Duration;
  private readonly caSecret?: kplus.ISecret;
  private readonly caKey: string;

  constructor(scope: Construct, id: string, props: ExternalBrokerProps) {
    super(scope, id);
    if (!(BROKER_SCHEMES as readonly unknown[]).includes(props.scheme)) {
      fail(this, 'scheme', props.scheme, BROKER_SCHEMES.map((s) => `"${s}"`).join(' or '));
    }
    const { scheme } = props;
    const tls = props.tls ?? false;
    if (props.sentinelMaster !== undefined && scheme !== 'redis') {
      fail(
        this,
        'sentinelMaster',
        props.sentinelMaster,
        'no sentinelMaster for an AMQP broker (Sentinel serves Redis)',
      );
    }
    check(this, 'sentinelMaster', props.sentinelMaster, Rules.sentinelMaster);
    const port =
      props.port ?? (props.sentinelMaster !== undefined ? Defaults.sentinelPort : defaultBrokerPort(scheme, tls));
    if (props.consumerTimeout !== undefined && scheme !== 'amqp') {
      fail(
        this,
        inSeconds('consumerTimeout'),
        secondsOf(props.consumerTimeout),
        'no consumerTimeout for a Redis broker (it has none)',
      );
    }
    checkDuration(this, 'consumerTimeout', props.consumerTimeout, Rules.positiveInteger);
    this.consumerTimeout =
      scheme === 'amqp'
        ? (props.consumerTimeout ?? Duration.seconds(RetryBudget.rabbitmqDefaultConsumerTimeoutSeconds))
        : undefined;
    check(this, 'host', props.host, PropRules.host);
    check(this, 'port', port, PropRules.port);
    check(this, 'existingSecretName', props.existingSecretName, PropRules.dnsSubdomain);
    check(this, 'usernameKey', props.usernameKey, PropRules.secretKey);
    check(this, 'passwordKey', props.passwordKey, PropRules.secretKey);
    check(this, 'caSecretName', props.caSecretName, PropRules.dnsSubdomain);
    check(this, 'caKey', props.caKey, PropRules.secretKey);
    if (props.caSecretName !== undefined && !tls)
      fail(
        this,
        'caSecretName',
        props.caSecretName,
        'no CA certificate without tls: true, as only TLS connections check it',
      );
    if (props.caKey !== undefined && props.caSecretName === undefined)
      fail(this, 'caKey', props.caKey, 'no caKey without caSecretName, the Secret it names a key of');
    this.caSecret =
      props.caSecretName === undefined ? undefined : kplus.Secret.fromSecretName(this, 'CaSecret', props.caSecretName);
    this.caKey = props.caKey ?? 'ca.crt';
    if (props.existingSecretName === undefined) {
      for (const field of ['usernameKey', 'passwordKey'] as const) {
        if (props[field] !== undefined)
          fail(this, field, props[field], `no ${field} without existingSecretName, the Secret it names a key of`);
      }
    }

    const credentials = new BrokerCredentials(this, 'Credentials', {
      scheme,
      tls,
      host: props.host,
      port,
      path: this.urlPath(props),
      sentinelMaster: props.sentinelMaster,
      tlsCa: props.caSecretName === undefined ? undefined : { secretName: props.caSecretName, key: this.caKey },
      credentials:
        props.existingSecretName === undefined
          ? undefined
          : {
              existingSecretName: props.existingSecretName,
              usernameKey: props.usernameKey ?? (scheme === 'amqp' ? SecretKeys.username : undefined),
              passwordKey: props.passwordKey ?? SecretKeys.password,
            },
    });
    this.secret = credentials.secret;
    this.connection = credentials.connection;
    this.clientEnv = credentials.clientEnv;
  }

  /**
   * Orders the client after this construct and gives its containers the CA certificate, if any.
   * The broker is not in the chart, so there is no NetworkPolicy to admit the client through.
   */
  public admitClient(client: kplus.Workload): void {
    client.node.addDependency(this);
    if (this.caSecret === undefined) return;
    const volume = kplus.Volume.fromSecret(client, 'BrokerCa', this.caSecret, {
      name: 'broker-ca',
      items: { [this.caKey]: { path: CA_FILE_NAME } },
    });
    for (const container of client.containers) {
      container.mount(CA_DIRECTORY, volume, { readOnly: true });
      container.env.addVariable(NODE_EXTRA_CA_CERTS, kplus.EnvValue.fromValue(`${CA_DIRECTORY}/${CA_FILE_NAME}`));
    }
  }

  /** The broker's own network rules decide who may connect. */
  public admitPeer(): void {}

  /** `/<vhost>` or `/<db>`, checked against the scheme. */
  private urlPath(props: ExternalBrokerProps): string {
    if (props.scheme === 'amqp') {
      if (props.db !== undefined)
        fail(this, 'db', props.db, 'no db for an AMQP broker (a Redis setting; AMQP has vhost)');
      if (props.vhost === undefined || props.vhost === '/') return '';
      if (typeof props.vhost !== 'string' || props.vhost === '')
        fail(this, 'vhost', props.vhost, 'a non-empty virtual host name');
      return `/${encodeURIComponent(props.vhost)}`;
    }
    if (props.vhost !== undefined)
      fail(this, 'vhost', props.vhost, 'no vhost for a Redis broker (an AMQP setting; Redis has db)');
    check(this, 'db', props.db, Rules.nonNegativeInteger);
    return props.db === undefined ? '' : `/${props.db}`;
  }
}
