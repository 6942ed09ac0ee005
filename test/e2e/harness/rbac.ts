/**
 * Kubernetes RBAC's decision for a ServiceAccount's request, as the RBAC authorizer makes it
 * (kubernetes/plugin/pkg/auth/authorizer/rbac: `appliesTo`, `RuleAllows`): allowed when a
 * RoleBinding of the request's namespace names the ServiceAccount among its subjects (a subject
 * without a namespace means the binding's own) and its Role (in that namespace) or ClusterRole has
 * a rule whose apiGroups, resources and verbs match (`*` matches any), and whose resourceNames,
 * when given, contain the requested name. A `create` (or a `list`) has no name, so a rule narrowed
 * by resourceNames never allows it. ClusterRoleBindings count for every namespace. Nothing else
 * is allowed: there is no default grant to a ServiceAccount.
 */
import type { KubeObject } from './manifests';

export interface ResourceRequest {
  readonly verb: string;
  /** '' for the core group. */
  readonly apiGroup: string;
  readonly resource: string;
  readonly namespace: string;
  /** Empty for create and list. */
  readonly name?: string;
}

export interface ServiceAccountUser {
  readonly namespace: string;
  readonly name: string;
}

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

interface Binding extends KubeObject {
  roleRef?: { kind: string; name: string };
  subjects?: Subject[];
}

/** `system:serviceaccount:<namespace>:<name>`, the user name a ServiceAccount token authenticates as. */
export function serviceAccountUserName(user: ServiceAccountUser): string {
  return `system:serviceaccount:${user.namespace}:${user.name}`;
}

/** Whether RBAC allows the request, given the RoleBindings, Roles, ClusterRoleBindings and ClusterRoles of the cluster. */
export function allows(
  objects: (kind: string) => KubeObject[],
  user: ServiceAccountUser,
  request: ResourceRequest,
): boolean {
  const bindings = [
    ...(objects('RoleBinding') as Binding[]).filter((binding) => binding.metadata?.namespace === request.namespace),
    ...(objects('ClusterRoleBinding') as Binding[]),
  ];
  return bindings.some((binding) => {
    const bindingNamespace = binding.metadata?.namespace;
    if (!binding.roleRef || !(binding.subjects ?? []).some((subject) => names(subject, user, bindingNamespace)))
      return false;
    const role = (binding.roleRef.kind === 'Role' ? objects('Role') : objects('ClusterRole')).find(
      (candidate) =>
        candidate.metadata?.name === binding.roleRef!.name &&
        (binding.roleRef!.kind !== 'Role' || candidate.metadata.namespace === bindingNamespace),
    );
    return ((role?.rules as PolicyRule[] | undefined) ?? []).some((rule) => ruleAllows(rule, request));
  });
}

function names(subject: Subject, user: ServiceAccountUser, bindingNamespace: string | undefined): boolean {
  if (subject.kind === 'ServiceAccount')
    return subject.name === user.name && (subject.namespace || bindingNamespace) === user.namespace;
  if (subject.kind === 'User') return subject.name === serviceAccountUserName(user);
  if (subject.kind === 'Group')
    return ['system:serviceaccounts', `system:serviceaccounts:${user.namespace}`, 'system:authenticated'].includes(
      subject.name,
    );
  return false;
}

export function ruleAllows(rule: PolicyRule, request: ResourceRequest): boolean {
  const matches = (values: string[] | undefined, wanted: string) =>
    (values ?? []).some((value) => value === '*' || value === wanted);
  if (
    !matches(rule.verbs, request.verb) ||
    !matches(rule.apiGroups, request.apiGroup) ||
    !matches(rule.resources, request.resource)
  )
    return false;
  if (!rule.resourceNames?.length) return true;
  return request.name !== undefined && request.name !== '' && rule.resourceNames.includes(request.name);
}
