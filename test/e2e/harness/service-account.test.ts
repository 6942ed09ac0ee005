import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { admitServiceAccount, kubernetesServiceEnv, PodAdmissionError, SERVICE_ACCOUNT_MOUNT } from './service-account';

const spec = (extra: Partial<IPodSpec> = {}): IPodSpec => ({
  containers: [{ name: 'work-queue', image: 'i', volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }] }],
  ...extra,
});
const accounts = (name: string) =>
  name === 'credentials' || name === 'default'
    ? { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name } }
    : undefined;

test('a pod with a ServiceAccount gets the kube-api-access volume mounted read-only at the service account path', () => {
  const admitted = admitServiceAccount(
    'creds-abcde',
    spec({ serviceAccountName: 'credentials' }),
    'default',
    accounts,
    'abcde',
  );
  expect(admitted.automount).toBe(true);
  expect(admitted.spec.volumes?.map((volume) => volume.name)).toEqual(['kube-api-access-abcde']);
  expect(admitted.spec.containers[0].volumeMounts).toContainEqual({
    name: 'kube-api-access-abcde',
    mountPath: SERVICE_ACCOUNT_MOUNT,
    readOnly: true,
  });
});

test('automountServiceAccountToken: false on the pod, or on the ServiceAccount when the pod says nothing, mounts nothing', () => {
  expect(
    admitServiceAccount('p', spec({ automountServiceAccountToken: false }), 'default', accounts, 'x').spec.volumes,
  ).toBeUndefined();
  const quiet = () => ({ apiVersion: 'v1', kind: 'ServiceAccount', automountServiceAccountToken: false });
  expect(admitServiceAccount('p', spec(), 'default', quiet, 'x').automount).toBe(false);
  expect(admitServiceAccount('p', spec({ automountServiceAccountToken: true }), 'default', quiet, 'x').automount).toBe(
    true,
  );
});

test('a pod whose ServiceAccount does not exist is refused, as the admission plugin does', () => {
  expect(() => admitServiceAccount('p', spec({ serviceAccountName: 'absent' }), 'work-queue', accounts, 'x')).toThrow(
    new PodAdmissionError(
      'pods "p" is forbidden: error looking up service account work-queue/absent: serviceaccount "absent" not found',
    ),
  );
});

test("the kubelet's variables of the kubernetes Service point at the given API server", () => {
  expect(Object.fromEntries(kubernetesServiceEnv('127.0.0.1', 6443))).toMatchObject({
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: '6443',
    KUBERNETES_PORT: 'tcp://127.0.0.1:6443',
  });
});
