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
  metadata?: { name?: string; namespace?: string };
  [field: string]: unknown;
}

/** The charts of one stack as `cdk8s synth` writes them: `[NNNN-]<stack>-<broker|seeder|job>.k8s.yaml`. */
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

const CHARTS = ['broker', 'seeder', 'job'] as const;

export function loadStack(outdir: string, stack: string): StackManifests {
  const files = readdirSync(outdir);
  const chart = (role: (typeof CHARTS)[number]): KubeObject[] => {
    const pattern = new RegExp(`^(\\d+-)?${stack}-${role}\\.k8s\\.yaml$`);
    const matches = files.filter((file) => pattern.test(file));
    if (matches.length !== 1) {
      throw new Error(`expected one ${stack}-${role} manifest in ${outdir}, found ${matches.length} among: ${files.join(', ')}`);
    }
    return (Yaml.load(join(outdir, matches[0])) as KubeObject[]).filter(Boolean);
  };
  return { stack, broker: chart('broker'), seeder: chart('seeder'), job: chart('job') };
}

export function allObjects(manifests: StackManifests): KubeObject[] {
  return [...manifests.broker, ...manifests.seeder, ...manifests.job];
}

/** The single Job of a chart. */
export function onlyJob(objects: KubeObject[]): IJob {
  const jobs = objects.filter((object) => object.kind === 'Job');
  if (jobs.length !== 1) throw new Error(`expected one Job, found ${jobs.length}`);
  return jobs[0] as unknown as IJob;
}

export function services(objects: KubeObject[]): IService[] {
  return objects.filter((object) => object.kind === 'Service') as unknown as IService[];
}

export function objectSource(objects: KubeObject[]): ObjectSource {
  const find = (kind: string, name: string) => objects.find((object) => object.kind === kind && object.metadata?.name === name);
  return {
    secret: (name) => find('Secret', name) as ISecret | undefined,
    configMap: (name) => find('ConfigMap', name) as IConfigMap | undefined,
  };
}
