import { Chart, Testing } from 'cdk8s';
import { QueueSeeder, RabbitMQStatefulSet, RedisPod, ScaledWorkQueueJob, WorkQueueJob } from '../../constructs';
import { crdSchemaErrors } from '../crd-schema';
import { schemaError } from '../k8s-schema';
import { type Manifest, type ManifestValue, only, podSpec, synth, synthError } from '../manifests';
import { restrictedViolations } from '../pod-security';

const IMAGE = 'registry.example.com/job-wq:1';
const MONITORING_NAMESPACE = { 'kubernetes.io/metadata.name': 'monitoring' };
const PROMETHEUS_PODS = { 'app.kubernetes.io/name': 'prometheus' };

/** As `synth`, in a chart with the namespace `batch`. */
function inNamespace(build: (chart: Chart) => void): Manifest[] {
  const chart = new Chart(Testing.app(), 'test', { namespace: 'batch' });
  build(chart);
  expect(chart.node.validate()).toEqual([]);
  return Testing.synth(chart) as Manifest[];
}

/** The NetworkPolicy rules that admit someone to `port`. */
function rulesOfPort(manifests: Manifest[], port: number): ManifestValue[] {
  const policy = only(manifests, 'NetworkPolicy');
  return policy.spec.ingress.filter((rule: ManifestValue) => rule.ports.some((p: ManifestValue) => p.port === port));
}

function container(manifests: Manifest[], name: string): ManifestValue {
  return podSpec(only(manifests, 'StatefulSet')).containers.find((c: ManifestValue) => c.name === name);
}

/** Kubernetes' own objects against the OpenAPI schema, the custom resources (KEDA's, the PodMonitor) against their CRDs'. */
function expectValid(manifests: Manifest[]): void {
  const custom = (m: Manifest) => ['keda.sh/v1alpha1', 'monitoring.coreos.com/v1'].includes(m.apiVersion);
  for (const manifest of manifests.filter((m) => !custom(m))) expect(schemaError(manifest)).toBeUndefined();
  const resources = manifests.filter(custom);
  expect(crdSchemaErrors(resources)).toEqual(resources.map(() => undefined));
}

describe('RabbitMQStatefulSet metrics', () => {
  test("declares the image's Prometheus port 15692 on every node, and admits nobody to it without metricsScrapers", () => {
    for (const replicas of [1, 3]) {
      const manifests = synth(
        (chart) =>
          new RabbitMQStatefulSet(chart, 'rabbitmq', {
            replicas,
            password: 'pw',
            erlangCookie: replicas > 1 ? 'c' : undefined,
          }),
      );
      expect(container(manifests, 'rabbitmq').ports).toContainEqual({ containerPort: 15692, name: 'prometheus' });
      expect(rulesOfPort(manifests, 15692)).toEqual([]);
      expect(manifests.filter((m) => m.kind === 'PodMonitor')).toEqual([]);
    }
  });

  test('admits the pods metricsScrapers names in the namespaces it names to 15692 only, and writes a schema-valid PodMonitor of both endpoints with monitoring', () => {
    const manifests = inNamespace(
      (chart) =>
        new RabbitMQStatefulSet(chart, 'rabbitmq', {
          replicas: 3,
          password: 'pw',
          erlangCookie: 'cookie',
          metricsScrapers: { namespaceLabels: MONITORING_NAMESPACE, podLabels: PROMETHEUS_PODS },
          monitoring: { labels: { release: 'kube-prometheus-stack' }, interval: '15s' },
        }),
    );
    expect(rulesOfPort(manifests, 15692)).toEqual([
      {
        from: [
          { namespaceSelector: { matchLabels: MONITORING_NAMESPACE }, podSelector: { matchLabels: PROMETHEUS_PODS } },
        ],
        ports: [{ port: 15692, protocol: 'TCP' }],
      },
    ]);
    const monitor = only(manifests, 'PodMonitor', 'rabbitmq-service-metrics');
    expect(monitor.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(monitor.metadata.namespace).toBe('batch');
    expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
    const podLabels = only(manifests, 'StatefulSet').spec.template.metadata.labels;
    for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels)) expect(podLabels[key]).toBe(value);
    expect(
      monitor.spec.podMetricsEndpoints.map(({ port, path, params, interval }: ManifestValue) => ({
        port,
        path,
        params,
        interval,
      })),
    ).toEqual([
      { port: 'prometheus', path: '/metrics', params: undefined, interval: '15s' },
      { port: 'prometheus', path: '/metrics/detailed', params: { family: ['queue_coarse_metrics'] }, interval: '15s' },
    ]);
    expectValid(manifests);
    // The schema does check: an interval that is no Prometheus duration is refused.
    const broken = {
      ...monitor,
      spec: { ...monitor.spec, podMetricsEndpoints: [{ port: 'prometheus', interval: '15 seconds' }] },
    };
    expect(crdSchemaErrors([broken])).toEqual([expect.stringMatching(/interval/)]);
  });

  test('a namespace alone admits every pod of it; pod labels alone, those pods of the broker namespace', () => {
    const rule = (metricsScrapers: object) =>
      rulesOfPort(
        synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { password: 'pw', metricsScrapers })),
        15692,
      )[0].from;
    expect(rule({ namespaceLabels: MONITORING_NAMESPACE })).toEqual([
      { namespaceSelector: { matchLabels: MONITORING_NAMESPACE }, podSelector: {} },
    ]);
    expect(rule({ podLabels: PROMETHEUS_PODS })).toEqual([{ podSelector: { matchLabels: PROMETHEUS_PODS } }]);
  });
});

