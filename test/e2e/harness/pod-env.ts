import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IEnvVarSource } from 'kubernetes-models/v1/EnvVarSource';
import { expand } from './expansion';
import { configMapValue, ObjectSource, secretValue } from './manifests';

/**
 * The environment the kubelet gives a container: variables in spec order, each `value` expanded
 * against the variables defined before it, `valueFrom` Secret and ConfigMap keys resolved
 * (unexpanded), a later definition of a name replacing an earlier one.
 * Throws, as the kubelet refuses to start the container, when a non-optional reference is missing.
 */
export function resolveEnv(container: IContainer, objects: ObjectSource): Map<string, string> {
  if (container.envFrom?.length) throw new Error(`container ${container.name}: envFrom is not supported by the e2e harness`);
  const env = new Map<string, string>();
  for (const variable of container.env ?? []) {
    if (variable.valueFrom) {
      const value = resolveSource(container.name, variable.name, variable.valueFrom, objects);
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
export function expandedCommand(container: IContainer, env: Map<string, string>): { command?: string[]; args?: string[] } {
  const lookup = (name: string) => env.get(name);
  return {
    command: container.command?.map((word) => expand(word, lookup)),
    args: container.args?.map((word) => expand(word, lookup)),
  };
}

function resolveSource(container: string, variable: string, source: IEnvVarSource, objects: ObjectSource): string | undefined {
  const where = `container ${container}, variable ${variable}`;
  if (source.secretKeyRef) {
    const { name, key, optional } = source.secretKeyRef;
    const value = secretValue(objects, name ?? '', key);
    if (value === undefined && !optional) {
      throw new Error(`${where}: ${objects.secret(name ?? '') ? `Secret ${name} has no key ${key}` : `Secret ${name} is not in the synthesized manifests`}`);
    }
    return value;
  }
  if (source.configMapKeyRef) {
    const { name, key, optional } = source.configMapKeyRef;
    const value = configMapValue(objects, name ?? '', key);
    if (value === undefined && !optional) {
      throw new Error(
        `${where}: ${objects.configMap(name ?? '') ? `ConfigMap ${name} has no key ${key}` : `ConfigMap ${name} is not in the synthesized manifests`}`,
      );
    }
    return value;
  }
  throw new Error(`${where}: only secretKeyRef and configMapKeyRef are supported by the e2e harness, got ${JSON.stringify(source)}`);
}
