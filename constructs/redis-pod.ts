import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Defaults, SCRATCH_DIRECTORY } from '../worker/contract';
import { SecretKeys } from './broker-credentials';
import { hardenedContainer } from './security';
import { check, PropRules } from './validate';
import { WorkQueueBroker, WorkQueueBrokerProps } from './work-queue-broker';

export interface RedisPodProps extends WorkQueueBrokerProps {
  /**
   * Name of the Pod.
   * @default 'redis-master' (as in the tutorial)
   */
  readonly podName?: string;
}

/** The official image's `redis` user. */
const REDIS_UID = 999;
const DATA_DIRECTORY = '/data';

/**
 * A Redis Pod and its Service, as in the fine-parallel tutorial, with an append-only file on a
 * pod volume so a container restart keeps the queue, probes, resources, a non-root read-only
 * container, optional password, and a NetworkPolicy that admits only the registered clients.
 */
export class RedisPod extends WorkQueueBroker {
  public readonly pod: kplus.Pod;
  public readonly service: kplus.Service;

  constructor(scope: Construct, id: string, props: RedisPodProps = {}) {
    const podName = props.podName ?? 'redis-master';
    super(scope, id, props, {
      scheme: 'redis',
      port: Defaults.redisPort,
      defaultServiceName: 'redis',
      defaultImage: 'redis:7.4.5',
      defaultResources: { cpuMillis: { request: 100, limit: 1000 }, memoryMiB: { request: 256, limit: 1024 } },
      workloadName: podName,
      authentication: 'password',
    });
    check(this, 'podName', podName, PropRules.dnsLabel);

    const labels = this.labels;
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

    const secret = this.secret;
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
      image: this.image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      ports: [{ name: 'redis', number: this.port }],
      ...startup,
      readiness: ping(),
      liveness: ping(),
      resources: this.resources,
      securityContext: hardenedContainer(REDIS_UID),
      volumeMounts: [
        { path: DATA_DIRECTORY, volume: kplus.Volume.fromEmptyDir(this, 'Data', 'data') },
        { path: SCRATCH_DIRECTORY, volume: kplus.Volume.fromEmptyDir(this, 'Scratch', 'tmp', { medium: kplus.EmptyDirMedium.MEMORY, sizeLimit: Size.mebibytes(1) }) },
      ],
    });
  }
}
