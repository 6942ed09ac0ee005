import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVarSource } from 'kubernetes-models/v1/EnvVarSource';
import { expand } from './expansion';
import { configMapValue, type ObjectSource, secretValue } from './manifests';
import { PodConfigError } from './pod-config-error';

/** What the downward API's `fieldRef` reads of a pod. */
export interface PodFields {
  readonly name: string;
  readonly namespace: string;
  readonly labels?: Record<string, string>;
  readonly annotations?: Record<string, string>;
}

/**
 * The environment the kubelet gives a container: variables in spec order, each `value` expanded
 * against the variables defined before it, `valueFrom` Secret and ConfigMap keys and the downward
 * API's `fieldRef` to the pod's name, namespace, labels and annotations resolved (unexpanded; a
 * missing label or annotation is the empty string), a later definition of a name replacing an earlier one. `serviceEnv` comes first, as
 * the kubelet puts the Service variables (KUBERNETES_SERVICE_HOST, ...) before the container's own.
 * Throws a PodConfigError (CreateContainerConfigError: the kubelet retries) when a non-optional
 * Secret or ConfigMap, or its key, is missing.
 */
export function resolveEnv(
  container: IContainer,
  objects: ObjectSource,
  serviceEnv: ReadonlyMap<string, string> = new Map(),
  pod?: PodFields,
): Map<string, string> {
  if (container.envFrom?.length)
    throw new Error(`container ${container.name}: envFrom is not supported by the e2e harness`);
  const env = new Map<string, string>(serviceEnv);
  for (const variable of container.env ?? []) {
    if (variable.valueFrom) {
      const value = resolveSource(container.name, variable.name, variable.valueFrom, objects, pod);
      if (value !== undefined) env.set(variable.name, value);
    } else {
      env.set(
        variable.name,
        expand(variable.value ?? '', (name) => env.get(name)),
      );
    }
  }
  return env;
}

/** The container's command and args with `$(VAR)` references expanded against its environment. */
export function expandedCommand(
  container: IContainer,
  env: Map<string, string>,
): { command?: string[]; args?: string[] } {
  const lookup = (name: string) => env.get(name);
  return {
    command: container.command?.map((word) => expand(word, lookup)),
    args: container.args?.map((word) => expand(word, lookup)),
  };
}

function resolveSource(
  container: string,
  variable: string,
  source: IEnvVarSource,
  objects: ObjectSource,
  pod?: PodFields,
): string | undefined {
  const where = `container ${container}, variable ${variable}`;
  if (source.fieldRef && pod) {
    const path = source.fieldRef.fieldPath;
    if (path === 'metadata.name') return pod.name;
    if (path === 'metadata.namespace') return pod.namespace;
    const key = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(path);
    if (key) return (key[1] === 'labels' ? pod.labels : pod.annotations)?.[key[2]] ?? '';
    throw new Error(`${where}: fieldRef ${path} is not supported by the e2e harness`);
  }
  if (source.secretKeyRef) {
    const { name, key, optional } = source.secretKeyRef;
    const value = secretValue(objects, name ?? '', key);
    if (value === undefined && !optional) {
      const problem = objects.secret(name ?? '')
        ? `couldn't find key ${key} in Secret ${String(name)}`
        : `secret "${String(name)}" not found`;
      throw new PodConfigError(`${where}: ${problem}`, 'CreateContainerConfigError');
    }
    return value;
  }
  if (source.configMapKeyRef) {
    const { name, key, optional } = source.configMapKeyRef;
    const value = configMapValue(objects, name ?? '', key);
    if (value === undefined && !optional) {
      const problem = objects.configMap(name ?? '')
        ? `couldn't find key ${key} in ConfigMap ${String(name)}`
        : `configmap "${String(name)}" not found`;
      throw new PodConfigError(`${where}: ${problem}`, 'CreateContainerConfigError');
    }
    return value;
  }
  throw new Error(
    `${where}: only secretKeyRef, configMapKeyRef and fieldRef to the pod's metadata are supported by the e2e harness, got ${JSON.stringify(source)}`,
  );
}
