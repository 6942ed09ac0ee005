import { ItemFiles } from '../../worker/contract';
import { Manifest } from '../manifests';

/** The items one items ConfigMap holds: its files `items-<first>.json`, in the order of their first index. */
export function configMapItems(configMap: Manifest): string[] {
  const files = Object.entries(configMap.data as Record<string, string>).map(([file, json]) => ({
    first: Number(ItemFiles.fileNamePattern.exec(file)?.[1] ?? NaN),
    items: JSON.parse(json) as string[],
  }));
  return files.sort((a, b) => a.first - b.first).flatMap((file) => file.items);
}
