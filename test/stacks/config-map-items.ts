import { Manifest } from '../manifests';

/**
 * The items an items ConfigMap holds, whatever its file layout: one `items.json`, or files of
 * consecutive items (`items-<first>.json`) in the order of their first index.
 */
export function configMapItems(configMap: Manifest): string[] {
  const data = configMap.data as Record<string, string>;
  const first = (key: string) => Number(/(\d+)\.json$/.exec(key)?.[1] ?? 0);
  return Object.keys(data)
    .sort((a, b) => first(a) - first(b))
    .flatMap((key) => JSON.parse(data[key]) as string[]);
}
