import { chmodSync, mkdirSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { ObjectSource } from './manifests';

/** How a pod volume reaches Docker: a host directory to bind, or a tmpfs (emptyDir with medium Memory). */
export type VolumeBacking = { kind: 'bind'; hostPath: string } | { kind: 'tmpfs' };

/**
 * Prepares the pod's volumes under `podDirectory` as the kubelet would on its node: an emptyDir is
 * an empty world-writable directory, a ConfigMap volume a directory of read-only files, one per key
 * (or per `items` entry) with `defaultMode`.
 */
export function prepareVolumes(spec: IPodSpec, objects: ObjectSource, podDirectory: string): Map<string, VolumeBacking> {
  const backings = new Map<string, VolumeBacking>();
  for (const volume of spec.volumes ?? []) {
    const hostPath = join(podDirectory, 'volumes', volume.name);
    if (volume.emptyDir) {
      if (volume.emptyDir.medium === 'Memory') {
        backings.set(volume.name, { kind: 'tmpfs' });
        continue;
      }
      mkdirSync(hostPath, { recursive: true });
      chmodSync(hostPath, 0o777);
    } else if (volume.configMap) {
      const { name, items, defaultMode = 0o644, optional } = volume.configMap;
      const configMap = objects.configMap(name ?? '');
      if (!configMap && !optional) throw new Error(`volume ${volume.name}: ConfigMap ${name} is not in the synthesized manifests`);
      const data: Record<string, Buffer> = {};
      for (const [key, value] of Object.entries(configMap?.data ?? {})) data[key] = Buffer.from(value, 'utf8');
      for (const [key, value] of Object.entries(configMap?.binaryData ?? {})) data[key] = Buffer.from(value, 'base64');
      const files = items ?? Object.keys(data).map((key) => ({ key, path: key, mode: undefined }));
      mkdirSync(hostPath, { recursive: true });
      chmodSync(hostPath, 0o755);
      for (const { key, path, mode } of files) {
        if (!(key in data)) throw new Error(`volume ${volume.name}: ConfigMap ${name} has no key ${key}`);
        const file = join(hostPath, path);
        mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
        writeFileSync(file, data[key]);
        chmodSync(file, mode ?? defaultMode);
      }
    } else {
      throw new Error(`volume ${volume.name}: only emptyDir and configMap volumes are supported by the e2e harness`);
    }
    backings.set(volume.name, { kind: 'bind', hostPath });
  }
  return backings;
}
