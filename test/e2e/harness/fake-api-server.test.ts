import { mkdtempSync, rmSync } from 'fs';
import { request } from 'https';
import { tmpdir } from 'os';
import { join } from 'path';
import { makeApiCertificate } from './api-certificate';
import { FakeApiServer } from './fake-api-server';
import { ObjectStore } from './object-store';

const SECRET = 'rabbitmq-service-credentials';
let directory: string;
let store: ObjectStore;
let api: FakeApiServer;
let ca: string;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'fake-api-'));
  const certificate = makeApiCertificate(directory);
  ca = certificate.ca;
  store = new ObjectStore({ rootCa: ca });
  for (const object of [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'credentials' } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'credentials' },
      rules: [
        { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
        { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: [SECRET] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'credentials' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'credentials' },
      subjects: [{ kind: 'ServiceAccount', name: 'credentials', namespace: 'default' }],
    },
  ])
    store.apply(object);
  api = new FakeApiServer(store, certificate);
  await api.start();
});

afterAll(async () => {
  await api.stop();
  rmSync(directory, { recursive: true, force: true });
});

/** One request as a pod makes it: verified against the cluster CA, to 127.0.0.1. */
function call(
  method: string,
  path: string,
  token: string | undefined,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: api.port,
        method,
        path,
        ca,
        headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), 'Content-Type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
        );
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const secretPath = `/api/v1/namespaces/default/secrets`;
const newSecret = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: SECRET },
  data: { password: Buffer.from('p').toString('base64') },
};

test('serves GET and POST of Secrets as the API does: 404 NotFound, 201 Created, 200, then 409 AlreadyExists', async () => {
  const token = api.issueToken({ namespace: 'default', name: 'credentials' });
  expect(await call('GET', `${secretPath}/${SECRET}`, token)).toEqual({
    status: 404,
    body: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `secrets "${SECRET}" not found`,
      reason: 'NotFound',
      details: { name: SECRET, kind: 'secrets' },
      code: 404,
    },
  });
  const created = await call('POST', secretPath, token, newSecret);
  expect(created).toMatchObject({
    status: 201,
    body: { kind: 'Secret', metadata: { name: SECRET, namespace: 'default' }, data: newSecret.data },
  });
  expect(await call('GET', `${secretPath}/${SECRET}`, token)).toMatchObject({
    status: 200,
    body: { metadata: { uid: (created.body.metadata as { uid: string }).uid } },
  });
  expect(await call('POST', secretPath, token, { ...newSecret, data: { password: 'b3RoZXI=' } })).toMatchObject({
    status: 409,
    body: { reason: 'AlreadyExists', message: `secrets "${SECRET}" already exists`, code: 409 },
  });
  expect(store.get('Secret', 'default', SECRET)?.data).toEqual(newSecret.data);
});

test('RBAC: 403 Forbidden for what the Role does not grant, before the object is looked at', async () => {
  const token = api.issueToken({ namespace: 'default', name: 'credentials' });
  expect(await call('GET', `${secretPath}/other`, token)).toMatchObject({
    status: 403,
    body: {
      reason: 'Forbidden',
      message:
        'secrets "other" is forbidden: User "system:serviceaccount:default:credentials" cannot get resource "secrets" in API group "" in the namespace "default"',
    },
  });
  const stranger = api.issueToken({ namespace: 'default', name: 'default' });
  expect(await call('POST', secretPath, stranger, newSecret)).toMatchObject({
    status: 403,
    body: {
      message: expect.stringContaining(
        'secrets is forbidden: User "system:serviceaccount:default:default" cannot create',
      ),
    },
  });
  expect(await call('GET', secretPath, token)).toMatchObject({ status: 403 });
});

test('401 without a token or with one the server did not issue; 400 for a body that is not a Secret of the namespace', async () => {
  expect(await call('GET', `${secretPath}/${SECRET}`, undefined)).toMatchObject({
    status: 401,
    body: { reason: 'Unauthorized' },
  });
  expect(await call('GET', `${secretPath}/${SECRET}`, 'made-up')).toMatchObject({ status: 401 });
  const token = api.issueToken({ namespace: 'default', name: 'credentials' });
  expect(await call('POST', secretPath, token, { ...newSecret, kind: 'ConfigMap' })).toMatchObject({ status: 400 });
  expect(
    await call('POST', secretPath, token, { ...newSecret, metadata: { name: 'x', namespace: 'other' } }),
  ).toMatchObject({ status: 400 });
});

test("the token is a JWT whose subject is the ServiceAccount's user", () => {
  const token = api.issueToken({ namespace: 'default', name: 'credentials' });
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { sub: string };
  expect(claims.sub).toBe('system:serviceaccount:default:credentials');
});
