/**
 * What the API server refuses in an update, for the kinds the stacks write (the validation of each
 * kind's update strategy in kubernetes/pkg/apis/<group>/validation):
 * - Job (`ValidateJobSpecUpdate`): `selector`, `template`, `completions` (non-indexed Jobs),
 *   `completionMode`, `podFailurePolicy`, `backoffLimitPerIndex`, `successPolicy`, `managedBy`;
 *   `parallelism`, `backoffLimit`, `activeDeadlineSeconds`, `ttlSecondsAfterFinished`, `suspend` may change.
 * - ConfigMap and Secret (`ValidateConfigMapUpdate`, `ValidateSecretUpdate`): with `immutable: true`,
 *   `data`, `binaryData` and `immutable` itself; a Secret's `type` always.
 * - StatefulSet (`ValidateStatefulSetUpdate`): every spec field but `replicas`, `ordinals`,
 *   `template`, `updateStrategy`, `persistentVolumeClaimRetentionPolicy` and `minReadySeconds`.
 * - RoleBinding (`ValidateRoleBindingUpdate`): `roleRef`.
 * Returns the causes, each `<field>: <problem>`; empty when the update is allowed.
 */
import { isDeepStrictEqual } from 'util';
import type { KubeObject } from './manifests';

type Spec = Record<string, unknown>;

const JOB_IMMUTABLE = [
  'selector',
  'template',
  'completions',
  'completionMode',
  'podFailurePolicy',
  'backoffLimitPerIndex',
  'successPolicy',
  'managedBy',
];
const STATEFUL_SET_MUTABLE = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
];
const IMMUTABLE_DATA = '`immutable` is set';

export function refusedUpdate(old: KubeObject, next: KubeObject): string[] {
  switch (next.kind) {
    case 'Job':
      return jobCauses(spec(old), spec(next));
    case 'ConfigMap':
    case 'Secret':
      return dataCauses(old, next);
    case 'StatefulSet': {
      const strip = (value: Spec) =>
        Object.fromEntries(Object.entries(value).filter(([key]) => !STATEFUL_SET_MUTABLE.includes(key)));
      if (isDeepStrictEqual(strip(spec(old)), strip(spec(next)))) return [];
      return [
        `spec: Forbidden: updates to statefulset spec for fields other than ${STATEFUL_SET_MUTABLE.map((f) => `'${f}'`).join(', ')} are forbidden`,
      ];
    }
    case 'RoleBinding':
    case 'ClusterRoleBinding':
      return isDeepStrictEqual(old.roleRef, next.roleRef)
        ? []
        : [`roleRef: Invalid value: ${JSON.stringify(next.roleRef)}: cannot change roleRef`];
    default:
      return [];
  }
}

function jobCauses(old: Spec, next: Spec): string[] {
  const indexed = next.completionMode === 'Indexed' && old.completionMode === 'Indexed';
  return JOB_IMMUTABLE.filter((field) => !(field === 'completions' && indexed)) // elastic Indexed Jobs may change completions (with parallelism)
    .filter((field) => !isDeepStrictEqual(old[field], next[field]))
    .map((field) => `spec.${field}: Invalid value: ${summary(next[field])}: field is immutable`);
}

function dataCauses(old: KubeObject, next: KubeObject): string[] {
  const causes: string[] = [];
  if (next.kind === 'Secret' && (old.type ?? 'Opaque') !== (next.type ?? 'Opaque'))
    causes.push(`type: Invalid value: ${JSON.stringify(next.type)}: field is immutable`);
  if (old.immutable !== true) return causes;
  if (next.immutable !== true) causes.push(`immutable: Forbidden: field is immutable when ${IMMUTABLE_DATA}`);
  for (const field of ['data', 'binaryData']) {
    if (!isDeepStrictEqual(old[field] ?? {}, next[field] ?? {}))
      causes.push(`${field}: Forbidden: field is immutable when ${IMMUTABLE_DATA}`);
  }
  return causes;
}

function spec(object: KubeObject): Spec {
  return (object.spec ?? {}) as Spec;
}

function summary(value: unknown): string {
  // undefined for undefined, a function or a symbol, whatever its typings say.
  const text = (JSON.stringify(value) as string | undefined) ?? 'null';
  return text.length > 120 ? `${text.slice(0, 120)}...` : text;
}
