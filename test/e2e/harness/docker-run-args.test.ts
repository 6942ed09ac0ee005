import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { dockerRunArgs, type DockerRunInput } from './docker-run-args';

const restricted: IContainer = {
  name: 'work-queue',
  image: '127.0.0.1:5000/work-queue@sha256:0123',
  args: ['work'],
  resources: { limits: { cpu: '1', memory: '512Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
  securityContext: {
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    privileged: false,
    readOnlyRootFilesystem: true,
    runAsGroup: 1000,
    runAsNonRoot: true,
    runAsUser: 1000,
    seccompProfile: { type: 'RuntimeDefault' },
  },
  volumeMounts: [
    { mountPath: '/tmp', name: 'tmp' },
    { mountPath: '/etc/work-queue', name: 'items', readOnly: true },
  ],
};

function input(
  container: IContainer,
  spec: Partial<IPodSpec> = {},
  extra: Partial<DockerRunInput> = {},
): DockerRunInput {
  return {
    podName: 'job-wq-1-abcde',
    spec: { containers: [container], restartPolicy: 'Never', terminationGracePeriodSeconds: 30, ...spec },
    container,
    env: new Map([
      ['QUEUE', 'job1'],
      ['WORK_SECONDS', '3'],
    ]),
    args: container.args,
    volumes: new Map([
      ['tmp', { kind: 'bind', hostPath: '/var/pods/job-wq-1-abcde/volumes/tmp' }],
      ['items', { kind: 'bind', hostPath: '/var/pods/job-wq-1-abcde/volumes/items' }],
    ]),
    hosts: [
      { name: 'rabbitmq-service', address: '127.1.7.1' },
      { name: 'rabbitmq-service.default.svc.cluster.local', address: '127.1.7.1' },
    ],
    imageUser: 'node',
    labels: { 'work-queue-stack.e2e': 'true' },
    ...extra,
  };
}

describe('dockerRunArgs', () => {
  test('maps the restricted pod template to Docker: host network, broker hosts, env, user, read-only root, no capabilities, limits, mounts', () => {
    expect(dockerRunArgs(input(restricted))).toEqual([
      '--name',
      'job-wq-1-abcde',
      '--network',
      'host',
      '--label',
      'work-queue-stack.e2e=true',
      '--add-host',
      'rabbitmq-service:127.1.7.1',
      '--add-host',
      'rabbitmq-service.default.svc.cluster.local:127.1.7.1',
      '--env',
      'QUEUE=job1',
      '--env',
      'WORK_SECONDS=3',
      '--stop-timeout',
      '30',
      '--user',
      '1000:1000',
      '--read-only',
      '--security-opt',
      'no-new-privileges',
      '--cap-drop',
      'ALL',
      '--cpus',
      '1',
      '--memory',
      String(512 * 2 ** 20),
      '--cpu-shares',
      '102',
      '--mount',
      'type=bind,source=/var/pods/job-wq-1-abcde/volumes/tmp,target=/tmp',
      '--mount',
      'type=bind,source=/var/pods/job-wq-1-abcde/volumes/items,target=/etc/work-queue,readonly',
      '127.0.0.1:5000/work-queue@sha256:0123',
      'work',
    ]);
  });

  test("the pod's hostname (an Indexed Job's <job>-<index>), and Kubernetes' 30 s grace period when the pod sets none", () => {
    const container = { name: 'c', image: 'img' };
    const args = dockerRunArgs(
      input(container, { hostname: 'job-wq-3-5', terminationGracePeriodSeconds: undefined }, { volumes: new Map() }),
    );
    expect(args).toEqual(expect.arrayContaining(['--hostname', 'job-wq-3-5', '--stop-timeout', '30']));
  });

  test("the container's termination message file, bound at its terminationMessagePath", () => {
    const container = { name: 'c', image: 'img' };
    const terminationMessage = {
      hostPath: '/var/pods/job-wq-1-abcde/termination-log',
      containerPath: '/dev/termination-log',
    };
    const args = dockerRunArgs(input(container, {}, { volumes: new Map(), terminationMessage }));
    expect(args.slice(args.indexOf('--mount'), args.indexOf('--mount') + 2)).toEqual([
      '--mount',
      'type=bind,source=/var/pods/job-wq-1-abcde/termination-log,target=/dev/termination-log',
    ]);
  });

  test('a command replaces the entrypoint and comes before the args', () => {
    const container = { name: 'c', image: 'img' };
    const args = dockerRunArgs(
      input(container, {}, { command: ['sh', '-c', 'exit 3'], args: ['x'], volumes: new Map() }),
    );
    expect(args.slice(args.indexOf('--entrypoint'))).toEqual(['--entrypoint', 'sh', 'img', '-c', 'exit 3', 'x']);
  });

  test('takes the pod-level security context where the container sets none, and adds fsGroup and supplemental groups', () => {
    const container = { name: 'c', image: 'img' };
    const args = dockerRunArgs(
      input(
        container,
        { securityContext: { runAsUser: 1000, runAsNonRoot: true, fsGroup: 2000, supplementalGroups: [3000] } },
        { volumes: new Map() },
      ),
    );
    expect(args).toEqual(expect.arrayContaining(['--user', '1000', '--group-add', '3000', '--group-add', '2000']));
    expect(args).not.toContain('--read-only');
  });

  test('an emptyDir with medium Memory becomes a tmpfs', () => {
    const container: IContainer = { name: 'c', image: 'img', volumeMounts: [{ name: 'scratch', mountPath: '/tmp' }] };
    const args = dockerRunArgs(input(container, {}, { volumes: new Map([['scratch', { kind: 'tmpfs' }]]) }));
    expect(args).toEqual(expect.arrayContaining(['--mount', 'type=tmpfs,destination=/tmp,tmpfs-mode=0777']));
  });

  test('fails when runAsNonRoot meets uid 0', () => {
    const container: IContainer = { name: 'c', image: 'img', securityContext: { runAsNonRoot: true, runAsUser: 0 } };
    expect(() => dockerRunArgs(input(container, {}, { volumes: new Map() }))).toThrow(
      'c: runAsNonRoot, but the container would run as uid 0',
    );
  });

  test('fails when runAsNonRoot cannot be verified against a named image user, as the kubelet does', () => {
    const container: IContainer = { name: 'c', image: 'img', securityContext: { runAsNonRoot: true } };
    expect(() => dockerRunArgs(input(container, {}, { volumes: new Map(), imageUser: 'node' }))).toThrow(
      'the image user "node" is not a numeric uid',
    );
  });

  test('fails on a mount of a volume the pod does not declare', () => {
    const container: IContainer = { name: 'c', image: 'img', volumeMounts: [{ name: 'ghost', mountPath: '/x' }] };
    expect(() => dockerRunArgs(input(container, {}, { volumes: new Map() }))).toThrow(
      'volumeMount ghost names no volume',
    );
  });
});
