import { chmodSync, mkdirSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import type { IKeyToPath } from 'kubernetes-models/v1/KeyToPath';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { IVolumeProjection } from 'kubernetes-models/v1/VolumeProjection';
import type { ObjectSource } from './manifests';
import { PodConfigError } from './pod-config-error';

/** How a pod volume reaches Docker: a host directory to bind, or a tmpfs (emptyDir with medium Memory). */
export type VolumeBacking = { kind: 'bind'; hostPath: string } | { kind: 'tmpfs' };

/** What a projected volume's downwardAPI and serviceAccountToken sources read: the pod's namespace, and a token of its ServiceAccount. */
export interface PodIdentity {
  readonly namespace: string;
  serviceAccountToken(): string;
}

/**
 * Prepares the pod's volumes under `podDirectory` as the kubelet would on its node: an emptyDir is
 * an empty world-writable directory; a ConfigMap or Secret volume a directory of files, one per key
 * (or per `items` entry) with `defaultMode`; a projected volume the files of its sources
 * (serviceAccountToken, configMap, secret, downwardAPI `metadata.namespace`), as the ServiceAccount
 * admission's `kube-api-access-*` volume needs. A missing object or key is a PodConfigError
 * (FailedMount), which the kubelet retries, unless the source is optional.
 */
export function prepareVolumes(
  spec: IPodSpec,
  objects: ObjectSource,
  podDirectory: string,
  identity?: PodIdentity,
): Map<string, VolumeBacking> {
  const backings = new Map<string, VolumeBacking>();
  for (const volume of spec.volumes ?? []) {
    const hostPath = join(podDirectory, 'volumes', volume.name);
    const failed = (problem: string) =>
      new PodConfigError(`MountVolume.SetUp failed for volume "${volume.name}" : ${problem}`, 'FailedMount');
    if (volume.emptyDir) {
      if (volume.emptyDir.medium === 'Memory') {
        backings.set(volume.name, { kind: 'tmpfs' });
        continue;
      }
      mkdirSync(hostPath, { recursive: true });
      chmodSync(hostPath, 0o777);
    } else if (volume.configMap || volume.secret) {
      const files = projectionFiles(
        volume.configMap
          ? { configMap: volume.configMap }
          : { secret: { ...volume.secret, name: volume.secret!.secretName } },
        objects,
        identity,
        failed,
      );
      writeFiles(hostPath, files, (volume.configMap ?? volume.secret)!.defaultMode ?? 0o644);
    } else if (volume.projected) {
      const files = (volume.projected.sources ?? []).flatMap((source) =>
        projectionFiles(source, objects, identity, failed),
      );
      writeFiles(hostPath, files, volume.projected.defaultMode ?? 0o644);
    } else {
      throw new Error(
        `volume ${volume.name}: only emptyDir, configMap, secret and projected volumes are supported by the e2e harness`,
      );
    }
    backings.set(volume.name, { kind: 'bind', hostPath });
  }
  return backings;
}

interface VolumeFile {
  readonly path: string;
  readonly content: Buffer;
  readonly mode?: number;
}

function projectionFiles(
  source: IVolumeProjection,
  objects: ObjectSource,
  identity: PodIdentity | undefined,
  failed: (problem: string) => PodConfigError,
): VolumeFile[] {
  if (source.configMap || source.secret) {
    const isConfigMap = source.configMap !== undefined;
    const { name = '', items, optional } = (source.configMap ?? source.secret)!;
    const object = isConfigMap ? objects.configMap(name) : objects.secret(name);
    if (!object) {
      if (optional) return [];
      throw failed(`${isConfigMap ? 'configmap' : 'secret'} "${name}" not found`);
    }
    const data: Record<string, Buffer> = {};
    const text = isConfigMap
      ? (object as { data?: Record<string, string> }).data
      : (object as { stringData?: Record<string, string> }).stringData;
    for (const [key, value] of Object.entries(text ?? {})) data[key] = Buffer.from(value, 'utf8');
    const binary = isConfigMap
      ? (object as { binaryData?: Record<string, string> }).binaryData
      : (object as { data?: Record<string, string> }).data;
    for (const [key, value] of Object.entries(binary ?? {})) data[key] = Buffer.from(value, 'base64');
    const chosen: IKeyToPath[] = items ?? Object.keys(data).map((key) => ({ key, path: key }));
    return chosen.flatMap(({ key, path, mode }) => {
      if (key in data) return [{ path, content: data[key], mode }];
      if (optional) return [];
      throw failed(
        `${isConfigMap ? 'configmap' : 'secret'} references non-existent ${isConfigMap ? 'config' : 'secret'} key: ${key}`,
      );
    });
  }
  if (source.serviceAccountToken) {
    if (!identity)
      throw new Error('a serviceAccountToken projection needs the fake API server, which this pod was not given');
    return [{ path: source.serviceAccountToken.path, content: Buffer.from(identity.serviceAccountToken(), 'utf8') }];
  }
  if (source.downwardAPI) {
    return (source.downwardAPI.items ?? []).map((item) => {
      if (item.fieldRef?.fieldPath !== 'metadata.namespace' || !identity) {
        throw new Error(`downwardAPI ${item.path}: only metadata.namespace is supported by the e2e harness`);
      }
      return { path: item.path, content: Buffer.from(identity.namespace, 'utf8'), mode: item.mode };
    });
  }
  throw new Error(`projected volume source ${JSON.stringify(source)} is not supported by the e2e harness`);
}

function writeFiles(hostPath: string, files: VolumeFile[], defaultMode: number): void {
  mkdirSync(hostPath, { recursive: true });
  chmodSync(hostPath, 0o755);
  for (const { path, content, mode } of files) {
    const file = join(hostPath, path);
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    writeFileSync(file, content);
    chmodSync(file, mode ?? defaultMode);
  }
}
