import path from 'node:path';
import { ExitCode } from '../../contract';
import { canMountServiceAccount, runInPod } from './credentials-pod';
import { FakeKubeApi, makeClusterCertificates, type PolicyRule } from './fake-kube-api';
import { closedPort, runCli, tempDir } from './helpers';

const NAMESPACE = 'work';
const SECRETS = [
  {
    name: 'mq-credentials',
    values: { username: 'work-queue' },
    generate: ['password'],
    labels: { 'app.kubernetes.io/part-of': 'work-queue-stack' },
  },
  { name: 'mq-erlang-cookie', generate: ['cookie'] },
];
const ROLE: PolicyRule[] = [
  { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: SECRETS.map((secret) => secret.name) },
];

describe('work-queue credentials, the CLI bundle', () => {
  test('credentials --help prints its usage and exits 0, whatever the environment', async () => {
    const result = await runCli(['credentials', '--help'], {});
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout).toMatch(/^usage: work-queue credentials$/m);
    expect(result.stdout).toMatch(/CREDENTIALS/);
    expect(result.stdout).toMatch(/KUBERNETES_SERVICE_HOST/);
    expect(result.stderr).toBe('');
  });

  test.each([
    [
      'not JSON',
      '[{"name": "a",',
      /^CREDENTIALS: got "\[\{\\"name\\": \\"a\\",", expected a JSON array .* \(it is not JSON: /,
    ],
    [
      'an empty list',
      '[]',
      /^CREDENTIALS: got \[\], expected a JSON array of \{"name", "values"\?, "generate", "labels"\?\}, at least one Secret$/,
    ],
    [
      'a name that is no DNS-1123 subdomain',
      '[{"name": "MQ_credentials", "generate": ["password"]}]',
      /^CREDENTIALS\[0\]\.name: got "MQ_credentials", expected a Secret name: /,
    ],
    [
      'a key with a space',
      '[{"name": "mq", "generate": ["pass word"]}]',
      /^CREDENTIALS\[0\]\.generate\[0\]: got "pass word", expected a Secret key: /,
    ],
    [
      'a value key with a slash',
      '[{"name": "mq", "values": {"user/name": "x"}, "generate": []}]',
      /^CREDENTIALS\[0\]\.values key: got "user\/name", expected a Secret key: /,
    ],
    [
      'a key both given and generated',
      '[{"name": "mq", "values": {"password": "x"}, "generate": ["password"]}]',
      /^CREDENTIALS\[0\]\.generate\[0\]: got "password", expected a key that is not also in CREDENTIALS\[0\]\.values/,
    ],
    [
      'no generate',
      '[{"name": "mq", "values": {"username": "x"}}]',
      /^CREDENTIALS\[0\]\.generate: got nothing, expected an array of Secret keys/,
    ],
    [
      'a Secret without keys',
      '[{"name": "mq", "generate": []}]',
      /^CREDENTIALS\[0\]: got \{"name":"mq","generate":\[\]\}, expected a Secret with at least one key/,
    ],
    [
      'a misspelt field',
      '[{"name": "mq", "generates": ["password"], "generate": ["password"]}]',
      /^CREDENTIALS\[0\]\.generates: got \["password"\], expected no such field/,
    ],
    [
      'a bad label value',
      '[{"name": "mq", "generate": ["p"], "labels": {"tier": "-x"}}]',
      /^CREDENTIALS\[0\]\.labels\["tier"\]: got "-x", expected a label value: /,
    ],
    [
      'a name twice',
      '[{"name": "mq", "generate": ["p"]}, {"name": "mq", "generate": ["q"]}]',
      /^CREDENTIALS\[1\]\.name: got "mq", expected a name no other Secret of the list has$/,
    ],
  ])(
    'fails with exit 2 for %s in CREDENTIALS, naming the field, before any request',
    async (_case, credentials, line) => {
      const result = await runCli(['credentials'], { CREDENTIALS: credentials });
      expect(result.code).toBe(ExitCode.badInput);
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines.every((l) => l.startsWith('work-queue: '))).toBe(true);
      expect(lines.map((l) => l.slice('work-queue: '.length)).some((l) => line.test(l))).toBe(true);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(result.stdout).toBe('');
    },
  );

  test('fails with exit 2 outside a pod, one line for each missing piece of the in-cluster configuration', async () => {
    const result = await runCli(['credentials'], {
      CREDENTIALS: JSON.stringify(SECRETS),
      BROKER_RETRY_SECONDS: 'soon',
    });
    expect(result.code).toBe(ExitCode.badInput);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      'work-queue: BROKER_RETRY_SECONDS: got "soon", expected a finite number of at least 0',
      "work-queue: KUBERNETES_SERVICE_HOST: got nothing, expected the Kubernetes API server's address, which Kubernetes sets in every pod (run work-queue credentials in a pod)",
      "work-queue: KUBERNETES_SERVICE_PORT: got nothing, expected the Kubernetes API server's port (1 to 65535), which Kubernetes sets in every pod (run work-queue credentials in a pod)",
      "work-queue: /var/run/secrets/kubernetes.io/serviceaccount/token: got nothing, expected the service account's token, mounted by Kubernetes unless automountServiceAccountToken is false (ENOENT)",
      "work-queue: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt: got nothing, expected the PEM certificates of the cluster's CA, mounted by Kubernetes unless automountServiceAccountToken is false (ENOENT)",
      "work-queue: /var/run/secrets/kubernetes.io/serviceaccount/namespace: got nothing, expected the pod's namespace, mounted by Kubernetes unless automountServiceAccountToken is false (ENOENT)",
    ]);
  });
});

