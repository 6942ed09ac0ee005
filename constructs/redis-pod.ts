import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Defaults, SCRATCH_DIRECTORY } from '../worker/contract';
import { SecretKeys } from './broker-credentials';
import { hardenedContainer } from './security';
import { check, fail, PropRules } from './validate';
import { WorkQueueBroker, WorkQueueBrokerProps } from './work-queue-broker';

export interface RedisPodProps extends WorkQueueBrokerProps {
  /**
   * Name of the StatefulSet of one that runs Redis; its pod is `<podName>-0`.
   * @default 'redis-master' (as in the tutorial)
   */
  readonly podName?: string;
  /**
   * Size of the pod's PersistentVolumeClaim `data-<podName>-0` (a volumeClaimTemplate) for the
   * append-only file, a Kubernetes quantity. With it the queue also survives the pod being
   * replaced (on another node too, if the StorageClass can attach the volume there).
   * @default - no claim: the append-only file is on an emptyDir, which survives container restarts
   *   but not the pod's replacement (the StatefulSet brings the pod back, with an empty queue)
   */
  readonly storageSize?: string;
  /**
   * StorageClass of the claim (with `storageSize` only).
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;
}

/**
 * The default image: Valkey, the BSD-3-licensed fork of Redis 7.2, in the minor the worker's tests
 * run (Valkey 8.1; docs/testing.md). Redis 7.4 and later are RSALv2/SSPLv1 (8.0 adds AGPLv3), which
 * platform teams must clear before deploying; `image` takes a Redis image as well.
 */
const DEFAULT_REDIS_IMAGE = 'valkey/valkey:8.1.1';

/**
 * The non-root user of both official images: `valkey` in valkey/valkey, `redis` in redis (uid 999).
 * Both images have `redis-server` and `redis-cli` (Valkey installs them as links to `valkey-server`
 * and `valkey-cli`), and both CLIs read the password from REDISCLI_AUTH (valkey-cli 8.1 reads no
 * VALKEYCLI_AUTH), so the container's command and probes work with either image.
 */
const REDIS_UID = 999;
const DATA_DIRECTORY = '/data';

/**
 * Redis and its Service, as in the fine-parallel tutorial, run as a StatefulSet of one so that an
 * eviction, a node drain or `kubectl delete pod` brings the pod back (with its data, given a
 * `storageSize`): an append-only file (fsync every second) on an emptyDir or a claim of its own,
 * probes, resources, a non-root read-only container, optional password, and a NetworkPolicy that
 * admits only the registered clients. (The class keeps the name of the tutorial's bare Pod.)
 */
export class RedisPod extends WorkQueueBroker {
  /** The StatefulSet of one, named `podName`; its pod is `<podName>-0`. */
  public readonly statefulSet: kplus.StatefulSet;
  public readonly service: kplus.Service;

  constructor(scope: Construct, id: string, props: RedisPodProps = {}) {
    const podName = props.podName ?? 'redis-master';
    super(scope, id, props, {
      scheme: 'redis',
      port: Defaults.redisPort,
      defaultServiceName: 'redis',
      defaultImage: DEFAULT_REDIS_IMAGE,
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
    this.service = new kplus.Service(this, 'Service', {
      metadata: { name: this.host, labels },
      ports: [{ name: 'redis', port: this.port, targetPort: this.port }],
    });
    // The client Service governs the StatefulSet, which makes it select the StatefulSet's pod.
    this.statefulSet = new kplus.StatefulSet(this, 'Resource', {
      metadata: { name: podName, labels },
      podMetadata: { labels },
      service: this.service,
      replicas: 1,
      automountServiceAccountToken: false,
      securityContext: { user: REDIS_UID, group: REDIS_UID, fsGroup: REDIS_UID, ensureNonRoot: true },
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
    this.statefulSet.addContainer({
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
        ...(props.storageSize === undefined ? [{ path: DATA_DIRECTORY, volume: kplus.Volume.fromEmptyDir(this, 'Data', 'data') }] : []),
        {
          path: SCRATCH_DIRECTORY,
          volume: kplus.Volume.fromEmptyDir(this, 'Scratch', 'tmp', { medium: kplus.EmptyDirMedium.MEMORY, sizeLimit: Size.mebibytes(1) }),
        },
      ],
    });
    if (props.storageSize !== undefined) this.addDataClaim(props.storageSize, props.storageClassName);
  }

  /**
   * The append-only file's claim, `data-<podName>-0`, which the StatefulSet keeps for its pod across
   * replacements. cdk8s-plus has no volumeClaimTemplates yet: the claim is patched in and mounted.
   */
  private addDataClaim(storageSize: string, storageClassName: string | undefined): void {
    const claim = {
      metadata: { name: 'data', labels: this.labels },
      spec: {
        accessModes: ['ReadWriteOnce'],
        // The typed serializer runs after patches, so the quantity must be a k8s.Quantity here.
        resources: { requests: { storage: kplus.k8s.Quantity.fromString(storageSize) } },
        ...(storageClassName !== undefined ? { storageClassName } : {}),
      },
    };
    ApiObject.of(this.statefulSet).addJsonPatch(
      JsonPatch.add('/spec/volumeClaimTemplates', [claim]),
      JsonPatch.add('/spec/template/spec/containers/0/volumeMounts/-', { name: 'data', mountPath: DATA_DIRECTORY }),
    );
  }
}
