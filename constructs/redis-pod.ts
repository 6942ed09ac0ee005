import { Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Defaults, SCRATCH_DIRECTORY } from '../worker/contract';
import { SecretKeys } from './broker-credentials';
import { hardenedContainer } from './security';
import { check, fail, PropRules } from './validate';
import { WorkQueueBroker, WorkQueueBrokerProps } from './work-queue-broker';

export interface RedisPodProps extends WorkQueueBrokerProps {
  /**
   * Name of the Pod.
   * @default 'redis-master' (as in the tutorial)
   */
  readonly podName?: string;
  /**
   * Size of a PersistentVolumeClaim `<podName>-data` for the append-only file, a Kubernetes
   * quantity. With it the queue also survives the Pod being deleted and applied again (on another
   * node too, if the StorageClass can attach the volume there).
   * @default - no claim: the append-only file is on a pod volume, which survives container restarts
   *   but not the Pod's deletion or eviction
   */
  readonly storageSize?: string;
  /**
   * StorageClass of the claim (with `storageSize` only).
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;
}

/** The official image's `redis` user. */
const REDIS_UID = 999;
const DATA_DIRECTORY = '/data';

/**
 * A Redis Pod and its Service, as in the fine-parallel tutorial, with an append-only file (fsync
 * every second) on a pod volume or a PersistentVolumeClaim, probes, resources, a non-root read-only
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
    check(this, 'storageSize', props.storageSize, PropRules.storageQuantity);
    if (props.storageClassName !== undefined && props.storageSize === undefined) {
      fail(this, 'storageClassName', props.storageClassName, 'no storageClassName without storageSize, the claim it is the class of');
    }
    check(this, 'storageClassName', props.storageClassName, PropRules.dnsSubdomain);

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
    const serverArgs = ['--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', DATA_DIRECTORY, '--maxmemory-policy', 'noeviction'];
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

    const ping = () =>
      kplus.Probe.fromCommand(['sh', '-c', 'redis-cli ping | grep -q PONG'], {
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
        { path: DATA_DIRECTORY, volume: this.dataVolume(podName, props) },
        {
          path: SCRATCH_DIRECTORY,
          volume: kplus.Volume.fromEmptyDir(this, 'Scratch', 'tmp', { medium: kplus.EmptyDirMedium.MEMORY, sizeLimit: Size.mebibytes(1) }),
        },
      ],
    });
  }

  /** The append-only file's volume: a claim of its own when `storageSize` is given, else an emptyDir. */
  private dataVolume(podName: string, props: RedisPodProps): kplus.Volume {
    if (props.storageSize === undefined) return kplus.Volume.fromEmptyDir(this, 'Data', 'data');
    const claim = new kplus.k8s.KubePersistentVolumeClaim(this, 'DataClaim', {
      metadata: { name: `${podName}-data`, labels: this.labels },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: kplus.k8s.Quantity.fromString(props.storageSize) } },
        storageClassName: props.storageClassName,
      },
    });
    return kplus.Volume.fromPersistentVolumeClaim(this, 'Data', kplus.PersistentVolumeClaim.fromClaimName(this, 'DataClaimRef', claim.name), { name: 'data' });
  }
}
