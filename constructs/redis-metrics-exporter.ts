import { Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { type Construct } from 'constructs';
import { Defaults, Env, PropRules, queueKeys, Rules } from '../contract';
import { SecretKeys } from './broker-credentials';
import { type MetricsEndpoint } from './broker-metrics';
import { containerResources } from './resources';
import { hardenedContainer } from './security';
import { check } from './validate';

/** RedisPod's `metricsExporter`: a redis_exporter sidecar beside each data node. */
export interface RedisMetricsExporterProps {
  /**
   * The exporter image, pinned: oliver006/redis_exporter (MIT), or an image of the same program.
   * @default 'oliver006/redis_exporter:v1.77.0'
   */
  readonly image?: string;
  /**
   * Queues whose keys are exported beside those of the clients this broker admits (a queue that
   * something outside this chart fills, such as the tutorial's `rpush job2 ...`).
   * @default - the queues of the seeders and worker Jobs this broker admits
   */
  readonly queues?: string[];
  /**
   * CPU and memory of the exporter container.
   * @default - requests 10m CPU and 32Mi memory, limits 200m CPU and 64Mi
   */
  readonly resources?: kplus.ContainerResources;
}

const DEFAULT_EXPORTER_IMAGE = 'oliver006/redis_exporter:v1.77.0';
/** The user the exporter's image runs as. */
const EXPORTER_UID = 59000;

/** The exporter's port (its default, 9121) and its one path. */
export const REDIS_METRICS_ENDPOINT: MetricsEndpoint = {
  port: 9121,
  portName: 'metrics',
  paths: [{ path: '/metrics' }],
};

/**
 * The keys of a queue the exporter reads on every scrape: the pending list and the dead letters
 * (`redis_key_size` is their length), the leases (a sorted set: the items in progress) and the
 * done counter (`redis_key_value`).
 */
export function exportedKeys(queue: string): string[] {
  const keys = queueKeys(queue);
  return [keys.pending, keys.leases, keys.done, keys.dead];
}

/**
 * The exporter beside the broker: it reads the local data node (with the password of the broker's
 * Secret, when it has one) and exports the keys of every queue in `queues`, read when the pod spec
 * is synthesized (so that clients admitted after the broker count too), as `--check-single-keys`.
 */
export function addRedisMetricsExporter(
  scope: Construct,
  workload: kplus.StatefulSet,
  secret: kplus.ISecret | undefined,
  props: RedisMetricsExporterProps,
  queues: () => Iterable<string>,
): void {
  const field = 'metricsExporter';
  check(scope, `${field}.image`, props.image, PropRules.image);
  check(scope, `${field}.queues`, props.queues, (value) =>
    Array.isArray(value) && value.length > 0
      ? undefined
      : 'a non-empty list of queue names (or no queues: those of the admitted clients)',
  );
  props.queues?.forEach((queue, index) => check(scope, `${field}.queues[${index}]`, queue, Rules.queueName));
  // A string at synthesis (Lazy is typed any).
  const singleKeys = Lazy.any({
    produce: () => [...new Set([...(props.queues ?? []), ...queues()])].sort().flatMap(exportedKeys).join(','),
  }) as string;
  workload.addContainer({
    name: 'metrics',
    image: props.image ?? DEFAULT_EXPORTER_IMAGE,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    ports: [{ name: REDIS_METRICS_ENDPOINT.portName, number: REDIS_METRICS_ENDPOINT.port }],
    envVariables: {
      REDIS_ADDR: kplus.EnvValue.fromValue(`redis://localhost:${Defaults.redisPort}`),
      ...(secret && { REDIS_PASSWORD: kplus.EnvValue.fromSecretValue({ secret, key: SecretKeys.password }) }),
      REDIS_EXPORTER_CHECK_SINGLE_KEYS: kplus.EnvValue.fromValue(singleKeys),
    },
    resources:
      props.resources ??
      containerResources({ cpuMillis: { request: 10, limit: 200 }, memoryMiB: { request: 32, limit: 64 } }),
    securityContext: hardenedContainer(EXPORTER_UID),
  });
}

/** The queue a client workload's first container names in QUEUE, if any. */
export function queueOfClient(client: kplus.Workload): string | undefined {
  const value: unknown = client.containers[0]?.env.variables[Env.queue]?.value;
  return typeof value === 'string' ? value : undefined;
}
