import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { ExitCode, type GeneratedSecret } from '../../contract';
import { credentials } from '../../worker/credentials';
import { CliError } from '../../worker/errors';
import {
  FakeKubeApi,
  makeClusterCertificates,
  type PolicyRule,
  type ServiceAccount,
  statusBody,
} from './fake-kube-api';
import { closedPort, tempDir } from './helpers';

const NAMESPACE = 'batch';
const BASE64URL_32_BYTES = /^[A-Za-z0-9_-]{43}$/;
const LABELS = { 'app.kubernetes.io/name': 'rabbitmq', 'app.kubernetes.io/part-of': 'work-queue-stack' };
const BROKER: GeneratedSecret = {
  name: 'mq-credentials',
  values: { username: 'work-queue' },
  generate: ['password'],
  labels: LABELS,
};
const COOKIE: GeneratedSecret = { name: 'mq-erlang-cookie', generate: ['cookie'] };
/** The Role the constructs give the credentials Job: create on secrets, get on exactly its Secrets. */
const ROLE: PolicyRule[] = [
  { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
  { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: [BROKER.name, COOKIE.name] },
];

const files = tempDir();
const certificates = makeClusterCertificates(files.dir);
const api = new FakeKubeApi(certificates);
let runs = 0;

interface Run {
  code: number;
  stdout: string[];
  stderr: string[];
  seconds: number;
}

/** Runs the command as the CLI does, with a service account directory of this run's own; a CliError becomes its exit code and line. */
async function run(
  options: {
    secrets?: unknown;
    env?: Record<string, string>;
    account?: ServiceAccount;
    port?: number;
    dir?: string;
  } = {},
): Promise<Run> {
  runs += 1;
  const dir = options.dir ?? path.join(files.dir, `account-${runs}`);
  if (!options.dir)
    api.writeServiceAccountFiles(dir, options.account ?? api.issueToken(NAMESPACE, 'mq-credentials', ROLE));
  const stdout: string[] = [];
  const stderr: string[] = [];
  const env = {
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: String(options.port ?? api.port),
    CREDENTIALS: JSON.stringify(options.secrets ?? [BROKER, COOKIE]),
    ...options.env,
  };
  const started = Date.now();
  let code: number;
  try {
    code = await credentials({
      env,
      serviceAccountDir: dir,
      print: (line) => stdout.push(line),
      log: (line) => stderr.push(line),
    });
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    stderr.push(...error.message.split('\n'));
    code = error.exitCode;
  }
  return { code, stdout, stderr, seconds: (Date.now() - started) / 1000 };
}

beforeAll(() => api.start());
afterAll(async () => {
  await api.stop();
  files.remove();
});
beforeEach(() => {
  api.secrets.clear();
  api.requests.length = 0;
  api.intercept = undefined;
});

describe('work-queue credentials', () => {
  test('creates missing Secrets with the given values, 43-character base64url generated keys and the labels, as an Opaque Secret', async () => {
    const account = api.issueToken(NAMESPACE, 'mq-credentials', ROLE);
    const result = await run({ account });
    expect(result).toMatchObject({ code: ExitCode.ok, stderr: [] });
    expect(result.stdout).toEqual([
      `Secret mq-credentials in namespace ${NAMESPACE}: created`,
      `Secret mq-erlang-cookie in namespace ${NAMESPACE}: created`,
    ]);
    const broker = api.secretData(NAMESPACE, BROKER.name)!;
    expect(Object.keys(broker)).toEqual(['username', 'password']);
    expect(broker.username).toBe('work-queue');
    expect(broker.password).toMatch(BASE64URL_32_BYTES);
    expect(api.secretData(NAMESPACE, COOKIE.name)!.cookie).toMatch(BASE64URL_32_BYTES);
    expect(api.secretData(NAMESPACE, COOKIE.name)!.cookie).not.toBe(broker.password);
    const stored = api.secrets.get(`${NAMESPACE}/${BROKER.name}`)!;
    expect(stored.type).toBe('Opaque');
    expect(stored.metadata.labels).toEqual(LABELS);
    expect(api.secrets.get(`${NAMESPACE}/${COOKIE.name}`)!.metadata.labels).toBeUndefined();
    // The calls, in order, each with the service account's token.
    expect(api.requests.map(({ method, path }) => `${method} ${path}`)).toEqual([
      `GET /api/v1/namespaces/${NAMESPACE}/secrets/mq-credentials`,
      `POST /api/v1/namespaces/${NAMESPACE}/secrets`,
      `GET /api/v1/namespaces/${NAMESPACE}/secrets/mq-erlang-cookie`,
      `POST /api/v1/namespaces/${NAMESPACE}/secrets`,
    ]);
    expect(new Set(api.requests.map((request) => request.authorization))).toEqual(new Set([`Bearer ${account.token}`]));
    expect(api.requests[1].body).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: BROKER.name, namespace: NAMESPACE, labels: LABELS },
      type: 'Opaque',
      data: {
        username: Buffer.from('work-queue').toString('base64'),
        password: Buffer.from(broker.password).toString('base64'),
      },
    });
  });

  test('leaves existing Secrets as they are: a second run changes nothing and says so', async () => {
    expect((await run()).code).toBe(ExitCode.ok);
    const first = structuredClone(Object.fromEntries(api.secrets));
    const again = await run();
    expect(again).toMatchObject({ code: ExitCode.ok, stderr: [] });
    expect(again.stdout).toEqual([
      `Secret mq-credentials in namespace ${NAMESPACE}: already present, left unchanged`,
      `Secret mq-erlang-cookie in namespace ${NAMESPACE}: already present, left unchanged`,
    ]);
    expect(Object.fromEntries(api.secrets)).toEqual(first);
    expect(api.requests.slice(4).map((request) => request.method)).toEqual(['GET', 'GET']);
  });

  test('a Secret another pod creates between the GET and the POST (409 AlreadyExists) is read again and kept', async () => {
    api.intercept = (request) => {
      // The other pod's POST lands first.
      if (request.method === 'POST' && !api.secrets.has(`${NAMESPACE}/${COOKIE.name}`))
        api.putSecret(NAMESPACE, COOKIE.name, { cookie: 'the-other-pods-cookie' });
      return undefined;
    };
    const result = await run({ secrets: [COOKIE] });
    expect(result).toMatchObject({ code: ExitCode.ok, stderr: [] });
    expect(result.stdout).toEqual([
      `Secret mq-erlang-cookie in namespace ${NAMESPACE}: already present (another pod created it just now), left unchanged`,
    ]);
    expect(api.requests.map((request) => request.method)).toEqual(['GET', 'POST', 'GET']);
    expect(api.secretData(NAMESPACE, COOKIE.name)).toEqual({ cookie: 'the-other-pods-cookie' });
  });

  test('fails for an existing Secret that lacks keys, naming the Secret and the keys, and leaves it unchanged', async () => {
    api.putSecret(NAMESPACE, BROKER.name, { username: 'someone' });
    const result = await run({ secrets: [{ ...BROKER, generate: ['password', 'api-key'] }] });
    expect(result.code).toBe(ExitCode.failed);
    expect(result.stderr).toEqual([
      `Secret mq-credentials in namespace ${NAMESPACE} exists without the keys password, api-key; it was left unchanged: add them to it, or delete it so that a next run creates it (a broker that already started keeps its old credentials)`,
    ]);
    expect(api.secretData(NAMESPACE, BROKER.name)).toEqual({ username: 'someone' });
    expect(api.requests.map((request) => request.method)).toEqual(['GET']);
  });

  test.each([
    [
      'create',
      [ROLE[1]],
      `POST /api/v1/namespaces/${NAMESPACE}/secrets: service account ${NAMESPACE}/mq-credentials may not create secrets in namespace ${NAMESPACE} (403 Forbidden: secrets is forbidden: User "system:serviceaccount:${NAMESPACE}:mq-credentials" cannot create resource "secrets" in API group "" in the namespace "${NAMESPACE}"); its Role needs the rule {apiGroups: [""], resources: ["secrets"], verbs: ["create"]}, bound to it by a RoleBinding`,
    ],
    [
      'get',
      [ROLE[0], { ...ROLE[1], resourceNames: ['another-secret'] }],
      `GET /api/v1/namespaces/${NAMESPACE}/secrets/mq-credentials: service account ${NAMESPACE}/mq-credentials may not get secrets in namespace ${NAMESPACE} (403 Forbidden: secrets "mq-credentials" is forbidden: User "system:serviceaccount:${NAMESPACE}:mq-credentials" cannot get resource "secrets" in API group "" in the namespace "${NAMESPACE}"); its Role needs the rule {apiGroups: [""], resources: ["secrets"], verbs: ["get"], resourceNames: ["mq-credentials"]}, bound to it by a RoleBinding`,
    ],
  ])(
    'fails when the Role does not allow %s, in one line naming the call, the service account and the rule it needs',
    async (_verb, rules, line) => {
      const result = await run({ secrets: [BROKER], account: api.issueToken(NAMESPACE, 'mq-credentials', rules) });
      expect(result.code).toBe(ExitCode.failed);
      expect(result.stderr).toEqual([line]);
      expect(api.secrets.size).toBe(0);
    },
  );

  test('fails for a token the API server does not accept (401) in one line', async () => {
    const account = api.issueToken(NAMESPACE, 'mq-credentials', ROLE);
    api.revoke(account.token);
    const result = await run({ secrets: [BROKER], account });
    expect(result.code).toBe(ExitCode.failed);
    expect(result.stderr).toHaveLength(1);
    expect(result.stderr[0]).toMatch(
      new RegExp(
        `^GET /api/v1/namespaces/batch/secrets/mq-credentials: the API server did not accept the token of service account batch/mq-credentials in .*/token \\(401 Unauthorized: Unauthorized\\)`,
      ),
    );
  });

  test('reads the token file again for each request, so a token the kubelet rotated meanwhile is used', async () => {
    const dir = path.join(files.dir, 'rotating');
    const first = api.issueToken(NAMESPACE, 'mq-credentials', ROLE);
    const second = api.issueToken(NAMESPACE, 'mq-credentials', ROLE);
    api.writeServiceAccountFiles(dir, first);
    api.intercept = () => {
      // After the first Secret, the kubelet writes a new token; soon after, the old one is no longer accepted.
      if (api.requests.length === 2) writeFileSync(path.join(dir, 'token'), `${second.token}\n`);
      if (api.requests.length === 3) api.revoke(first.token);
      return undefined;
    };
    const result = await run({ dir });
    expect(result).toMatchObject({ code: ExitCode.ok, stderr: [] });
    expect(api.requests.map((request) => request.authorization)).toEqual([
      `Bearer ${first.token}`,
      `Bearer ${first.token}`,
      `Bearer ${second.token}`,
      `Bearer ${second.token}`,
    ]);
  });

  test('retries an API server that answers 503 or 429, and goes on once it answers', async () => {
    let failures = 0;
    api.intercept = () => {
      if (failures >= 3) return undefined;
      failures += 1;
      return failures === 2
        ? {
            status: 429,
            body: statusBody(429, 'TooManyRequests', 'too many requests, please try again later'),
            headers: { 'Retry-After': '1' },
          }
        : {
            status: 503,
            body: statusBody(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'),
          };
    };
    const result = await run({ secrets: [BROKER], env: { BROKER_RETRY_SECONDS: '10' } });
    expect(result.code).toBe(ExitCode.ok);
    expect(result.stdout).toEqual([`Secret mq-credentials in namespace ${NAMESPACE}: created`]);
    expect(result.stderr[0]).toBe(
      `the Kubernetes API at https://127.0.0.1:${api.port} failed GET /api/v1/namespaces/${NAMESPACE}/secrets/mq-credentials (it answered 503 (ServiceUnavailable: the server is currently unable to handle the request)); retrying for up to 10 s`,
    );
    // Retry-After: 1 was honoured.
    expect(result.seconds).toBeGreaterThanOrEqual(1);
  });

  test('gives up on an API server that cannot be reached after BROKER_RETRY_SECONDS, with exit 3 and one line', async () => {
    const port = await closedPort();
    const result = await run({ secrets: [BROKER], port, env: { BROKER_RETRY_SECONDS: '1' } });
    expect(result.code).toBe(ExitCode.brokerUnreachable);
    expect(result.seconds).toBeGreaterThanOrEqual(0.9);
    expect(result.seconds).toBeLessThan(4);
    expect(result.stderr.at(-1)).toBe(
      `the Kubernetes API at https://127.0.0.1:${port} did not answer GET /api/v1/namespaces/${NAMESPACE}/secrets/mq-credentials within 1 s (BROKER_RETRY_SECONDS): connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });

  test('gives up on an API server that accepts the request and never answers, within the request timeout', async () => {
    api.intercept = () => 'silent';
    const result = await run({ secrets: [BROKER], env: { BROKER_RETRY_SECONDS: '1' } });
    expect(result.code).toBe(ExitCode.brokerUnreachable);
    // One request of at least 2 s (the shortest a request is given), then no time left.
    expect(result.seconds).toBeLessThan(5);
    expect(result.stderr.at(-1)).toMatch(
      /did not answer GET \/api\/v1\/namespaces\/batch\/secrets\/mq-credentials within 1 s \(BROKER_RETRY_SECONDS\): ETIMEDOUT: no answer within 2 s$/,
    );
  });

  test('gives up on a peer that accepts the connection and never speaks TLS, within the request timeout', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const result = await run({
        secrets: [BROKER],
        port: (silent.address() as { port: number }).port,
        env: { BROKER_RETRY_SECONDS: '0' },
      });
      expect(result.code).toBe(ExitCode.brokerUnreachable);
      expect(result.seconds).toBeLessThan(4);
      expect(result.stderr).toHaveLength(1);
      expect(result.stderr[0]).toMatch(/within 0 s \(BROKER_RETRY_SECONDS\): ETIMEDOUT: no answer within 2 s$/);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  test('fails at once, exit 3, for an API server whose certificate the cluster CA did not sign', async () => {
    const dir = path.join(files.dir, 'other-ca');
    api.writeServiceAccountFiles(dir, api.issueToken(NAMESPACE, 'mq-credentials', ROLE));
    const otherDir = path.join(files.dir, 'other-ca-certs');
    mkdirSync(otherDir);
    copyFileSync(makeClusterCertificates(otherDir).caFile, path.join(dir, 'ca.crt'));
    const result = await run({ secrets: [BROKER], dir, env: { BROKER_RETRY_SECONDS: '30' } });
    expect(result.code).toBe(ExitCode.brokerUnreachable);
    expect(result.seconds).toBeLessThan(3);
    expect(result.stderr).toHaveLength(1);
    expect(result.stderr[0]).toMatch(
      /could not be used for GET .*: UNABLE_TO_VERIFY_LEAF_SIGNATURE: .* \(the server's certificate is verified with .*ca\.crt\)$/,
    );
  });
});
