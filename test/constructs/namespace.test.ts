import { Chart, Testing } from 'cdk8s';
import { ConfigMap } from 'cdk8s-plus-28';
import { RabbitMQStatefulSet, RedisPod } from '../../constructs';
import { schemaError } from '../k8s-schema';
import { type Manifest, synth } from '../manifests';

function namespaced(build: (chart: Chart) => void, namespace = 'batch'): Manifest[] {
  const chart = new Chart(Testing.app(), 'test', { namespace });
  build(chart);
  return Testing.synth(chart) as Manifest[];
}

describe('Namespace', () => {
  test("a broker in a chart with a namespace writes the Namespace as the chart's first object, without a namespace of its own", () => {
    const manifests = namespaced((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { password: 'p' }));
    const [first, ...rest] = manifests;
    expect(first).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: 'batch',
        labels: {
          'app.kubernetes.io/name': 'work-queue-stack',
          'app.kubernetes.io/instance': 'batch',
          'app.kubernetes.io/component': 'namespace',
          'app.kubernetes.io/part-of': 'work-queue-stack',
          'app.kubernetes.io/managed-by': 'work-queue-stack',
        },
      },
    });
    expect(schemaError(first)).toBeUndefined();
    for (const manifest of rest) expect(manifest.metadata.namespace).toBe('batch');
  });

  test('first even when the chart has objects made before the broker, and once for two brokers', () => {
    const manifests = namespaced((chart) => {
      new ConfigMap(chart, 'settings', { data: { a: 'b' } });
      new RedisPod(chart, 'redis');
      new RedisPod(chart, 'cache', { serviceName: 'cache', name: 'cache' });
    });
    expect(manifests[0].kind).toBe('Namespace');
    expect(manifests.filter((m) => m.kind === 'Namespace')).toHaveLength(1);
  });

  test('none with createNamespace: false, and none for a chart without a namespace', () => {
    expect(
      namespaced((chart) => new RedisPod(chart, 'redis', { createNamespace: false })).map((m) => m.kind),
    ).not.toContain('Namespace');
    expect(synth((chart) => new RedisPod(chart, 'redis')).map((m) => m.kind)).not.toContain('Namespace');
  });

  test('fails on createNamespace: true in a chart without a namespace', () => {
    expect(() => synth((chart) => new RedisPod(chart, 'redis', { createNamespace: true }))).toThrow(
      'test/redis: createNamespace: got true, expected a chart with a namespace, the Namespace object to write, or no createNamespace',
    );
  });
});
