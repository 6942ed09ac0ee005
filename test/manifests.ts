import { Chart, Testing } from 'cdk8s';
import { Env, ItemFiles } from '../contract';

/** A value inside a synthesized object: deliberately loose, so that tests reach into whatever synthesis produced and assert on it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the one loose type of the tests' manifests (see eslint.config.mjs)
export type ManifestValue = any;

/** A synthesized Kubernetes object, loosely typed for assertions. */
export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; [key: string]: ManifestValue };
  [key: string]: ManifestValue;
};

/** Builds a chart with `build`, runs the chart's validations as `app.synth()` does, and returns its objects. */
export function synth(build: (chart: Chart) => void): Manifest[] {
  const chart = new Chart(Testing.app(), 'test');
  build(chart);
  const errors = chart.node.validate();
  if (errors.length > 0) throw new Error(errors.join('\n'));
  return Testing.synth(chart) as Manifest[];
}

/** A chart's objects as it synthesizes them. */
export function manifestsOf(chart: Chart): Manifest[] {
  return chart.toJson() as Manifest[];
}

/** The one object of `kind` (and `name`, when given); fails the test when there is not exactly one. */
export function only(manifests: Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` named ${name}` : ''}, found ${found.length}`);
  return found[0];
}

/** The pod spec of a workload (Job, StatefulSet) or of a Pod. */
export function podSpec(manifest: Manifest): ManifestValue {
  return manifest.kind === 'Pod' ? manifest.spec : manifest.spec.template.spec;
}

/** The container env of a workload as a name -> entry map, keeping the order in `names`. */
export function containerEnv(
  manifest: Manifest,
  index = 0,
): { names: string[]; byName: Record<string, ManifestValue> } {
  const env: ManifestValue[] = podSpec(manifest).containers[index].env ?? [];
  return { names: env.map((e) => e.name), byName: Object.fromEntries(env.map((e) => [e.name, e])) };
}

/** The one Job named `<name>-<8 hex digits>`: a Job's name ends in the hash of what cannot change on an existing Job. */
export function onlyJob(manifests: Manifest[], name: string): Manifest {
  const found = manifests.filter(
    (m) => m.kind === 'Job' && m.metadata.name?.replace(/-[0-9a-f]{8}$/, '') === name && m.metadata.name !== name,
  );
  if (found.length !== 1)
    throw new Error(
      `expected one Job named ${name}-<hash>, found ${found.length}: ${manifests
        .filter((m) => m.kind === 'Job')
        .map((m) => m.metadata.name)
        .join(', ')}`,
    );
  return found[0];
}

/** Builds a chart with `build` and returns the one line its synth fails with; fails the test when it does not fail. */
export function synthError(build: (chart: Chart) => void): string {
  try {
    synth(build);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('synth did not fail');
}

/** The items one items ConfigMap holds: its files `items-<first>.json`, in the order of their first index. */
export function configMapItems(configMap: Manifest): string[] {
  return itemFiles([configMap]).flatMap((file) => file.items);
}

/** The item files of ConfigMaps, by first index. */
function itemFiles(configMaps: readonly Manifest[]): { first: number; items: string[] }[] {
  const files = configMaps.flatMap((configMap) =>
    Object.entries(configMap.data as Record<string, string>).flatMap(([file, json]) => {
      const match = ItemFiles.fileNamePattern.exec(file);
      return match ? [{ first: Number(match[1]), items: JSON.parse(json) as string[] }] : [];
    }),
  );
  return files.sort((a, b) => a.first - b.first);
}

/**
 * The items a Job's pods read from ITEMS_DIRECTORY: the files `items-<first>.json` of the
 * ConfigMaps projected there, in index order; or what is wrong, as a sentence after the Job's name.
 */
export function mountedItems(job: Manifest, configMaps: readonly Manifest[]): string[] | string {
  const directory = containerEnv(job).byName[Env.itemsDirectory]?.value as string | undefined;
  if (directory === undefined) return `has no ${Env.itemsDirectory}`;
  const spec = podSpec(job);
  const mount = (spec.containers[0].volumeMounts ?? []).find((m: ManifestValue) => m.mountPath === directory);
  const sources: ManifestValue[] =
    (spec.volumes ?? []).find((v: ManifestValue) => v.name === mount?.name)?.projected?.sources ?? [];
  const mounted: Manifest[] = [];
  for (const source of sources) {
    const configMap = configMaps.find((c) => c.metadata.name === source.configMap?.name);
    if (configMap === undefined)
      return `mounts ConfigMap ${String(source.configMap?.name)}, which is not in the output`;
    mounted.push(configMap);
  }
  const files = itemFiles(mounted);
  if (files.length === 0) return `mounts no item files at ${directory}`;
  const items: string[] = [];
  for (const file of files) {
    // Each file's first index is its place in the list, as the worker reads it.
    if (file.first !== items.length) return `mounts ${ItemFiles.fileName(file.first)} after ${items.length} items`;
    items.push(...file.items);
  }
  return items;
}