describe('RedisPod metricsExporter', () => {
  test('none by default: one container, no metrics port', () => {
    const manifests = synth((chart) => new RedisPod(chart, 'redis'));
    expect(podSpec(only(manifests, 'StatefulSet')).containers.map((c: ManifestValue) => c.name)).toEqual(['redis']);
  });

  test("a hardened sidecar that reads the local node with the broker Secret's password and the keys of every admitted queue and of queues", () => {
    const manifests = inNamespace((chart) => {
      const broker = new RedisPod(chart, 'redis', {
        password: 'pw',
        metricsExporter: { queues: ['filled-by-hand', 'job2'] },
        metricsScrapers: { namespaceLabels: MONITORING_NAMESPACE },
        monitoring: {},
      });
      const seeder = new QueueSeeder(chart, 'seeder', { broker, queue: 'job2', items: ['a'], image: IMAGE });
      new WorkQueueJob(chart, 'job', { seeder, image: IMAGE, pattern: 'fine' });
      new ScaledWorkQueueJob(chart, 'scaled', {
        broker,
        queue: 'autoscaled',
        externalProducer: true,
        image: IMAGE,
        pattern: 'fine',
        maxJobs: 2,
      });
    });
    const exporter = container(manifests, 'metrics');
    expect(exporter.image).toBe('oliver006/redis_exporter:v1.77.0');
    expect(exporter.ports).toEqual([{ containerPort: 9121, name: 'metrics' }]);
    const env = Object.fromEntries(
      exporter.env.map((variable: ManifestValue) => [variable.name, variable.value ?? variable.valueFrom]),
    );
    expect(env).toEqual({
      REDIS_ADDR: 'redis://localhost:6379',
      REDIS_PASSWORD: container(manifests, 'redis').env.find(
        (variable: ManifestValue) => variable.name === 'REDIS_PASSWORD',
      ).valueFrom,
      REDIS_EXPORTER_CHECK_SINGLE_KEYS: [
        'autoscaled,{autoscaled}:leases,{autoscaled}:done,autoscaled.dead',
        'filled-by-hand,{filled-by-hand}:leases,{filled-by-hand}:done,filled-by-hand.dead',
        'job2,{job2}:leases,{job2}:done,job2.dead',
      ].join(','),
    });
    expect(exporter.resources).toEqual({
      limits: { cpu: '200m', memory: '64Mi' },
      requests: { cpu: '10m', memory: '32Mi' },
    });
    expect(restrictedViolations(podSpec(only(manifests, 'StatefulSet')))).toEqual([]);
    expect(exporter.securityContext).toMatchObject({
      runAsUser: 59000,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
    });
    expect(rulesOfPort(manifests, 9121)).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: MONITORING_NAMESPACE }, podSelector: {} }],
        ports: [{ port: 9121, protocol: 'TCP' }],
      },
    ]);
    const monitor = only(manifests, 'PodMonitor', 'redis-metrics');
    expect(monitor.spec.podMetricsEndpoints.map(({ port, path }: ManifestValue) => [port, path])).toEqual([
      ['metrics', '/metrics'],
    ]);
    expectValid(manifests);
  });

  test('without a password the exporter gets none; beside each member of a replicated set, it reads that member', () => {
    const manifests = synth(
      (chart) => new RedisPod(chart, 'redis', { replicas: 3, metricsExporter: { queues: ['job2'] } }),
    );
    const exporter = container(manifests, 'metrics');
    expect(exporter.env.map((variable: ManifestValue) => variable.name)).toEqual([
      'REDIS_ADDR',
      'REDIS_EXPORTER_CHECK_SINGLE_KEYS',
    ]);
    expect(podSpec(only(manifests, 'StatefulSet')).containers.map((c: ManifestValue) => c.name)).toEqual([
      'redis',
      'sentinel',
      'metrics',
    ]);
    expectValid(manifests);
  });
});

