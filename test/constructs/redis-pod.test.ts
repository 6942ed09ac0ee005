import { RedisPod } from '../../constructs';
import { schemaError } from '../k8s-schema';
import { containerEnv, only, podSpec, synth } from '../manifests';

describe('RedisPod', () => {
  test('synthesizes a working broker with no props: a StatefulSet of one, whose pod the Service selects', () => {
    let broker!: RedisPod;
    const manifests = synth((chart) => (broker = new RedisPod(chart, 'redis')));
    expect(manifests.filter((m) => m.kind === 'Pod')).toEqual([]);
    const statefulSet = only(manifests, 'StatefulSet', 'redis-master');
    expect(statefulSet.spec.replicas).toBe(1);
    const service = only(manifests, 'Service', 'redis');
    expect(statefulSet.spec.serviceName).toBe('redis');
    expect(service.spec.ports).toEqual([{ name: 'redis', port: 6379, targetPort: 6379 }]);
    expect(service.spec.selector).toEqual(statefulSet.spec.selector.matchLabels);
    for (const [key, value] of Object.entries(service.spec.selector)) expect(statefulSet.spec.template.metadata.labels[key]).toBe(value);
    for (const manifest of manifests) expect(schemaError(manifest)).toBeUndefined();

    const container = podSpec(statefulSet).containers[0];
    expect(container.image).toBe('valkey/valkey:8.1.1');
    expect(container.command).toEqual(['redis-server']);
    expect(container.args).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--dir', '/data']));
    expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    expect(container.readinessProbe.exec.command).toEqual(['sh', '-c', 'redis-cli ping | grep -q PONG']);
    expect(container.livenessProbe.exec).toBeDefined();
    expect(container.resources.requests).toEqual({ cpu: '100m', memory: '256Mi' });
    expect(manifests.filter((m) => m.kind === 'Secret')).toHaveLength(0);
    expect(broker.clientEnv.map((e) => [e.name, e.value.value])).toEqual([['BROKER_URL', 'redis://redis:6379']]);
  });

  test('defaults to Valkey 8.1 (BSD-3) and runs a Redis image given as image with the same user, command, probes and password variable', () => {
    const start = (image?: string) => {
      const manifests = synth((chart) => new RedisPod(chart, 'redis', { image, password: 's3cret' }));
      const statefulSet = only(manifests, 'StatefulSet', 'redis-master');
      const pod = podSpec(statefulSet);
      const [container] = pod.containers;
      return {
        user: [pod.securityContext.runAsUser, container.securityContext.runAsUser],
        command: container.command,
        probe: container.readinessProbe.exec.command,
        auth: containerEnv(statefulSet).byName.REDISCLI_AUTH,
        image: container.image,
      };
    };
    const valkey = start();
    expect(valkey.image).toBe('valkey/valkey:8.1.1');
    // Both images have redis-server and redis-cli (links to valkey-server and valkey-cli in Valkey's),
    // a uid 999 user, and a CLI that reads REDISCLI_AUTH.
    expect(valkey.command.join(' ')).toContain('exec redis-server ');
    expect(valkey.probe).toEqual(['sh', '-c', 'redis-cli ping | grep -q PONG']);
    expect(valkey.user).toEqual([999, 999]);
    expect(valkey.auth).toBeDefined();
    expect(start('redis:8.0.2')).toEqual({ ...valkey, image: 'redis:8.0.2' });
  });

  test('keeps the append-only file on the claim of a volumeClaimTemplate with storageSize, so the queue survives the pod', () => {
    const manifests = synth((chart) => new RedisPod(chart, 'redis', { storageSize: '2Gi', storageClassName: 'fast-ssd' }));
    expect(manifests.filter((m) => m.kind === 'PersistentVolumeClaim')).toEqual([]);
    const statefulSet = only(manifests, 'StatefulSet', 'redis-master');
    const [claim] = statefulSet.spec.volumeClaimTemplates;
    expect(claim.metadata.name).toBe('data');
    expect(claim.spec).toEqual({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } }, storageClassName: 'fast-ssd' });
    const pod = podSpec(statefulSet);
    expect(pod.volumes.map((v: { name: string }) => v.name)).not.toContain('data');
    expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    for (const manifest of manifests) expect(schemaError(manifest)).toBeUndefined();

    const withoutClaim = only(
      synth((chart) => new RedisPod(chart, 'redis')),
      'StatefulSet',
    );
    expect(withoutClaim.spec.volumeClaimTemplates).toBeUndefined();
    expect(podSpec(withoutClaim).volumes).toContainEqual({ name: 'data', emptyDir: {} });
  });

  test('a given podName names the StatefulSet, whose one pod is <podName>-0', () => {
    let broker!: RedisPod;
    const manifests = synth((chart) => (broker = new RedisPod(chart, 'redis', { podName: 'queue' })));
    expect(only(manifests, 'StatefulSet', 'queue')).toBeDefined();
    expect(broker.statefulSet.name).toBe('queue');
  });

  test('fails on a bad storageSize, and on a storageClassName without storageSize', () => {
    expect(() => synth((chart) => new RedisPod(chart, 'redis', { storageSize: 'big' }))).toThrow(
      'test/redis: storageSize: got "big", expected a positive Kubernetes quantity',
    );
    expect(() => synth((chart) => new RedisPod(chart, 'redis', { storageClassName: 'ssd' }))).toThrow(
      'test/redis: storageClassName: got "ssd", expected no storageClassName without storageSize',
    );
  });

  test('never evicts queue data', () => {
    const container = podSpec(
      only(
        synth((chart) => new RedisPod(chart, 'redis')),
        'StatefulSet',
      ),
    ).containers[0];
    const args: string[] = container.args;
    expect(args[args.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
  });

  test('runs non-root with a read-only root filesystem', () => {
    const pod = podSpec(
      only(
        synth((chart) => new RedisPod(chart, 'redis')),
        'StatefulSet',
      ),
    );
    expect(pod.securityContext).toMatchObject({ runAsUser: 999, fsGroup: 999, runAsNonRoot: true });
    expect(pod.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
  });

  test('requires a password from a Secret when one is given, without putting it in the pod spec', () => {
    let broker!: RedisPod;
    const manifests = synth((chart) => (broker = new RedisPod(chart, 'redis', { password: 'hunter2' })));
    expect(only(manifests, 'Secret', 'redis-credentials').stringData).toEqual({ password: 'hunter2' });
    const pod = only(manifests, 'StatefulSet');
    expect(JSON.stringify(pod)).not.toContain('hunter2');
    const container = podSpec(pod).containers[0];
    expect(container.command.join(' ')).toContain('requirepass');
    const env = containerEnv(pod);
    expect(env.byName.REDIS_PASSWORD.valueFrom.secretKeyRef).toEqual({ name: 'redis-credentials', key: 'password' });
    expect(env.byName.REDISCLI_AUTH.valueFrom.secretKeyRef).toEqual({ name: 'redis-credentials', key: 'password' });
    expect(broker.clientEnv.map((e) => e.name)).toEqual(['BROKER_PASSWORD', 'BROKER_URL']);
    expect(broker.clientEnv[1].value.value).toBe('redis://:$(BROKER_PASSWORD)@redis:6379');
  });

  test('admits only registered client pods on the Redis port', () => {
    const policy = only(
      synth((chart) => new RedisPod(chart, 'redis')),
      'NetworkPolicy',
    );
    expect(policy.spec.ingress[0].from).toEqual([{ podSelector: { matchLabels: { 'work-queue-stack.io/client-of': 'redis' } } }]);
    expect(policy.spec.ingress[0].ports).toEqual([{ port: 6379, protocol: 'TCP' }]);
  });

  test('fails on a pod name that is not a DNS-1123 label', () => {
    expect(() => synth((chart) => new RedisPod(chart, 'redis', { podName: '-redis' }))).toThrow(
      /test\/redis: podName: got "-redis", expected a DNS-1123 label/,
    );
  });
});
