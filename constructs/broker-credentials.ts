import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { brokerUrlScheme, type BrokerScheme, Env, sentinelUrlScheme } from '../contract';
import { type BrokerConnection, type ClientEnvVar } from './broker';

/** Keys of a credentials Secret that this library creates. */
export const SecretKeys = { username: 'username', password: 'password' } as const;

/** Credentials written into a new Secret. */
export interface NewSecretCredentials {
  readonly secretName: string;
  /** @default - none: the broker takes a password only (Redis `requirepass`) */
  readonly username?: string;
  readonly password: string;
}

/** Credentials in a Secret that exists already, or that a Job creates in the cluster. */
export interface ExistingSecretCredentials {
  readonly existingSecretName: string;
  /** @default - none: the broker takes a password only */
  readonly usernameKey?: string;
  readonly passwordKey: string;
}

export interface BrokerCredentialsProps {
  readonly scheme: BrokerScheme;
  /** @default false */
  readonly tls?: boolean;
  readonly host: string;
  /** @default false */
  readonly serviceOfChart?: boolean;
  readonly port: number;
  /**
   * URL path after the port, encoded: `/<vhost>` (AMQP) or `/<db>` (Redis).
   * @default '' (the default virtual host or database 0)
   */
  readonly path?: string;
  /**
   * For a Redis whose clients ask Sentinel at `host:port` for the primary: its master name.
   * @default - none: `host:port` is the broker itself
   */
  readonly sentinelMaster?: string;
  /** @default - no credentials: `BROKER_URL` carries no user-info */
  readonly credentials?: NewSecretCredentials | ExistingSecretCredentials;
  /** @default - none: the broker's certificate is signed by a public CA */
  readonly tlsCa?: BrokerConnection['tlsCa'];
  /** Labels of a Secret created here. @default - none */
  readonly labels?: Record<string, string>;
}

/**
 * How clients reach a broker: the credentials Secret (created here or named by the user) and the
 * client environment that builds `BROKER_URL` from it by Kubernetes' `$(VAR)` expansion, so no
 * credential is ever a literal in a pod spec.
 */
export class BrokerCredentials extends Construct {
  /** The Secret holding the credentials, or undefined when the broker needs none. */
  public readonly secret?: kplus.ISecret;
  /** How clients connect, credentials by reference. */
  public readonly connection: BrokerConnection;
  /** Credential variables from the Secret, then `BROKER_URL`; frozen. */
  public readonly clientEnv: readonly ClientEnvVar[];

  constructor(scope: Construct, id: string, props: BrokerCredentialsProps) {
    super(scope, id);
    const { credentials } = props;
    let keys: { readonly username?: string; readonly password: string } | undefined;
    if (credentials && 'existingSecretName' in credentials) {
      this.secret = kplus.Secret.fromSecretName(this, 'ExistingSecret', credentials.existingSecretName);
      keys = { username: credentials.usernameKey, password: credentials.passwordKey };
    } else if (credentials) {
      this.secret = new kplus.Secret(this, 'Secret', {
        metadata: { name: credentials.secretName, labels: props.labels },
        stringData: {
          ...(credentials.username !== undefined ? { [SecretKeys.username]: credentials.username } : {}),
          [SecretKeys.password]: credentials.password,
        },
      });
      keys = {
        username: credentials.username !== undefined ? SecretKeys.username : undefined,
        password: SecretKeys.password,
      };
    }

    this.connection = {
      scheme: props.scheme,
      tls: props.tls ?? false,
      host: props.host,
      serviceOfChart: props.serviceOfChart ?? false,
      port: props.port,
      path: props.path ?? '',
      ...(props.sentinelMaster !== undefined && { sentinelMaster: props.sentinelMaster }),
      credentials:
        this.secret && keys
          ? { secretName: this.secret.name, usernameKey: keys.username, passwordKey: keys.password }
          : undefined,
      tlsCa: props.tlsCa,
    };
    this.clientEnv = Object.freeze(this.buildClientEnv());
  }

  /** Credential variables from the Secret, then `BROKER_URL` built from them by `$(VAR)` expansion. */
  private buildClientEnv(): ClientEnvVar[] {
    const { scheme, tls, host, port, path, sentinelMaster, credentials } = this.connection;
    const env: ClientEnvVar[] = [];
    let userInfo = '';
    if (this.secret && credentials) {
      const secret = this.secret;
      const fromSecret = (key: string) => kplus.EnvValue.fromSecretValue({ secret, key });
      if (credentials.usernameKey !== undefined)
        env.push({ name: Env.brokerUsername, value: fromSecret(credentials.usernameKey) });
      env.push({ name: Env.brokerPassword, value: fromSecret(credentials.passwordKey) });
      userInfo = `${credentials.usernameKey !== undefined ? `$(${Env.brokerUsername})` : ''}:$(${Env.brokerPassword})@`;
    }
    const url =
      sentinelMaster === undefined
        ? `${brokerUrlScheme(scheme, tls)}://${userInfo}${host}:${port}${path}`
        : `${sentinelUrlScheme(tls)}://${userInfo}${host}:${port}/${encodeURIComponent(sentinelMaster)}${path}`;
    env.push({ name: Env.brokerUrl, value: kplus.EnvValue.fromValue(url) });
    return env;
  }
}