describe('metrics props errors', () => {
  test.each([
    [
      'metricsScrapers without metricsExporter',
      (chart: Chart) => new RedisPod(chart, 'redis', { metricsScrapers: { podLabels: PROMETHEUS_PODS } }),
      /metricsScrapers: got .*app.kubernetes.io\/name.*, expected no metricsScrapers without metricsExporter, whose port it is/,
    ],
    [
      'monitoring without metricsExporter',
      (chart: Chart) => new RedisPod(chart, 'redis', { monitoring: {} }),
      /monitoring: got \{\}, expected no monitoring without metricsExporter/,
    ],
    [
      'metricsScrapers naming nobody',
      (chart: Chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { password: 'pw', metricsScrapers: {} }),
      /metricsScrapers: got \{\}, expected namespaceLabels, podLabels or both/,
    ],
    [
      'a namespace label key with a space',
      (chart: Chart) =>
        new RabbitMQStatefulSet(chart, 'rabbitmq', {
          password: 'pw',
          metricsScrapers: { namespaceLabels: { 'team name': 'ops' } },
        }),
      /metricsScrapers\.namespaceLabels: got \{"team name":"ops"\}, expected a non-empty map of Kubernetes labels/,
    ],
    [
      'empty pod labels',
      (chart: Chart) =>
        new RabbitMQStatefulSet(chart, 'rabbitmq', { password: 'pw', metricsScrapers: { podLabels: {} } }),
      /metricsScrapers\.podLabels: got \{\}, expected a non-empty map of Kubernetes labels/,
    ],
    [
      'an interval that is no Prometheus duration',
      (chart: Chart) =>
        new RabbitMQStatefulSet(chart, 'rabbitmq', { password: 'pw', monitoring: { interval: '30 seconds' } }),
      /monitoring\.interval: got "30 seconds", expected a positive Prometheus duration such as "30s"/,
    ],
    [
      'an empty list of exported queues',
      (chart: Chart) => new RedisPod(chart, 'redis', { metricsExporter: { queues: [] } }),
      /metricsExporter\.queues: got \[\], expected a non-empty list of queue names/,
    ],
    [
      'an exported queue with a bad name',
      (chart: Chart) => new RedisPod(chart, 'redis', { metricsExporter: { queues: ['ok', 'a,b'] } }),
      /metricsExporter\.queues\[1\]: got "a,b", expected a queue name/,
    ],
    [
      'an exporter image with a space',
      (chart: Chart) => new RedisPod(chart, 'redis', { metricsExporter: { image: 'redis exporter' } }),
      /metricsExporter\.image: got "redis exporter", expected a container image reference/,
    ],
  ])('fails for %s, naming the field, the value and what is expected', (_case, build, message) => {
    expect(synthError(build)).toMatch(message);
  });
});
