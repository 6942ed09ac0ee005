import { Size } from 'cdk8s';
import { RabbitMQStatefulSet } from '../../constructs';
import { schemaError } from '../k8s-schema';
import { containerEnv, type Manifest, only, podSpec, synth } from '../manifests';
import { baselineViolations, restrictedViolations } from '../pod-security';

const IMAGE = 'job-wq:1';

describe('RabbitMQStatefulSet', () => {
  test('synthesizes a working broker with no props but the worker image for its credentials', () => {
    const manifests = synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { workerImage: IMAGE }));
    const service = only(manifests, 'Service', 'rabbitmq-service');
    expect(service.spec.ports).toEqual([{ name: 'amqp', port: 5672, targetPort: 5672 }]);

    const statefulSet = only(manifests, 'StatefulSet', 'rabbitmq');
    expect(statefulSet.spec.replicas).toBe(1);
    expect(statefulSet.spec.serviceName).toBe('rabbitmq-service');
    expect(service.spec.selector).toEqual(statefulSet.spec.selector.matchLabels);

    const container = podSpec(statefulSet).containers[0];
    expect(container.image).toMatch(/^rabbitmq:4\.\d+\.\d+$/);
    expect(container.readinessProbe.tcpSocket.port).toBe(5672);
    expect(container.livenessProbe.exec.command).toEqual(['rabbitmq-diagnostics', '-q', 'ping']);
    expect(container.startupProbe).toBeDefined();
    expect(container.resources.requests).toEqual({ cpu: '250m', memory: '512Mi' });
    expect(container.resources.limits).toEqual({ cpu: '1', memory: '1024Mi' });
    expect(container.volumeMounts).toEqual([
      {
        name: 'work-queue-config',
        mountPath: '/etc/rabbitmq/conf.d/30-work-queue.conf',
        subPath: '30-work-queue.conf',
        readOnly: true,
      },
      { name: 'data', mountPath: '/var/lib/rabbitmq' },
    ]);
    expect(statefulSet.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('1Gi');
  });

  test('runs as the image user 999 without root, with fsGroup for the volume', () => {
    const pod = podSpec(
      only(
        synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { workerImage: IMAGE })),
        'StatefulSet',
      ),
    );
    expect(pod.securityContext).toMatchObject({ runAsUser: 999, runAsGroup: 999, fsGroup: 999, runAsNonRoot: true });
    expect(pod.containers[0].securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  test('without a password, has the credentials Job create the Secret that broker and clients read, and never says guest', () => {
    let broker!: RabbitMQStatefulSet;
    const manifests = synth((chart) => (broker = new RabbitMQStatefulSet(chart, 'rabbitmq', { workerImage: IMAGE })));
    expect(manifests.filter((m) => m.kind === 'Secret')).toEqual([]);
    const credentials = JSON.parse(containerEnv(only(manifests, 'Job')).byName.CREDENTIALS.value);
    expect(credentials).toEqual([
      {
        name: 'rabbitmq-service-credentials',
        values: { username: 'work-queue' },
        generate: ['password'],
        labels: expect.any(Object),
      },
    ]);
    const env = containerEnv(only(manifests, 'StatefulSet'));
    expect(env.byName.RABBITMQ_DEFAULT_USER.valueFrom.secretKeyRef).toEqual({
      name: 'rabbitmq-service-credentials',
      key: 'username',
    });
    expect(env.byName.RABBITMQ_DEFAULT_PASS.valueFrom.secretKeyRef).toEqual({
      name: 'rabbitmq-service-credentials',
      key: 'password',
    });
    expect(broker.connection.credentials).toEqual({
      secretName: 'rabbitmq-service-credentials',
      usernameKey: 'username',
      passwordKey: 'password',
    });
    expect(JSON.stringify(manifests)).not.toContain('guest');
  });

  test('passes the credentials to the broker and to clients from the Secret', () => {
    const manifests = synth(
      (chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { username: 'app', password: 's3cret' }),
    );
    expect(only(manifests, 'Secret', 'rabbitmq-service-credentials').stringData).toEqual({
      username: 'app',
      password: 's3cret',
    });
    const env = containerEnv(only(manifests, 'StatefulSet'));
    expect(env.byName.RABBITMQ_DEFAULT_USER.valueFrom.secretKeyRef).toEqual({
      name: 'rabbitmq-service-credentials',
      key: 'username',
    });
    expect(env.byName.RABBITMQ_DEFAULT_PASS.valueFrom.secretKeyRef).toEqual({
      name: 'rabbitmq-service-credentials',
      key: 'password',
    });
    expect(JSON.stringify(only(manifests, 'StatefulSet'))).not.toContain('s3cret');
  });

  test('uses an existing Secret instead of creating one', () => {
    let broker!: RabbitMQStatefulSet;
    const manifests = synth(
      (chart) => (broker = new RabbitMQStatefulSet(chart, 'rabbitmq', { existingSecretName: 'mq-creds' })),
    );
    expect(manifests.filter((m) => m.kind === 'Secret')).toHaveLength(0);
    expect(containerEnv(only(manifests, 'StatefulSet')).byName.RABBITMQ_DEFAULT_PASS.valueFrom.secretKeyRef.name).toBe(
      'mq-creds',
    );
    expect(broker.clientEnv.map((e) => e.name)).toEqual(['BROKER_USERNAME', 'BROKER_PASSWORD', 'BROKER_URL']);
    expect(broker.clientEnv[2].value.value).toBe('amqp://$(BROKER_USERNAME):$(BROKER_PASSWORD)@rabbitmq-service:5672');
  });

  test('honours names, image, storage size and class', () => {
    const manifests = synth(
      (chart) =>
        new RabbitMQStatefulSet(chart, 'mq', {
          serviceName: 'mq',
          name: 'mq-broker',
          image: 'rabbitmq:4.0.9',
          storage: Size.gibibytes(20),
          storageClassName: 'fast',
          password: 'p',
        }),
    );
    const statefulSet = only(manifests, 'StatefulSet', 'mq-broker');
    expect(only(manifests, 'Service', 'mq')).toBeDefined();
    expect(podSpec(statefulSet).containers[0].image).toBe('rabbitmq:4.0.9');
    expect(statefulSet.spec.volumeClaimTemplates[0].spec).toMatchObject({
      storageClassName: 'fast',
      resources: { requests: { storage: '20Gi' } },
    });
  });

  test('admits only registered client pods on the AMQP port', () => {
    const policy = only(
      synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { workerImage: IMAGE })),
      'NetworkPolicy',
    );
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    expect(policy.spec.ingress).toEqual([
      {
        from: [{ podSelector: { matchLabels: { 'work-queue-stack.io/client-of': 'rabbitmq-service' } } }],
        ports: [{ port: 5672, protocol: 'TCP' }],
      },
    ]);
  });

  test('takes a storage Size as its Kubernetes quantity, and fails on an empty one or on what is not a Size', () => {
    const claimStorage = (storage: Size) =>
      only(
        synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { storage, password: 'p' })),
        'StatefulSet',
      ).spec.volumeClaimTemplates[0].spec.resources.requests.storage;
    expect(claimStorage(Size.mebibytes(512))).toBe('512Mi');
    expect(claimStorage(Size.tebibytes(1))).toBe('1Ti');
    expect(() => synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { storage: Size.gibibytes(0) }))).toThrow(
      'test/rabbitmq: storage as a quantity: got "0Gi", expected a positive Kubernetes quantity such as "1Gi", "512Mi" or "10G"',
    );
    expect(() =>
      synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { storage: '1Gi' as unknown as Size })),
    ).toThrow('test/rabbitmq: storage: got "1Gi", expected a Size, such as Size.gibibytes(1)');
  });

  test('fails on a service name that is not a DNS-1123 label', () => {
    expect(() =>
      synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { serviceName: 'RabbitMQ_Service' })),
    ).toThrow(/test\/rabbitmq: serviceName: got "RabbitMQ_Service", expected a DNS-1123 label/);
    expect(() => synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { name: 'x'.repeat(64) }))).toThrow(
      /name: got "x{64}", expected a DNS-1123 label/,
    );
  });

  test('fails on credentials that cannot go into a URL unencoded', () => {
    expect(() => synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { password: 'p@ss:word' }))).toThrow(
      'test/rabbitmq: password: got "[secret]", expected a non-empty string of A-Z a-z 0-9 . _ ~ - (it is placed into BROKER_URL without encoding)',
    );
  });

  test('fails when both an existing Secret and credentials are given', () => {
    expect(() =>
      synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { existingSecretName: 'x', password: 'p' })),
    ).toThrow(/existingSecretName: got "x", expected either existingSecretName or username\/password, not both/);
  });

  describe('replicas: 3, a cluster', () => {
    let manifests: Manifest[];
    beforeAll(() => {
      manifests = synth(
        (chart) =>
          new RabbitMQStatefulSet(chart, 'rabbitmq', { replicas: 3, password: 'p', erlangCookie: 'shared-cookie' }),
      );
    });

    test('every object is valid, the pods meet "baseline"', () => {
      for (const manifest of manifests) expect(schemaError(manifest)).toBeUndefined();
      const pod = podSpec(only(manifests, 'StatefulSet'));
      expect(baselineViolations(pod)).toEqual([]);
      expect(restrictedViolations({ ...pod, containers: pod.initContainers })).toEqual([]);
    });

    test('three nodes started in parallel behind a headless Service that names them before they are ready', () => {
      const statefulSet = only(manifests, 'StatefulSet', 'rabbitmq');
      expect(statefulSet.spec.replicas).toBe(3);
      expect(statefulSet.spec.podManagementPolicy).toBe('Parallel');
      expect(statefulSet.spec.serviceName).toBe('rabbitmq-nodes');
      const nodes = only(manifests, 'Service', 'rabbitmq-nodes');
      expect(nodes.spec.clusterIP).toBe('None');
      expect(nodes.spec.publishNotReadyAddresses).toBe(true);
      expect(nodes.spec.ports.map((p: { port: number }) => p.port)).toEqual([5672, 4369, 25672]);
      const client = only(manifests, 'Service', 'rabbitmq-service');
      expect(client.spec.selector).toEqual(statefulSet.spec.selector.matchLabels);
      expect(client.spec.clusterIP).toBeUndefined();
    });

    test('long node names from the pod name, classic peer discovery listing every node, pause_minority', () => {
      const statefulSet = only(manifests, 'StatefulSet');
      const env = containerEnv(statefulSet).byName;
      expect(env.POD_NAME.valueFrom.fieldRef.fieldPath).toBe('metadata.name');
      expect(env.RABBITMQ_USE_LONGNAME.value).toBe('true');
      expect(env.RABBITMQ_NODENAME.value).toBe('rabbit@$(POD_NAME).rabbitmq-nodes');
      const config = only(manifests, 'ConfigMap', 'rabbitmq-cluster').data['20-cluster.conf'];
      expect(config.split('\n')).toEqual([
        'cluster_formation.peer_discovery_backend = classic_config',
        'cluster_formation.classic_config.nodes.1 = rabbit@rabbitmq-0.rabbitmq-nodes',
        'cluster_formation.classic_config.nodes.2 = rabbit@rabbitmq-1.rabbitmq-nodes',
        'cluster_formation.classic_config.nodes.3 = rabbit@rabbitmq-2.rabbitmq-nodes',
        'cluster_partition_handling = pause_minority',
        '',
      ]);
      expect(podSpec(statefulSet).containers[0].volumeMounts).toEqual([
        {
          name: 'cluster-config',
          mountPath: '/etc/rabbitmq/conf.d/20-cluster.conf',
          subPath: '20-cluster.conf',
          readOnly: true,
        },
        {
          name: 'work-queue-config',
          mountPath: '/etc/rabbitmq/conf.d/30-work-queue.conf',
          subPath: '30-work-queue.conf',
          readOnly: true,
        },
        { name: 'data', mountPath: '/var/lib/rabbitmq' },
      ]);
    });

    test('the Erlang cookie from a Secret, copied owner-only onto the data volume before the node starts', () => {
      expect(only(manifests, 'Secret', 'rabbitmq-service-erlang-cookie').stringData).toEqual({
        cookie: 'shared-cookie',
      });
      const [init] = podSpec(only(manifests, 'StatefulSet')).initContainers;
      expect(init.command.join(' ')).toContain(
        'install -m 0400 /etc/rabbitmq-cookie/cookie /var/lib/rabbitmq/.erlang.cookie',
      );
      expect(init.volumeMounts).toEqual([
        { name: 'erlang-cookie', mountPath: '/etc/rabbitmq-cookie', readOnly: true },
        { name: 'data', mountPath: '/var/lib/rabbitmq' },
      ]);
      // Without erlangCookie, the credentials Job creates the Secret the pods mount.
      const generated = synth(
        (chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { replicas: 3, password: 'p', workerImage: IMAGE }),
      );
      expect(generated.filter((m) => m.kind === 'Secret').map((m) => m.metadata.name)).toEqual([
        'rabbitmq-service-credentials',
      ]);
      expect(JSON.parse(containerEnv(only(generated, 'Job')).byName.CREDENTIALS.value)).toEqual([
        { name: 'rabbitmq-service-erlang-cookie', generate: ['cookie'], labels: expect.any(Object) },
      ]);
      const volumes = podSpec(only(generated, 'StatefulSet')).volumes;
      expect(volumes).toContainEqual({
        name: 'erlang-cookie',
        secret: { secretName: 'rabbitmq-service-erlang-cookie' },
      });
    });

    test('one node down at a time, spread over nodes and zones, inter-node traffic between the broker pods only', () => {
      const budget = only(manifests, 'PodDisruptionBudget', 'rabbitmq');
      expect(budget.spec.maxUnavailable).toBe(1);
      const labels = only(manifests, 'StatefulSet').spec.template.metadata.labels;
      for (const [key, value] of Object.entries(budget.spec.selector.matchLabels)) expect(labels[key]).toBe(value);
      const spread = podSpec(only(manifests, 'StatefulSet')).topologySpreadConstraints;
      expect(
        spread.map((c: { topologyKey: string; whenUnsatisfiable: string }) => [c.topologyKey, c.whenUnsatisfiable]),
      ).toEqual([
        ['kubernetes.io/hostname', 'DoNotSchedule'],
        ['topology.kubernetes.io/zone', 'ScheduleAnyway'],
      ]);
      const policy = only(manifests, 'NetworkPolicy');
      expect(policy.spec.ingress).toEqual([
        {
          from: [{ podSelector: { matchLabels: { 'work-queue-stack.io/client-of': 'rabbitmq-service' } } }],
          ports: [{ port: 5672, protocol: 'TCP' }],
        },
        {
          from: [{ podSelector: { matchLabels: budget.spec.selector.matchLabels } }],
          ports: [
            { port: 4369, protocol: 'TCP' },
            { port: 25672, protocol: 'TCP' },
          ],
        },
      ]);
    });
  });

  test('clients of a cluster declare their quorum queues with a member on every node (BROKER_REPLICAS); those of a single node leave it to RabbitMQ', () => {
    const clientEnv = (replicas: number) => {
      let broker: RabbitMQStatefulSet | undefined;
      synth((chart) => {
        broker = new RabbitMQStatefulSet(chart, 'rabbitmq', { replicas, workerImage: IMAGE });
      });
      return Object.fromEntries(broker!.clientEnv.map(({ name, value }) => [name, value.value]));
    };
    expect(clientEnv(3).BROKER_REPLICAS).toBe('3');
    expect(clientEnv(5).BROKER_REPLICAS).toBe('5');
    expect(clientEnv(1)).not.toHaveProperty('BROKER_REPLICAS');
  });

  test('a single node has none of the cluster parts', () => {
    const manifests = synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { password: 'p' }));
    expect(manifests.map((m) => m.kind).sort()).toEqual([
      'ConfigMap',
      'NetworkPolicy',
      'Secret',
      'Service',
      'StatefulSet',
    ]);
    expect(manifests.find((m) => m.kind === 'ConfigMap')!.metadata.name).toBe('rabbitmq-work-queue');
    expect(podSpec(only(manifests, 'StatefulSet')).initContainers).toBeUndefined();
  });

  test('fails on 2 or 0 replicas, saying why, and on an Erlang cookie for a single node', () => {
    for (const replicas of [2, 0, 4, 1.5]) {
      expect(() => synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { replicas }))).toThrow(
        `test/rabbitmq: replicas: got ${replicas}, expected 1, or an odd number of at least 3: a cluster goes on while a majority of its members is up`,
      );
    }
    expect(() => synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', { erlangCookie: 'c' }))).toThrow(
      'test/rabbitmq: erlangCookie: got "[secret]", expected no erlangCookie for a single node',
    );
  });

  test('fails on a bad password or Erlang cookie without showing its value', () => {
    for (const props of [{ password: 'has a space' }, { replicas: 3, erlangCookie: 'has/slash' }]) {
      const error = (() => {
        try {
          synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq', props));
        } catch (thrown) {
          return (thrown as Error).message;
        }
        return 'no error';
      })();
      expect(error).toMatch(/: (password|erlangCookie): got "\[secret\]", expected a non-empty string of A-Z a-z 0-9/);
      expect(error).not.toMatch(/has a space|has\/slash/);
    }
  });
});
