import type { KubeObject } from './manifests';
import { allows, type ResourceRequest } from './rbac';

/** The objects the broker chart's credentials Job needs: create on secrets, get by name. */
const objects: KubeObject[] = [
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'credentials', namespace: 'default' },
    rules: [
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get'], resourceNames: ['rabbitmq-service-credentials'] },
    ],
  },
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'credentials', namespace: 'default' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'credentials' },
    subjects: [{ kind: 'ServiceAccount', name: 'credentials' }],
  },
];
const byKind = (kind: string) => objects.filter((object) => object.kind === kind);
const user = { namespace: 'default', name: 'credentials' };
const request = (verb: string, name?: string, extra: Partial<ResourceRequest> = {}): ResourceRequest => ({
  verb,
  apiGroup: '',
  resource: 'secrets',
  namespace: 'default',
  name,
  ...extra,
});

test('allows what the bound Role grants: create on secrets, get of the named Secret', () => {
  expect(allows(byKind, user, request('create'))).toBe(true);
  expect(allows(byKind, user, request('get', 'rabbitmq-service-credentials'))).toBe(true);
});

test('refuses a get of another Secret, a list, an update, and anything of another resource', () => {
  expect(allows(byKind, user, request('get', 'other'))).toBe(false);
  expect(allows(byKind, user, request('list'))).toBe(false);
  expect(allows(byKind, user, request('update', 'rabbitmq-service-credentials'))).toBe(false);
  expect(allows(byKind, user, request('get', 'x', { resource: 'configmaps' }))).toBe(false);
});

test('a create is never allowed by a rule narrowed by resourceNames: it has no name', () => {
  const narrowed = [
    {
      ...objects[0],
      rules: [
        {
          apiGroups: [''],
          resources: ['secrets'],
          verbs: ['create', 'get'],
          resourceNames: ['rabbitmq-service-credentials'],
        },
      ],
    },
    objects[1],
  ];
  const kinds = (kind: string) => narrowed.filter((object) => object.kind === kind);
  expect(allows(kinds, user, request('create'))).toBe(false);
  expect(allows(kinds, user, request('get', 'rabbitmq-service-credentials'))).toBe(true);
});

test('refuses another ServiceAccount, the same name in another namespace, and a binding of another namespace', () => {
  expect(allows(byKind, { namespace: 'default', name: 'default' }, request('create'))).toBe(false);
  expect(
    allows(byKind, { namespace: 'other', name: 'credentials' }, request('create', undefined, { namespace: 'other' })),
  ).toBe(false);
  expect(allows(byKind, user, request('create', undefined, { namespace: 'other' }))).toBe(false);
});

test('nothing is allowed without a RoleBinding, nor by a binding whose Role is missing', () => {
  expect(allows((kind) => (kind === 'Role' ? [objects[0]] : []), user, request('create'))).toBe(false);
  expect(allows((kind) => (kind === 'RoleBinding' ? [objects[1]] : []), user, request('create'))).toBe(false);
});