// The bundle reads the service account files where a pod has them; the test mounts them there in a mount namespace of its own.
describe('work-queue credentials, the CLI bundle in a pod-like mount namespace', () => {
  const files = tempDir();
  const api = new FakeKubeApi(makeClusterCertificates(files.dir));
  const env = (extra: Record<string, string> = {}) => ({
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: String(api.port),
    CREDENTIALS: JSON.stringify(SECRETS),
    ...extra,
  });

  beforeAll(() => {
    if (!canMountServiceAccount()) {
      throw new Error(
        'these tests mount the service account files with `unshare --mount` (util-linux), which needs root or user namespaces here',
      );
    }
    return api.start();
  });
  afterAll(async () => {
    await api.stop();
    files.remove();
  });

  test('creates the Secrets once: a second run finds them and leaves their values as they are', async () => {
    const dir = path.join(files.dir, 'pod');
    api.writeServiceAccountFiles(dir, api.issueToken(NAMESPACE, 'mq-credentials', ROLE));
    const first = await runInPod(dir, ['credentials'], env());
    expect(first.stderr).toBe('');
    expect(first.code).toBe(ExitCode.ok);
    expect(first.stdout).toBe(
      `Secret mq-credentials in namespace ${NAMESPACE}: created\nSecret mq-erlang-cookie in namespace ${NAMESPACE}: created\n`,
    );
    const created = {
      credentials: api.secretData(NAMESPACE, 'mq-credentials'),
      cookie: api.secretData(NAMESPACE, 'mq-erlang-cookie'),
    };
    expect(created.credentials).toEqual({
      username: 'work-queue',
      password: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    expect(created.cookie).toEqual({ cookie: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });

    const second = await runInPod(dir, ['credentials'], env());
    expect(second.code).toBe(ExitCode.ok);
    expect(second.stdout).toBe(
      `Secret mq-credentials in namespace ${NAMESPACE}: already present, left unchanged\nSecret mq-erlang-cookie in namespace ${NAMESPACE}: already present, left unchanged\n`,
    );
    expect({
      credentials: api.secretData(NAMESPACE, 'mq-credentials'),
      cookie: api.secretData(NAMESPACE, 'mq-erlang-cookie'),
    }).toEqual(created);
  });

  test('fails with exit 1 and one line when the Role lacks a rule', async () => {
    const dir = path.join(files.dir, 'forbidden');
    api.writeServiceAccountFiles(dir, api.issueToken(NAMESPACE, 'someone-else', []));
    const result = await runInPod(dir, ['credentials'], env());
    expect(result.code).toBe(ExitCode.failed);
    expect(result.stderr).toBe(
      `work-queue: GET /api/v1/namespaces/${NAMESPACE}/secrets/mq-credentials: service account ${NAMESPACE}/someone-else may not get secrets in namespace ${NAMESPACE} (403 Forbidden: secrets "mq-credentials" is forbidden: User "system:serviceaccount:${NAMESPACE}:someone-else" cannot get resource "secrets" in API group "" in the namespace "${NAMESPACE}"); its Role needs the rule {apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["mq-credentials"]}, bound to it by a RoleBinding\n`,
    );
  });

  test('exits 3 with one line for an API server that is not there, after BROKER_RETRY_SECONDS', async () => {
    const dir = path.join(files.dir, 'unreachable');
    api.writeServiceAccountFiles(dir, api.issueToken(NAMESPACE, 'mq-credentials', ROLE));
    const port = await closedPort();
    const result = await runInPod(
      dir,
      ['credentials'],
      env({ KUBERNETES_SERVICE_PORT: String(port), BROKER_RETRY_SECONDS: '1' }),
    );
    expect(result.code).toBe(ExitCode.brokerUnreachable);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /^work-queue: the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ failed GET .*\(.*ECONNREFUSED.*\); retrying for up to 1 s$/,
    );
    expect(lines.at(-1)).toMatch(
      /^work-queue: the Kubernetes API at https:\/\/127\.0\.0\.1:\d+ did not answer GET .* within 1 s \(BROKER_RETRY_SECONDS\): connect ECONNREFUSED/,
    );
    expect(lines).toHaveLength(2);
  });
});
