import { App, Chart, Testing } from 'cdk8s';
import { InClusterCredentials, QueueSeeder, RabbitMQStatefulSet, WorkQueueJob } from '../../constructs';
import { schemaError } from '../k8s-schema';
import { containerEnv, type Manifest, only, onlyJob, podSpec, synth } from '../manifests';
import { restrictedViolations } from '../pod-security';

const IMAGE = 'job-wq:1.4';
const LABELS = {
  'app.kubernetes.io/name': 'rabbitmq',
  'app.kubernetes.io/instance': 'rabbitmq',
  'app.kubernetes.io/component': 'credentials',
  'app.kubernetes.io/part-of': 'work-queue-stack',
  'app.kubernetes.io/managed-by': 'work-queue-stack',
};

function broker(props: ConstructorParameters<typeof RabbitMQStatefulSet>[2] = {}, namespace?: string): Manifest[] {
  const chart = new Chart(Testing.app(), 'test', { namespace, disableResourceNameHashes: true });
  new RabbitMQStatefulSet(chart, 'rabbitmq', { workerImage: IMAGE, ...props });
  return Testing.synth(chart) as Manifest[];
}

describe('credentials created in the cluster', () => {
  test('a ServiceAccount, a Role that may create Secrets and get only these by name, a RoleBinding, all valid and labelled', () => {
    const manifests = broker({ replicas: 3 }, 'batch');
    const serviceAccount = only(manifests, 'ServiceAccount', 'rabbitmq-service-credentials');
    expect(serviceAccount.automountServiceAccountToken).toBe(false);
    const role = only(manifests, 'Role', 'rabbitmq-service-credentials');
    expect(role.rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      {
        apiGroups: [''],
        resources: ['secrets'],
        verbs: ['get'],
        resourceNames: ['rabbitmq-service-credentials', 'rabbitmq-service-erlang-cookie'],
      },
    ]);
    const binding = only(manifests, 'RoleBinding', 'rabbitmq-service-credentials');
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'Role',
      name: 'rabbitmq-service-credentials',
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'rabbitmq-service-credentials', namespace: 'batch' },
    ]);
    for (const manifest of [serviceAccount, role, binding]) {
      expect(manifest.metadata.labels).toEqual(LABELS);
      expect(schemaError(manifest)).toBeUndefined();
    }
  });

  test('the Job runs `work-queue credentials` with the Secrets to create, as a restricted pod with its own service account token', () => {
    const manifests = broker({ replicas: 3, username: 'app' });
    const job = onlyJob(manifests, 'rabbitmq-service-credentials');
    expect(schemaError(job)).toBeUndefined();
    expect(job.metadata.labels).toEqual(LABELS);
    const pod = podSpec(job);
    expect(pod.serviceAccountName).toBe('rabbitmq-service-credentials');
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(restrictedViolations(pod)).toEqual([]);
    const container = pod.containers[0];
    expect([container.image, container.imagePullPolicy, container.args]).toEqual([
      IMAGE,
      'IfNotPresent',
      ['credentials'],
    ]);
    const secretLabels = { ...LABELS, 'app.kubernetes.io/component': 'broker' };
    expect(JSON.parse(containerEnv(job).byName.CREDENTIALS.value)).toEqual([
      {
        name: 'rabbitmq-service-credentials',
        values: { username: 'app' },
        generate: ['password'],
        labels: secretLabels,
      },
      { name: 'rabbitmq-service-erlang-cookie', generate: ['cookie'], labels: secretLabels },
    ]);
    expect(job.spec.ttlSecondsAfterFinished).toBe(86400);
    expect(job.spec.podFailurePolicy.rules[0].onExitCodes.values).toEqual([2]);
    // Without a chart namespace the subject names none: RBAC takes the RoleBinding's own, wherever it is applied.
    expect(only(manifests, 'RoleBinding').subjects).toEqual([
      { kind: 'ServiceAccount', name: 'rabbitmq-service-credentials' },
    ]);
  });

  test('generates only what no prop gives: the cookie beside a password, nothing with every credential given', () => {
    const cookieOnly = broker({ replicas: 3, password: 'p' });
    expect(only(cookieOnly, 'Role').rules[1].resourceNames).toEqual(['rabbitmq-service-erlang-cookie']);
    const passwordOnly = broker({ replicas: 3, password: undefined, erlangCookie: 'c' });
    expect(only(passwordOnly, 'Role').rules[1].resourceNames).toEqual(['rabbitmq-service-credentials']);
    for (const given of [
      { password: 'p' },
      { existingSecretName: 'mq' },
      { replicas: 3, password: 'p', erlangCookie: 'c' },
    ]) {
      const kinds = broker(given).map((m) => m.kind);
      expect(kinds.filter((kind) => ['Job', 'ServiceAccount', 'Role', 'RoleBinding'].includes(kind))).toEqual([]);
    }
  });

  test('takes the image of the first client Job the broker admits when workerImage is not given', () => {
    const manifests = synth((chart) => {
      const rabbitmq = new RabbitMQStatefulSet(chart, 'rabbitmq');
      const seeder = new QueueSeeder(chart, 'seeder', {
        broker: rabbitmq,
        queue: 'q',
        items: ['a'],
        image: 'seeder-image:1',
      });
      new WorkQueueJob(chart, 'job', { seeder, image: 'worker-image:1', pattern: 'coarse' });
    });
    expect(podSpec(onlyJob(manifests, 'rabbitmq-service-credentials')).containers[0].image).toBe('seeder-image:1');
    const explicit = synth((chart) => {
      const rabbitmq = new RabbitMQStatefulSet(chart, 'rabbitmq', { workerImage: 'given:2' });
      new QueueSeeder(chart, 'seeder', { broker: rabbitmq, queue: 'q', items: ['a'], image: 'seeder-image:1' });
    });
    expect(podSpec(onlyJob(explicit, 'rabbitmq-service-credentials')).containers[0].image).toBe('given:2');
  });

  test('a new image is a new credentials Job (its pod template cannot change), with the same Secrets', () => {
    const job = (workerImage: string) => onlyJob(broker({ workerImage }), 'rabbitmq-service-credentials');
    expect(job('job-wq:1').metadata.name).not.toBe(job('job-wq:2').metadata.name);
    expect(job('job-wq:1').metadata.name).toBe(job('job-wq:1').metadata.name);
  });

  test("fits the Job's name to a label for a long service name", () => {
    const manifests = broker({ serviceName: 'a'.repeat(63) });
    const job = manifests.find((m) => m.kind === 'Job')!;
    expect(job.metadata.name).toMatch(/^a{54}-[0-9a-f]{8}$/);
    expect(only(manifests, 'ServiceAccount').metadata.name).toBe(`${'a'.repeat(63)}-credentials`);
  });

  test('fails at synth, naming workerImage, when credentials are to be generated and no image is given or admitted', () => {
    expect(() => synth((chart) => new RabbitMQStatefulSet(chart, 'rabbitmq'))).toThrow(
      /test\/rabbitmq: workerImage: got nothing, expected the worker image, for the Job that creates the broker's credentials inside the cluster/,
    );
    const app = new App({ outdir: Testing.app().outdir });
    new RabbitMQStatefulSet(new Chart(app, 'team'), 'mq', { replicas: 3, password: 'p' });
    expect(() => app.synth()).toThrow(/team\/mq: workerImage: got nothing/);
  });

  test('fails on a bad workerImage', () => {
    expect(() => broker({ workerImage: 'job wq' })).toThrow(
      /test\/rabbitmq: workerImage: got "job wq", expected a container image reference/,
    );
  });

  test('fails on an InClusterCredentials without Secrets or with a name that is no DNS name', () => {
    const labels = {};
    expect(() =>
      synth((chart) => new InClusterCredentials(chart, 'c', { secrets: [], name: 'creds', labels, image: IMAGE })),
    ).toThrow('test/c: secrets: got [], expected at least one Secret to create');
    expect(() =>
      synth(
        (chart) =>
          new InClusterCredentials(chart, 'c', { secrets: [{ name: 's', generate: ['k'] }], name: 'Creds', labels }),
      ),
    ).toThrow(
      'test/c: name: got "Creds", expected at most 253 characters of a-z, 0-9 and "-", starting and ending with a letter or digit',
    );
  });
});
