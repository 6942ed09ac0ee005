import { randomBytes } from 'crypto';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { BrokerScheme, Env } from '../worker/contract';
import { ClientEnvVar } from './broker';
import { check, credentialRule, fail } from './validate';

/** Label that admits a pod through a broker's NetworkPolicy; its value is the broker's Service name. */
export const CLIENT_OF_LABEL = 'work-queue-stack.io/client-of';

/** Keys of the broker credentials Secret, whether created here or named by the user. */
export const SecretKeys = { username: 'username', password: 'password' } as const;

export interface BrokerAccessProps {
  readonly scheme: BrokerScheme;
  readonly host: string;
  readonly port: number;
  /** The broker's pods, which the NetworkPolicy protects. */
  readonly brokerPods: kplus.IPodSelector;
  readonly username?: string;
  readonly password?: string;
  readonly existingSecretName?: string;
  /** Whether to generate a password when neither `password` nor `existingSecretName` is given. */
  readonly generatePassword: boolean;
  /** Whether the broker authenticates with a user name (AMQP) or only a password (Redis). */
  readonly withUsername: boolean;
}

/**
 * What both brokers share: the credentials Secret, the client environment that builds `BROKER_URL`
 * from it, and a NetworkPolicy that admits only the pods of the workloads registered as clients.
 */
export class BrokerAccess extends Construct {
  /** The Secret holding the credentials, or undefined when the broker needs none. */
  public readonly secret?: kplus.ISecret;
  public readonly clientEnv: ClientEnvVar[];

  constructor(scope: Construct, id: string, private readonly props: BrokerAccessProps) {
    super(scope, id);
    const owner = scope;
    check(owner, 'username', props.username, credentialRule);
    check(owner, 'password', props.password, credentialRule);
    if (props.existingSecretName !== undefined && (props.username !== undefined || props.password !== undefined)) {
      fail(owner, 'existingSecretName', props.existingSecretName, 'either existingSecretName or username/password, not both');
    }

    this.secret = this.resolveSecret(props);
    this.clientEnv = this.buildClientEnv();

    new kplus.NetworkPolicy(this, 'NetworkPolicy', {
      metadata: { name: `${props.host}-clients` },
      selector: props.brokerPods,
      ingress: {
        default: kplus.NetworkPolicyTrafficDefault.DENY,
        rules: [
          {
            peer: kplus.Pods.select(this, 'Clients', { labels: { [CLIENT_OF_LABEL]: props.host } }),
            ports: [kplus.NetworkPolicyPort.tcp(props.port)],
          },
        ],
      },
    });
  }

  /** Labels a client workload's pods for the NetworkPolicy and orders the workload after the broker. */
  public admit(client: kplus.Workload): void {
    client.podMetadata.addLabel(CLIENT_OF_LABEL, this.props.host);
    client.node.addDependency(this.node.scope!);
  }

  private resolveSecret(props: BrokerAccessProps): kplus.ISecret | undefined {
    if (props.existingSecretName !== undefined) {
      return kplus.Secret.fromSecretName(this, 'ExistingSecret', props.existingSecretName);
    }
    const password = props.password ?? (props.generatePassword ? randomBytes(24).toString('base64url') : undefined);
    if (password === undefined) return undefined;
    return new kplus.Secret(this, 'Secret', {
      metadata: { name: `${props.host}-credentials` },
      stringData: {
        ...(props.withUsername ? { [SecretKeys.username]: props.username ?? 'work-queue' } : {}),
        [SecretKeys.password]: password,
      },
    });
  }

  private buildClientEnv(): ClientEnvVar[] {
    const { scheme, host, port, withUsername } = this.props;
    const fromSecret = (key: string) => kplus.EnvValue.fromSecretValue({ secret: this.secret!, key });
    const env: ClientEnvVar[] = [];
    let userInfo = '';
    if (this.secret) {
      if (withUsername) env.push({ name: Env.brokerUsername, value: fromSecret(SecretKeys.username) });
      env.push({ name: Env.brokerPassword, value: fromSecret(SecretKeys.password) });
      userInfo = withUsername ? `$(${Env.brokerUsername}):$(${Env.brokerPassword})@` : `:$(${Env.brokerPassword})@`;
    }
    env.push({ name: Env.brokerUrl, value: kplus.EnvValue.fromValue(`${scheme}://${userInfo}${host}:${port}`) });
    return env;
  }
}
