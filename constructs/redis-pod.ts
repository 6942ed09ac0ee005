import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { type Construct } from 'constructs';
import { Defaults, PropRules, SCRATCH_DIRECTORY } from '../contract';
import { addClusterParts } from './broker-cluster';
import { SecretKeys } from './broker-credentials';
import {
  addRedisMetricsExporter,
  queueOfClient,
  REDIS_METRICS_ENDPOINT,
  type RedisMetricsExporterProps,
} from './redis-metrics-exporter';
import { PRE_STOP_WAIT_SECONDS, redisDataScript, redisPreStopScript, sentinelScript } from './redis-sentinel-scripts';
import { containerResources } from './resources';
import { hardenedContainer } from './security';
import { check, checkSize, fail } from './validate';
import { WorkQueueBroker, type WorkQueueBrokerProps } from './work-queue-broker';

export interface RedisPodProps extends WorkQueueBrokerProps {
  /**
   * Name of the StatefulSet that runs Redis; its pods are `<name>-0`, `<name>-1`, ...
   * @default 'redis-master' (as in the tutorial)
   */
  readonly name?: string;
  /**
   * Redis data nodes: 1, or an odd number of at least 3. With 3 or more, a StatefulSet of that
   * many pods, each running a data node and a Sentinel: one primary, the rest its replicas, and
   * Sentinels (a majority quorum) that promote a replica when the primary is lost. Clients then
   * ask Sentinel for the primary: the client Service serves Sentinel's port 26379 and
   * `BROKER_URL` is `redis+sentinel://[:password@]<serviceName>:26379/<name>/0`.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Size of each pod's PersistentVolumeClaim `data-<name>-<ordinal>` (a volumeClaimTemplate) for the
   * append-only file. With it the queue also survives the pod being
   * replaced (on another node too, if the StorageClass can attach the volume there).
   * @default - no claim: the append-only file is on an emptyDir, which survives container restarts
   *   but not the pod's replacement (the StatefulSet brings the pod back, with an empty queue)
   */
  readonly storage?: Size;
  /**
   * StorageClass of the claim (with `storage` only).
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;
  /**
   * A Prometheus exporter (redis_exporter) beside each data node, on port 9121: Redis' own
   * metrics and, for every queue of the clients this broker admits, the length of its pending list
   * and dead letters, its leases in progress and its done count. `metricsScrapers` names who may
   * scrape it, `monitoring` writes a PodMonitor for it.
   * @default - no exporter
   */
  readonly metricsExporter?: RedisMetricsExporterProps;
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
 * A member's time to stop, 60 s: the preStop hook's wait for a failover (redis-sentinel-scripts.ts)
 * and its last round of calls to Sentinels (3 s each for one that does not answer), then Redis' own
 * shutdown (up to 10 s for lagging replicas, then the append-only file's last fsync).
 */
const MEMBER_GRACE_SECONDS = PRE_STOP_WAIT_SECONDS + 30;

/**
 * Redis and its Service, as in the fine-parallel tutorial, run as a StatefulSet of one so that an
 * eviction, a node drain or `kubectl delete pod` brings the pod back (with its data, given a
 * `storage`): an append-only file (fsync every second) on an emptyDir or a claim of its own,
 * probes, resources, a non-root read-only container, optional password, and a NetworkPolicy that
 * admits only the registered clients. (The class keeps the name of the tutorial's bare Pod.)
 * With `replicas` of 3 or more: a primary, its replicas and a Sentinel beside each, which clients
 * ask for the primary, spread over nodes and zones with a PodDisruptionBudget as RabbitMQ's cluster.
 */
export class RedisPod extends WorkQueueBroker {
  /** The StatefulSet, named `name`; its pods are `<name>-0`, `<name>-1`, ... */
  public readonly statefulSet: kplus.StatefulSet;
  /** The client Service: Redis' port, or with replicas Sentinel's. */
  public readonly service: kplus.Service;
  /** Data nodes of the broker. */
  public readonly replicas: number;
  /** The headless Service that gives each member a stable DNS name; only with replicas. */
  public readonly nodesService?: kplus.Service;
  /** The queues of the admitted clients, whose keys the metrics exporter reads. */
  private readonly clientQueues = new Set<string>();

  constructor(scope: Construct, id: string, props: RedisPodProps = {}) {
    const name = props.name ?? 'redis-master';
    const replicas = props.replicas ?? 1;
    const replicated = replicas !== 1;
    super(scope, id, props, {
      scheme: 'redis',
      port: replicated ? Defaults.sentinelPort : Defaults.redisPort,
      defaultServiceName: 'redis',
      defaultImage: DEFAULT_REDIS_IMAGE,
      defaultResources: { cpuMillis: { request: 100, limit: 1000 }, memoryMiB: { request: 256, limit: 1024 } },
      workloadName: name,
      authentication: 'password',
      // Clients ask the Sentinels for the primary; the data port is open to them as well, where the primary is.
      ...(replicated && { sentinelMaster: name, path: '/0', clientPorts: [Defaults.redisPort, Defaults.sentinelPort] }),
    });
    const { host: serviceName, port } = this.connection;
    this.replicas = replicas;
    check(this, 'replicas', replicas, PropRules.clusterSize);
    check(this, 'name', name, PropRules.dnsLabel);
    checkSize(this, 'storage', props.storage, PropRules.storageQuantity);
    if (props.storageClassName !== undefined && props.storage === undefined) {
      fail(
        this,
        'storageClassName',
        props.storageClassName,
        'no storageClassName without storage, the claim it is the class of',
      );
    }
    check(this, 'storageClassName', props.storageClassName, PropRules.dnsSubdomain);

    const labels = this.labels;
    this.service = new kplus.Service(this, 'Service', {
      metadata: { name: serviceName, labels },
      ports: [replicated ? { name: 'sentinel', port, targetPort: port } : { name: 'redis', port, targetPort: port }],
    });
    // A member's DNS name must resolve before it is ready: the members find each other by it.
    this.nodesService = replicated
      ? new kplus.Service(this, 'NodesService', {
          metadata: { name: `${name}-nodes`, labels },
          clusterIP: 'None',
          publishNotReadyAddresses: true,
          ports: [
            { name: 'redis', port: Defaults.redisPort, targetPort: Defaults.redisPort },
            { name: 'sentinel', port: Defaults.sentinelPort, targetPort: Defaults.sentinelPort },
          ],
        })
      : undefined;
    // The governing Service: the client Service of a single pod (which makes it select the pod), or the headless one.
    this.statefulSet = new kplus.StatefulSet(this, 'Resource', {
      metadata: { name, labels },
      podMetadata: { labels },
      service: this.nodesService ?? this.service,
      replicas,
      ...(replicated && {
        podManagementPolicy: kplus.PodManagementPolicy.PARALLEL,
        terminationGracePeriod: Duration.seconds(MEMBER_GRACE_SECONDS),
      }),
      automountServiceAccountToken: false,
      securityContext: { user: REDIS_UID, group: REDIS_UID, fsGroup: REDIS_UID, ensureNonRoot: true },
    });
    if (replicated) this.service.select(this.statefulSet);

    const secret = this.secret;
    const passwordEnv: Record<string, kplus.EnvValue> = secret
      ? {
          REDIS_PASSWORD: kplus.EnvValue.fromSecretValue({ secret, key: SecretKeys.password }),
          REDISCLI_AUTH: kplus.EnvValue.fromSecretValue({ secret, key: SecretKeys.password }),
        }
      : {};
    const memberStartup = replicated ? this.replicatedStartup(name, passwordEnv) : undefined;
    this.statefulSet.addContainer({
      name: 'redis',
      image: this.image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      ports: [{ name: 'redis', number: Defaults.redisPort }],
      ...(memberStartup ?? this.singleStartup(passwordEnv)),
      readiness: replicated ? replicationReady() : ping(Defaults.redisPort),
      liveness: ping(Defaults.redisPort),
      resources: this.resources,
      securityContext: hardenedContainer(REDIS_UID),
      volumeMounts: [
        ...(props.storage === undefined
          ? [{ path: DATA_DIRECTORY, volume: kplus.Volume.fromEmptyDir(this, 'Data', 'data') }]
          : []),
        { path: SCRATCH_DIRECTORY, volume: scratchVolume(this, 'Scratch', 'tmp') },
      ],
    });
    if (memberStartup) this.addSentinel(replicas, memberStartup.envVariables);
    if (props.metricsExporter !== undefined) {
      addRedisMetricsExporter(this, this.statefulSet, secret, props.metricsExporter, () => this.clientQueues);
      this.serveMetrics(props, REDIS_METRICS_ENDPOINT);
    } else {
      this.refuseMetrics(props, 'metricsExporter, whose port it is');
    }
    if (props.storage !== undefined) this.addDataClaim(props.storage, props.storageClassName);
  }

  /** Admits a client, and exports its queue's keys when the broker has a metrics exporter. */
  public admitClient(client: kplus.Workload): void {
    super.admitClient(client);
    const queue = queueOfClient(client);
    if (queue !== undefined) this.clientQueues.add(queue);
  }

  /**
   * One data node: `redis-server` with its settings as arguments. With a password, it goes through
   * a config file in the scratch volume so it never shows in the pod spec or the process list;
   * redis-cli in the probes reads it from REDISCLI_AUTH.
   */
  private singleStartup(
    passwordEnv: Record<string, kplus.EnvValue>,
  ): Pick<kplus.ContainerProps, 'command' | 'args' | 'envVariables'> {
    const serverArgs = [
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--dir',
      DATA_DIRECTORY,
      '--maxmemory-policy',
      'noeviction',
    ];
    const configFile = `${SCRATCH_DIRECTORY}/redis.conf`;
    return this.secret
      ? {
          command: [
            'sh',
            '-c',
            `umask 077 && printf 'requirepass %s\\n' "$REDIS_PASSWORD" > ${configFile} && exec redis-server ${configFile} "$@"`,
            'redis',
          ],
          args: serverArgs,
          envVariables: passwordEnv,
        }
      : { command: ['redis-server'], args: [...serverArgs, '--protected-mode', 'no'] };
  }

  /**
   * A member of a replicated set: the start script finds the primary (redis-sentinel-scripts.ts)
   * from the variables it reads, which both containers share.
   */
  private replicatedStartup(
    name: string,
    passwordEnv: Record<string, kplus.EnvValue>,
  ): Required<Pick<kplus.ContainerProps, 'command' | 'args' | 'envVariables' | 'lifecycle'>> {
    const nodesDomain = `${name}-nodes.$(POD_NAMESPACE).svc`;
    const nodes = Array.from({ length: this.replicas }, (_, ordinal) => `${name}-${ordinal}.${nodesDomain}`);
    return {
      command: ['sh', '-c', redisDataScript(), 'redis'],
      args: ['--dir', DATA_DIRECTORY],
      // The primary hands over to a replica before it stops, so that it does not come back as an empty primary.
      lifecycle: {
        preStop: kplus.Handler.fromCommand(['sh', '-c', redisPreStopScript(this.replicas), 'redis-pre-stop']),
      },
      envVariables: {
        // Defined before the variables that expand them.
        POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
        POD_NAMESPACE: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
        REDIS_NODE: kplus.EnvValue.fromValue(`$(POD_NAME).${nodesDomain}`),
        REDIS_NODES: kplus.EnvValue.fromValue(nodes.join(' ')),
        REDIS_MASTER_NAME: kplus.EnvValue.fromValue(name),
        CONFIG_DIRECTORY: kplus.EnvValue.fromValue(SCRATCH_DIRECTORY),
        ...passwordEnv,
      },
    };
  }

  /**
   * The Sentinel beside each data node, with a scratch volume of its own for the config file it
   * rewrites, and the parts every replicated broker has (spread, disruption budget, member traffic).
   */
  private addSentinel(replicas: number, env: Record<string, kplus.EnvValue>): void {
    this.statefulSet.addContainer({
      name: 'sentinel',
      image: this.image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      ports: [{ name: 'sentinel', number: Defaults.sentinelPort }],
      command: ['sh', '-c', sentinelScript(replicas), 'sentinel'],
      envVariables: env,
      readiness: ping(Defaults.sentinelPort),
      liveness: ping(Defaults.sentinelPort),
      resources: containerResources({ cpuMillis: { request: 50, limit: 500 }, memoryMiB: { request: 32, limit: 128 } }),
      securityContext: hardenedContainer(REDIS_UID),
      volumeMounts: [{ path: SCRATCH_DIRECTORY, volume: scratchVolume(this, 'SentinelScratch', 'sentinel-tmp') }],
    });
    addClusterParts(this, {
      statefulSet: this.statefulSet,
      labels: this.labels,
      networkPolicy: this.networkPolicy,
      members: this.pods,
      memberPorts: [Defaults.redisPort, Defaults.sentinelPort],
    });
  }

  /**
   * The append-only file's claim, `data-<name>-0`, which the StatefulSet keeps for its pod across
   * replacements. cdk8s-plus has no volumeClaimTemplates yet: the claim is patched in and mounted.
   */
  private addDataClaim(storage: Size, storageClassName: string | undefined): void {
    const claim = {
      metadata: { name: 'data', labels: this.labels },
      spec: {
        accessModes: ['ReadWriteOnce'],
        // The typed serializer runs after patches, so the quantity must be a k8s.Quantity here.
        resources: { requests: { storage: kplus.k8s.Quantity.fromString(storage.asString()) } },
        ...(storageClassName !== undefined ? { storageClassName } : {}),
      },
    };
    ApiObject.of(this.statefulSet).addJsonPatch(
      JsonPatch.add('/spec/volumeClaimTemplates', [claim]),
      JsonPatch.add('/spec/template/spec/containers/0/volumeMounts/-', { name: 'data', mountPath: DATA_DIRECTORY }),
    );
  }
}

/** Redis' (or Sentinel's) answer to PING; redis-cli reads a password from REDISCLI_AUTH. */
function ping(port: number): kplus.Probe {
  const cli = port === Defaults.redisPort ? 'redis-cli' : `redis-cli -p ${port}`;
  return kplus.Probe.fromCommand(['sh', '-c', `${cli} ping | grep -q PONG`], {
    periodSeconds: Duration.seconds(10),
    timeoutSeconds: Duration.seconds(5),
  });
}

/**
 * A member's data node is ready as the primary, or as a replica whose link to the primary is up:
 * a replica still copying the primary's data set is not, so a rolling update (and the disruption
 * budget) waits for it before taking the next member down.
 */
function replicationReady(): kplus.Probe {
  return kplus.Probe.fromCommand(
    ['sh', '-c', "redis-cli info replication | grep -q -e '^role:master' -e '^master_link_status:up'"],
    {
      periodSeconds: Duration.seconds(10),
      timeoutSeconds: Duration.seconds(5),
    },
  );
}

/** A small in-memory volume for a config file, which holds the password. */
function scratchVolume(scope: Construct, id: string, name: string): kplus.Volume {
  return kplus.Volume.fromEmptyDir(scope, id, name, {
    medium: kplus.EmptyDirMedium.MEMORY,
    sizeLimit: Size.mebibytes(1),
  });
}
