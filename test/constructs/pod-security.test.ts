import { QueueSeeder, RabbitMQStatefulSet, RedisPod, WorkQueueJob } from '../../constructs';
import { type Manifest, podSpec, synth } from '../manifests';
import { baselineViolations, restrictedViolations } from '../pod-security';

function stack(broker: 'rabbitmq' | 'redis'): Manifest[] {
  return synth((chart) => {
    const b =
      broker === 'rabbitmq'
        ? new RabbitMQStatefulSet(chart, 'b', { password: 'p' })
        : new RedisPod(chart, 'b', { password: 'p' });
    const seeder = new QueueSeeder(chart, 'seeder', { broker: b, queue: 'q', items: ['x'], image: 'img:1' });
    new WorkQueueJob(chart, 'job', {
      broker: b,
      seeder,
      queue: 'q',
      image: 'img:1',
      pattern: broker === 'redis' ? 'fine' : 'coarse',
    });
  });
}

describe('Pod Security Standards', () => {
  for (const broker of ['rabbitmq', 'redis'] as const) {
    test(`seeder and worker pods meet "restricted" (${broker})`, () => {
      const jobs = stack(broker).filter((m) => m.kind === 'Job');
      expect(jobs).toHaveLength(2);
      for (const job of jobs) {
        const pod = podSpec(job);
        expect(restrictedViolations(pod)).toEqual([]);
        expect(pod.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);
        expect(pod.containers[0].volumeMounts).toContainEqual({ name: 'tmp', mountPath: '/tmp' });
        expect(pod.automountServiceAccountToken).toBe(false);
      }
    });

    test(`the ${broker} broker meets "baseline"`, () => {
      const workload = stack(broker).find((m) => m.kind === 'StatefulSet' || m.kind === 'Pod')!;
      expect(baselineViolations(podSpec(workload))).toEqual([]);
    });
  }

  test('the credentials Job meets "restricted" too; it alone mounts a service account token, its own', () => {
    const manifests = synth((chart) => {
      const broker = new RabbitMQStatefulSet(chart, 'b', { replicas: 3 });
      const seeder = new QueueSeeder(chart, 'seeder', { broker, queue: 'q', items: ['x'], image: 'img:1' });
      new WorkQueueJob(chart, 'job', { seeder, image: 'img:1', pattern: 'coarse' });
    });
    const jobs = manifests.filter((m) => m.kind === 'Job');
    expect(jobs).toHaveLength(3);
    for (const job of jobs) {
      const pod = podSpec(job);
      expect(restrictedViolations(pod)).toEqual([]);
      const credentials = pod.containers[0].args[0] === 'credentials';
      expect([pod.automountServiceAccountToken, pod.serviceAccountName]).toEqual(
        credentials ? [true, 'rabbitmq-service-credentials'] : [false, undefined],
      );
    }
  });

  test('the checker catches what "restricted" forbids', () => {
    const pod = {
      volumes: [{ name: 'h', hostPath: { path: '/' } }],
      containers: [{ name: 'c', securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN'] } } }],
    };
    expect(restrictedViolations(pod)).toEqual(
      expect.arrayContaining([
        'hostPath volume h',
        'c: privileged',
        'c: adds SYS_ADMIN',
        'c: allowPrivilegeEscalation is not false',
        'c: runAsNonRoot is not true',
        'c: does not drop ALL capabilities',
        'c: seccomp profile undefined',
      ]),
    );
  });
});
