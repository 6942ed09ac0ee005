import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Defaults, SCRATCH_DIRECTORY } from '../worker/contract';
import { ClientEnvVar, IWorkQueueBroker } from './broker';
import { BrokerAccess, SecretKeys } from './broker-access';
import { appLabels } from './labels';
import { hardenedContainer } from './security';
import { check, dnsLabelRule } from './validate';

export interface RedisPodProps {
  /**
   * Name of the client Service, the host in `BROKER_URL`.
   * @default 'redis' (as in the tutorial)
   */
  readonly serviceName?: string;
  /**
   * Name of the Pod.
   * @default 'redis-master' (as in the tutorial)
   */
  readonly podName?: string;
  /**
   * Redis image, pinned. Must be an image of the official `redis` family (7.x).
   * @default 'redis:7.4.5'
   */
  readonly image?: string;
  /**
   * Password clients must give (`requirepass`). URL-unreserved characters only, since it is
   * expanded into `BROKER_URL`.
   * @default - no password: only the NetworkPolicy restricts access
   */
  readonly password?: string;
  /**
   * An existing Secret with the key `password` to use instead of `password`.
   * @default - none
   */
  readonly existingSecretName?: string;
  /**
   * CPU and memory of the Redis container. Redis holds the whole queue in memory.
   * @default - requests 100m CPU and 256Mi memory; limits 1 CPU and 1Gi memory
   */
  readonly resources?: kplus.ContainerResources;
}

/** The official image's `redis` user. */
const REDIS_UID = 999;
const DATA_DIRECTORY = '/data';

/**
 * A Redis Pod and its Service, as in the fine-parallel tutorial, with an append-only file on a
 * pod volume so a container restart keeps the queue, probes, resources, a non-root read-only
 * container, optional password, and a NetworkPolicy that admits only the registered clients.
 */
export class RedisPod extends Construct implements IWorkQueueBroker {
  public readonly scheme = 'redis' as const;
  public readonly host: string;
  public readonly port = Defaults.redisPort;
  public readonly pod: kplus.Pod;
  public readonly service: kplus.Service;
  private readonly access: BrokerAccess;

  constructor(scope: Construct, id: string, props: RedisPodProps = {}) {
    super(scope, id);
    this.host = props.serviceName ?? 'redis';
    const podName = props.podName ?? 'redis-master';
    check(this, 'serviceName', this.host, dnsLabelRule);
    check(this, 'podName', podName, dnsLabelRule);

    const labels = appLabels('redis', podName, 'broker');
    this.pod = new kplus.Pod(this, 'Resource', {
      metadata: { name: podName, labels },
      automountServiceAccountToken: false,
      securityContext: { user: REDIS_UID, group: REDIS_UID, fsGroup: REDIS_UID, ensureNonRoot: true },
    });
    this.service = new kplus.Service(this, 'Service', {
      metadata: { name: this.host, labels },
      selector: this.pod,
      ports: [{ name: 'redis', port: this.port, targetPort: this.port }],
    });
    this.access = new BrokerAccess(this, 'Access', {
      scheme: this.scheme,
      host: this.host,
      port: this.port,
      brokerPods: this.pod,
      password: props.password,
      existingSecretName: props.existingSecretName,
      generatePassword: false,
      withUsername: false,
    });

    const secret = this.access.secret;
    const serverArgs = ['--appendonly', 'yes', '--dir', DATA_DIRECTORY, '--maxmemory-policy', 'noeviction'];
    // With a password, it goes through a config file in the scratch volume so it never shows in the
    // pod spec or the process list; redis-cli in the probes reads it from REDISCLI_AUTH.
    const configFile = `${SCRATCH_DIRECTORY}/redis.conf`;
    const startup = secret
      ? {
          command: ['sh', '-c', `umask 077 && printf 'requirepass %s\\n' "$REDIS_PASSWORD" > ${configFile} && exec redis-server ${configFile} "$@"`, 'redis'],
          args: serverArgs,
          envVariables: {
            REDIS_PASSWORD: kplus.EnvValue.fromSecretValue({ secret, key: SecretKeys.password }),
            REDISCLI_AUTH: kplus.EnvValue.fromSecretValue({ secret, key: SecretKeys.password }),
          },
        }
      : { command: ['redis-server'], args: [...serverArgs, '--protected-mode', 'no'] };

    const ping = () => kplus.Probe.fromCommand(['sh', '-c', 'redis-cli ping | grep -q PONG'], {
      periodSeconds: Duration.seconds(10),
      timeoutSeconds: Duration.seconds(5),
    });
    this.pod.addContainer({
      name: 'redis',
      image: props.image ?? 'redis:7.4.5',
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      ports: [{ name: 'redis', number: this.port }],
      ...startup,
      readiness: ping(),
      liveness: ping(),
      resources: props.resources ?? {
        cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.units(1) },
        memory: { request: Size.mebibytes(256), limit: Size.gibibytes(1) },
      },
      securityContext: hardenedContainer(REDIS_UID),
      volumeMounts: [
        { path: DATA_DIRECTORY, volume: kplus.Volume.fromEmptyDir(this, 'Data', 'data') },
        { path: SCRATCH_DIRECTORY, volume: kplus.Volume.fromEmptyDir(this, 'Scratch', 'tmp', { medium: kplus.EmptyDirMedium.MEMORY, sizeLimit: Size.mebibytes(1) }) },
      ],
    });
  }

  public get clientEnv(): ClientEnvVar[] {
    return this.access.clientEnv;
  }

  public admitClient(client: kplus.Workload): void {
    this.access.admit(client);
  }
}
