import { Size } from 'cdk8s';
import { RedisPod, WorkQueueJob } from '../../constructs';
import { redisPreStopScript } from '../../constructs/redis-sentinel-scripts';
import { schemaError } from '../k8s-schema';
import { containerEnv, type Manifest, type ManifestValue, only, onlyJob, podSpec, synth } from '../manifests';
import { restrictedViolations } from '../pod-security';

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
    for (const [key, value] of Object.entries(service.spec.selector))
      expect(statefulSet.spec.template.metadata.labels[key]).toBe(value);
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

  test('keeps the append-only file on the claim of a volumeClaimTemplate with storage, so the queue survives the pod', () => {
    const manifests = synth(
      (chart) => new RedisPod(chart, 'redis', { storage: Size.gibibytes(2), storageClassName: 'fast-ssd' }),
    );
    expect(manifests.filter((m) => m.kind === 'PersistentVolumeClaim')).toEqual([]);
    const statefulSet = only(manifests, 'StatefulSet', 'redis-master');
    const [claim] = statefulSet.spec.volumeClaimTemplates;
    expect(claim.metadata.name).toBe('data');
    expect(claim.spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '2Gi' } },
      storageClassName: 'fast-ssd',
    });
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

  test('a given name names the StatefulSet, whose one pod is <name>-0', () => {
    let broker!: RedisPod;
    const manifests = synth((chart) => (broker = new RedisPod(chart, 'redis', { name: 'queue' })));
    expect(only(manifests, 'StatefulSet', 'queue')).toBeDefined();
    expect(broker.statefulSet.name).toBe('queue');
  });

  test('fails on an empty storage, and on a storageClassName without storage', () => {
    expect(() => synth((chart) => new RedisPod(chart, 'redis', { storage: Size.mebibytes(0) }))).toThrow(
      'test/redis: storage as a quantity: got "0Mi", expected a positive Kubernetes quantity',
    );
    expect(() => synth((chart) => new RedisPod(chart, 'redis', { storageClassName: 'ssd' }))).toThrow(
      'test/redis: storageClassName: got "ssd", expected no storageClassName without storage',
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
    expect(pod.containers[0].securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
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
    expect(policy.spec.ingress[0].from).toEqual([
      { podSelector: { matchLabels: { 'work-queue-stack.io/client-of': 'redis' } } },
    ]);
    expect(policy.spec.ingress[0].ports).toEqual([{ port: 6379, protocol: 'TCP' }]);
  });

  test('fails on a pod name that is not a DNS-1123 label', () => {
    expect(() => synth((chart) => new RedisPod(chart, 'redis', { name: '-redis' }))).toThrow(
      /test\/redis: name: got "-redis", expected a DNS-1123 label/,
    );
  });

  describe('with replicas', () => {
    const IMAGE = 'registry.local/job-wq@sha256:' + 'c'.repeat(64);
    /** A replicated RedisPod (and a client Job of it), in namespace `batch`. */
    const replicated = (props: ConstructorParameters<typeof RedisPod>[2] = {}, withClient = false): Manifest[] =>
      synth((chart) => {
        const broker = new RedisPod(chart, 'redis', { replicas: 3, ...props });
        if (withClient)
          new WorkQueueJob(chart, 'job', {
            broker,
            queue: 'job2',
            image: IMAGE,
            pattern: 'fine',
            parallelism: 2,
            externalProducer: true,
            name: 'job',
          });
      });
    const containers = (manifests: Manifest[]): Record<string, ManifestValue> =>
      Object.fromEntries(podSpec(only(manifests, 'StatefulSet')).containers.map((c: ManifestValue) => [c.name, c]));

    test('a StatefulSet of 3 with a data node and a Sentinel in each pod, governed by a headless Service; clients reach Sentinel', () => {
      let broker!: RedisPod;
      const manifests = synth((chart) => (broker = new RedisPod(chart, 'redis', { replicas: 3 })));
      for (const manifest of manifests) expect(schemaError(manifest)).toBeUndefined();
      const statefulSet = only(manifests, 'StatefulSet', 'redis-master');
      expect(statefulSet.spec.replicas).toBe(3);
      expect(statefulSet.spec.serviceName).toBe('redis-master-nodes');
      expect(statefulSet.spec.podManagementPolicy).toBe('Parallel');
      expect(podSpec(statefulSet).containers.map((c: ManifestValue) => c.name)).toEqual(['redis', 'sentinel']);
      expect(restrictedViolations(podSpec(statefulSet))).toEqual([]);

      const nodes = only(manifests, 'Service', 'redis-master-nodes');
      expect(nodes.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
      expect(nodes.spec.ports).toEqual([
        { name: 'redis', port: 6379, targetPort: 6379 },
        { name: 'sentinel', port: 26379, targetPort: 26379 },
      ]);
      const service = only(manifests, 'Service', 'redis');
      expect(service.spec.ports).toEqual([{ name: 'sentinel', port: 26379, targetPort: 26379 }]);
      for (const selecting of [service, nodes])
        expect(selecting.spec.selector).toEqual(statefulSet.spec.selector.matchLabels);

      expect(broker.connection).toMatchObject({
        host: 'redis',
        port: 26379,
        sentinelMaster: 'redis-master',
        path: '/0',
      });
      expect(broker.clientEnv.map((e) => [e.name, e.value.value])).toEqual([
        ['BROKER_URL', 'redis+sentinel://redis:26379/redis-master/0'],
      ]);
      expect(broker.replicas).toBe(3);
    });

    test('both containers start from the scripts with the env contract, in ordinal order, POD_NAME and POD_NAMESPACE defined first', () => {
      const manifests = replicated({ name: 'queue' });
      const { redis, sentinel } = containers(manifests);
      expect(redis.command.slice(0, 2)).toEqual(['sh', '-c']);
      expect(redis.command[3]).toBe('redis');
      expect(redis.command[2]).toMatch(/exec redis-server "\$conf" "\$@"\n$/);
      expect(redis.args).toEqual(['--dir', '/data']);
      expect(sentinel.command[3]).toBe('sentinel');
      expect(sentinel.command[2]).toMatch(/exec redis-server "\$conf" --sentinel "\$@"\n$/);
      expect(sentinel.args).toBeUndefined();
      for (const index of [0, 1]) {
        const env = containerEnv(only(manifests, 'StatefulSet'), index);
        expect(env.names).toEqual([
          'POD_NAME',
          'POD_NAMESPACE',
          'REDIS_NODE',
          'REDIS_NODES',
          'REDIS_MASTER_NAME',
          'CONFIG_DIRECTORY',
        ]);
        expect(env.byName.POD_NAME.valueFrom.fieldRef.fieldPath).toBe('metadata.name');
        expect(env.byName.POD_NAMESPACE.valueFrom.fieldRef.fieldPath).toBe('metadata.namespace');
        expect(env.byName.REDIS_NODE.value).toBe('$(POD_NAME).queue-nodes.$(POD_NAMESPACE).svc');
        expect(env.byName.REDIS_NODES.value).toBe(
          'queue-0.queue-nodes.$(POD_NAMESPACE).svc queue-1.queue-nodes.$(POD_NAMESPACE).svc queue-2.queue-nodes.$(POD_NAMESPACE).svc',
        );
        expect(env.byName.REDIS_MASTER_NAME.value).toBe('queue');
        expect(env.byName.CONFIG_DIRECTORY.value).toBe('/tmp');
      }
    });

    test('Sentinel monitors the primary by name with a quorum of 2, hostnames resolved and announced, and the timings', () => {
      const script: string = containers(replicated()).sentinel.command[2];
      const lines = script.split('\n').map((line) => line.trim());
      expect(lines).toContain(`printf 'sentinel monitor %s %s 6379 2\\n' "$REDIS_MASTER_NAME" "$primary"`);
      expect(script.indexOf('sentinel resolve-hostnames yes')).toBeLessThan(script.indexOf('sentinel monitor'));
      expect(script).toContain('sentinel announce-hostnames yes');
      expect(lines).toContain(`printf 'sentinel announce-ip %s\\n' "$REDIS_NODE"`);
      expect(lines).toContain(`printf 'sentinel down-after-milliseconds %s 5000\\n' "$REDIS_MASTER_NAME"`);
      expect(lines).toContain(`printf 'sentinel failover-timeout %s 10000\\n' "$REDIS_MASTER_NAME"`);
      expect(lines).toContain(`printf 'sentinel parallel-syncs %s 1\\n' "$REDIS_MASTER_NAME"`);
      expect(script).toContain('conf="$CONFIG_DIRECTORY/sentinel.conf"');
      // Each start asks the Sentinels for the current primary before it falls back to the first member.
      expect(script).toContain(
        'timeout 3 redis-cli -h "$node" -p 26379 --raw SENTINEL get-master-addr-by-name "$REDIS_MASTER_NAME"',
      );
    });

    test('data nodes: a replica of the primary unless it is the primary, and a primary cut off from its replicas stops taking writes', () => {
      const script: string = containers(replicated()).redis.command[2];
      expect(script).toContain(`if [ "$primary" != "$REDIS_NODE" ]; then printf 'replicaof %s 6379\\n' "$primary"; fi`);
      expect(script).toContain(`printf 'replica-announce-ip %s\\n' "$REDIS_NODE"`);
      expect(script).toContain('min-replicas-to-write 1\\nmin-replicas-max-lag 10\\n');
      expect(script).toContain('appendonly yes\\nappendfsync everysec\\nmaxmemory-policy noeviction\\n');
      expect(script).toContain('conf="$CONFIG_DIRECTORY/redis.conf"');
    });

    test("the primary's data node hands over to a replica before it stops (preStop hook), within a 60 s grace period", () => {
      const manifests = replicated({ storage: Size.gibibytes(2) });
      const { redis, sentinel } = containers(manifests);
      expect(redis.lifecycle).toEqual({
        preStop: { exec: { command: ['sh', '-c', redisPreStopScript(3), 'redis-pre-stop'] } },
      });
      expect(sentinel.lifecycle).toBeUndefined();
      expect(podSpec(only(manifests, 'StatefulSet')).terminationGracePeriodSeconds).toBe(60);
      const hook = redisPreStopScript(3);
      // Only the node a Sentinel names primary refuses writes from then on (more replicas wanted than
      // it has), asks for a failover, and waits at most 30 s for another primary.
      expect(hook).toContain(
        'if [ "$(sentinel_primary)" = "$REDIS_NODE" ]; then\n' +
          '  redis-cli -h "$REDIS_NODE" -p 6379 CONFIG SET min-replicas-to-write 3 > /dev/null 2>&1 || true\n' +
          '  fail_over 30 > /dev/null || true\nfi',
      );
      expect(hook).toContain('SENTINEL FAILOVER "$REDIS_MASTER_NAME"');
      expect(hook.trimEnd().endsWith('exit 0')).toBe(true);
      for (const manifest of manifests) expect(schemaError(manifest)).toBeUndefined();

      const singleManifests = synth((chart) => new RedisPod(chart, 'redis'));
      const single = podSpec(only(singleManifests, 'StatefulSet'));
      expect(single.containers[0].lifecycle).toBeUndefined();
      expect(single.terminationGracePeriodSeconds).toBe(30);
    });

    test('a data node named primary with an empty data directory has a replica promoted and replicates it instead', () => {
      const script: string = containers(replicated()).redis.command[2];
      expect(script).toContain(
        'if [ "$primary" = "$REDIS_NODE" ] && [ ! -e "$dir/appendonlydir" ] && [ ! -e "$dir/dump.rdb" ]; then',
      );
      expect(script).toContain('if promoted=$(fail_over 20); then');
      expect(script.indexOf('fail_over 20')).toBeLessThan(script.indexOf('replicaof'));
      expect(containers(replicated()).sentinel.command[2]).not.toContain('fail_over');
    });

    test('each container writes its config into an in-memory scratch volume of its own; Sentinel has its own small budget and probes', () => {
      const manifests = replicated();
      const { redis, sentinel } = containers(manifests);
      const volumes = podSpec(only(manifests, 'StatefulSet')).volumes;
      expect(redis.volumeMounts).toEqual(expect.arrayContaining([{ name: 'tmp', mountPath: '/tmp' }]));
      expect(sentinel.volumeMounts).toEqual([{ name: 'sentinel-tmp', mountPath: '/tmp' }]);
      for (const name of ['tmp', 'sentinel-tmp'])
        expect(volumes).toContainEqual({ name, emptyDir: { medium: 'Memory', sizeLimit: '1Mi' } });
      expect(sentinel.readinessProbe.exec.command).toEqual(['sh', '-c', 'redis-cli -p 26379 ping | grep -q PONG']);
      expect(sentinel.livenessProbe.exec.command).toEqual(['sh', '-c', 'redis-cli -p 26379 ping | grep -q PONG']);
      // A data node is ready as the primary or as a replica with its link up, not while it copies the data set.
      expect(redis.readinessProbe.exec.command).toEqual([
        'sh',
        '-c',
        "redis-cli info replication | grep -q -e '^role:master' -e '^master_link_status:up'",
      ]);
      expect(redis.livenessProbe.exec.command).toEqual(['sh', '-c', 'redis-cli ping | grep -q PONG']);
      expect(sentinel.resources).toEqual({
        requests: { cpu: '50m', memory: '32Mi' },
        limits: { cpu: '500m', memory: '128Mi' },
      });
      expect(redis.resources.requests).toEqual({ cpu: '100m', memory: '256Mi' });
      for (const container of [redis, sentinel]) {
        expect(container.securityContext).toMatchObject({
          runAsUser: 999,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        });
      }
    });

    test('with storage, every data node has a claim of its own', () => {
      const manifests = replicated({ storage: Size.gibibytes(2) });
      const statefulSet = only(manifests, 'StatefulSet');
      expect(statefulSet.spec.volumeClaimTemplates.map((claim: ManifestValue) => claim.metadata.name)).toEqual([
        'data',
      ]);
      expect(containers(manifests).redis.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
      expect(containers(manifests).sentinel.volumeMounts).not.toContainEqual({ name: 'data', mountPath: '/data' });
      for (const manifest of manifests) expect(schemaError(manifest)).toBeUndefined();
    });

    test('a PodDisruptionBudget lets one member go at a time; members spread over nodes, and over zones where there are', () => {
      const manifests = replicated();
      const statefulSet = only(manifests, 'StatefulSet');
      const selector = statefulSet.spec.template.metadata.labels;
      const budget = only(manifests, 'PodDisruptionBudget', 'redis-master');
      expect(budget.spec.maxUnavailable).toBe(1);
      for (const [key, value] of Object.entries(budget.spec.selector.matchLabels)) expect(selector[key]).toBe(value);
      expect(
        podSpec(statefulSet).topologySpreadConstraints.map((c: ManifestValue) => [
          c.topologyKey,
          c.whenUnsatisfiable,
          c.maxSkew,
        ]),
      ).toEqual([
        ['kubernetes.io/hostname', 'DoNotSchedule', 1],
        ['topology.kubernetes.io/zone', 'ScheduleAnyway', 1],
      ]);
    });

    test('the NetworkPolicy admits clients to the data port and Sentinel, and the members to each other on both', () => {
      const manifests = replicated();
      const [clients, members] = only(manifests, 'NetworkPolicy').spec.ingress;
      const both = [
        { port: 6379, protocol: 'TCP' },
        { port: 26379, protocol: 'TCP' },
      ];
      expect(clients).toEqual({
        from: [{ podSelector: { matchLabels: { 'work-queue-stack.io/client-of': 'redis' } } }],
        ports: both,
      });
      const podLabels = only(manifests, 'StatefulSet').spec.template.metadata.labels;
      expect(members.ports).toEqual(both);
      for (const [key, value] of Object.entries(members.from[0].podSelector.matchLabels))
        expect(podLabels[key]).toBe(value);
    });

    test("with a password: both containers and the clients read it from the Secret, never as a literal; clients' BROKER_URL asks Sentinel", () => {
      const manifests = replicated({ password: 'hunter2' }, true);
      expect(only(manifests, 'Secret', 'redis-credentials').stringData).toEqual({ password: 'hunter2' });
      expect(JSON.stringify(manifests.filter((m) => m.kind !== 'Secret'))).not.toContain('hunter2');
      for (const index of [0, 1]) {
        const env = containerEnv(only(manifests, 'StatefulSet'), index);
        expect(env.names.slice(-2)).toEqual(['REDIS_PASSWORD', 'REDISCLI_AUTH']);
        for (const name of ['REDIS_PASSWORD', 'REDISCLI_AUTH'])
          expect(env.byName[name]).toEqual({
            name,
            valueFrom: { secretKeyRef: { name: 'redis-credentials', key: 'password' } },
          });
      }
      const { redis, sentinel } = containers(manifests);
      expect(redis.command[2]).toContain(
        `printf 'requirepass %s\\nmasterauth %s\\n' "$REDIS_PASSWORD" "$REDIS_PASSWORD"`,
      );
      expect(sentinel.command[2]).toContain(
        `printf 'requirepass %s\\nsentinel auth-pass %s %s\\nsentinel sentinel-pass %s\\n' "$REDIS_PASSWORD" "$REDIS_MASTER_NAME" "$REDIS_PASSWORD" "$REDIS_PASSWORD"`,
      );
      const client = containerEnv(onlyJob(manifests, 'job'));
      expect(client.byName.BROKER_PASSWORD.valueFrom.secretKeyRef).toEqual({
        name: 'redis-credentials',
        key: 'password',
      });
      expect(client.byName.BROKER_URL.value).toBe('redis+sentinel://:$(BROKER_PASSWORD)@redis:26379/redis-master/0');
      expect(client.names.indexOf('BROKER_PASSWORD')).toBeLessThan(client.names.indexOf('BROKER_URL'));
      for (const manifest of manifests) expect(schemaError(manifest)).toBeUndefined();
    });

    test('5 replicas: a quorum of 3, five members listed', () => {
      const manifests = replicated({ replicas: 5 });
      expect(only(manifests, 'StatefulSet').spec.replicas).toBe(5);
      expect(containers(manifests).sentinel.command[2]).toContain(`printf 'sentinel monitor %s %s 6379 3\\n'`);
      expect(containerEnv(only(manifests, 'StatefulSet')).byName.REDIS_NODES.value.split(' ')).toHaveLength(5);
    });

    test('fails on 2 replicas (and 0, 4, 1.5), saying what is expected and why, as RabbitMQ does', () => {
      for (const replicas of [2, 0, 4, 1.5]) {
        expect(() => synth((chart) => new RedisPod(chart, 'redis', { replicas }))).toThrow(
          `test/redis: replicas: got ${replicas}, expected 1, or an odd number of at least 3: a cluster goes on while a majority of its members is up, ` +
            'so 2 members stop when one is lost',
        );
      }
    });
  });
});
