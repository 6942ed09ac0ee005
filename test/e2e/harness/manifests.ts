import { readdirSync } from 'fs';
import { join } from 'path';
import { Yaml } from 'cdk8s';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; [field: string]: unknown };
  [field: string]: unknown;
}

/**
 * The charts of one stack as `cdk8s synth` writes them: `[NNNN-]<stack>-<broker|seeder|job>.k8s.yaml`;
 * an indexed stack has only its job chart, and empty broker and seeder charts here.
 */
export interface StackManifests {
  readonly stack: string;
  readonly broker: KubeObject[];
  readonly seeder: KubeObject[];
  readonly job: KubeObject[];
}

/** Where Secret and ConfigMap references of a pod are looked up: the objects of its stack. */
export interface ObjectSource {
  secret(name: string): ISecret | undefined;
  configMap(name: string): IConfigMap | undefined;
}

type ChartRole = 'broker' | 'seeder' | 'job';

export function loadStack(outdir: string, stack: string): StackManifests {
  const job = loadChart(outdir, stack, 'job');
  if (chartFiles(outdir, stack, 'broker').length === 0 && chartFiles(outdir, stack, 'seeder').length === 0)
    return { stack, broker: [], seeder: [], job };
  return { stack, broker: loadChart(outdir, stack, 'broker'), seeder: loadChart(outdir, stack, 'seeder'), job };
}

/** The objects of one chart, `[NNNN-]<stack>-<role>.k8s.yaml`. */
export function loadChart(outdir: string, stack: string, role: ChartRole): KubeObject[] {
  const files = readdirSync(outdir);
  const matches = chartFiles(outdir, stack, role);
  if (matches.length !== 1) {
    throw new Error(
      `expected one ${stack}-${role} manifest in ${outdir}, found ${matches.length} among: ${files.join(', ')}`,
    );
  }
  return (Yaml.load(join(outdir, matches[0])) as KubeObject[]).filter(Boolean);
}

function chartFiles(outdir: string, stack: string, role: ChartRole): string[] {
  const pattern = new RegExp(`^(\\d+-)?${stack}-${role}\\.k8s\\.yaml$`);
  return readdirSync(outdir).filter((file) => pattern.test(file));
}

export function allObjects(manifests: StackManifests): KubeObject[] {
  return [...manifests.broker, ...manifests.seeder, ...manifests.job];
}

/** The single Job of a chart. */
export function onlyJob(objects: KubeObject[]): IJob {
  return onlyObject(objects, 'Job') as unknown as IJob;
}

/** The single object of a kind in a chart. */
export function onlyObject(objects: KubeObject[], kind: string): KubeObject {
  const matches = objects.filter((object) => object.kind === kind);
  if (matches.length !== 1) throw new Error(`expected one ${kind}, found ${matches.length}`);
  return matches[0];
}

export function services(objects: KubeObject[]): IService[] {
  return objects.filter((object) => object.kind === 'Service') as unknown as IService[];
}

export function objectSource(objects: KubeObject[]): ObjectSource {
  return {
    secret: (name) => findObject(objects, 'Secret', name) as ISecret | undefined,
    configMap: (name) => findObject(objects, 'ConfigMap', name) as IConfigMap | undefined,
  };
}

export function findObject(objects: KubeObject[], kind: string, name: string): KubeObject | undefined {
  return objects.find((object) => object.kind === kind && object.metadata?.name === name);
}

/** A key of a Secret, decoded; undefined when the Secret or the key is absent. */
export function secretValue(objects: ObjectSource, name: string, key: string): string | undefined {
  const secret = objects.secret(name);
  return secret?.stringData?.[key] ?? decodeBase64(secret?.data?.[key]);
}

/** A key of a ConfigMap, binary data decoded; undefined when the ConfigMap or the key is absent. */
export function configMapValue(objects: ObjectSource, name: string, key: string): string | undefined {
  const configMap = objects.configMap(name);
  return configMap?.data?.[key] ?? decodeBase64(configMap?.binaryData?.[key]);
}

function decodeBase64(data: string | undefined): string | undefined {
  return data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
}
