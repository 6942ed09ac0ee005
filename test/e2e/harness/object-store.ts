/**
 * The objects of a cluster, as the API server stores them: created or updated by `kubectl apply`
 * (by kind, namespace and name), or created through the API (the credentials Job's Secret).
 *
 * Apply: an object that does not exist is created; one whose applied manifest equals the last one
 * applied is unchanged; otherwise it is updated, unless the update changes a field the API server
 * keeps immutable (immutable-fields.ts), which is refused with the API server's 422 Invalid, the
 * object left as it was. The update replaces the object by the new manifest: kubectl's three-way
 * merge gives the same result for manifests that are always applied whole, as these are.
 * A namespaced object needs its namespace (404 otherwise); `default`, `kube-system` and
 * `kube-public` exist, and every namespace gets the `default` ServiceAccount and the
 * `kube-root-ca.crt` ConfigMap that the serviceaccounts and root-ca-cert-publisher controllers write. As the API server does, a Secret's `stringData` is
 * merged into `data` (base64) on write.
 *
 * Apply is kubectl's default, client-side apply: it writes the whole manifest into the object's
 * `kubectl.kubernetes.io/last-applied-configuration` annotation, and the API server refuses an
 * object whose annotations hold more than 256 KiB in all (apimachinery's ValidateAnnotationsSize,
 * TotalAnnotationSizeLimitB), so a large ConfigMap that fits its own 1 MiB is still refused.
 */
import { randomUUID } from 'crypto';
import { isDeepStrictEqual } from 'util';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import { alreadyExists, ApiError, invalid, notFound } from './api-status';
import { refusedUpdate } from './immutable-fields';
import type { KubeObject, ObjectSource } from './manifests';

/** Kinds without a namespace (the API's cluster-scoped resources, as far as manifests here go). */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
]);
const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public'];
export const ROOT_CA_CONFIG_MAP = 'kube-root-ca.crt';

export type ApplyAction = 'created' | 'configured' | 'unchanged';

/** apimachinery's TotalAnnotationSizeLimitB: the keys and values of an object's annotations, in all. */
const MAX_ANNOTATIONS_BYTES = 256 * 1024;
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * The bytes of a manifest's annotations once client-side `kubectl apply` has added its own: the
 * manifest as JSON, as Go's encoding/json writes it (`<`, `>`, `&`, U+2028 and U+2029 escaped as
 * `\uXXXX`, which JSON.stringify leaves as they are).
 */
function lastAppliedAnnotationsSize(manifest: KubeObject): number {
  const json = JSON.stringify(manifest);
  const escaped = (json.match(/[<>&]/g)?.length ?? 0) * 5 + (json.match(/[\u2028\u2029]/g)?.length ?? 0) * 3;
  const own = Object.entries(manifest.metadata?.annotations ?? {}).reduce(
    (sum, [key, value]) => sum + key.length + String(value).length,
    0,
  );
  return own + LAST_APPLIED.length + Buffer.byteLength(json) + escaped;
}

interface Entry {
  object: KubeObject;
  /** The manifest as last applied (kubectl's last-applied-configuration); none for an object created through the API. */
  lastApplied?: KubeObject;
}

export interface ObjectStoreOptions {
  /** The cluster's CA certificate (PEM): the `ca.crt` of every namespace's kube-root-ca.crt ConfigMap. @default - no such ConfigMap */
  readonly rootCa?: string;
  /** The namespace of objects that name none, as kubectl's context or `-n` gives it. @default 'default' */
  readonly defaultNamespace?: string;
}

export class ObjectStore {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners: ((object: KubeObject, action: ApplyAction) => void)[] = [];
  readonly defaultNamespace: string;

  constructor(private readonly options: ObjectStoreOptions = {}) {
    this.defaultNamespace = options.defaultNamespace ?? 'default';
    for (const name of INITIAL_NAMESPACES) this.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }

  /** `kubectl apply` of one object. Throws the API's error (namespace missing, immutable field) and leaves the store as it was. */
  apply(manifest: KubeObject): { object: KubeObject; action: ApplyAction } {
    const annotations = lastAppliedAnnotationsSize(manifest);
    if (annotations > MAX_ANNOTATIONS_BYTES) {
      throw invalid(manifest.kind, manifest.apiVersion, name(manifest), [
        `metadata.annotations: Too long: must have at most ${MAX_ANNOTATIONS_BYTES} bytes`,
      ]);
    }
    const desired = this.normalize(manifest);
    const key = this.key(desired);
    const entry = this.entries.get(key);
    if (!entry) {
      const object = this.insert(desired);
      this.entries.get(key)!.lastApplied = desired;
      return { object, action: 'created' };
    }
    if (entry.lastApplied && isDeepStrictEqual(entry.lastApplied, desired))
      return { object: entry.object, action: 'unchanged' };
    const causes = refusedUpdate(entry.object, desired);
    if (causes.length > 0) throw invalid(desired.kind, desired.apiVersion, name(desired), causes);
    const object = {
      ...desired,
      metadata: {
        ...desired.metadata,
        uid: entry.object.metadata?.uid,
        creationTimestamp: entry.object.metadata?.creationTimestamp,
      },
    };
    this.entries.set(key, { object, lastApplied: desired });
    this.notify(object, 'configured');
    return { object, action: 'configured' };
  }

  /** A create through the API (POST): 409 AlreadyExists when the object exists. */
  create(manifest: KubeObject): KubeObject {
    const desired = this.normalize(manifest);
    if (this.entries.has(this.key(desired))) throw alreadyExists(desired.kind, desired.apiVersion, name(desired));
    return this.insert(desired);
  }

  get(kind: string, namespace: string | undefined, objectName: string): KubeObject | undefined {
    const scoped = CLUSTER_SCOPED.has(kind) ? '' : (namespace ?? this.defaultNamespace);
    return this.entries.get(`${kind}/${scoped}/${objectName}`)?.object;
  }

  list(kind: string, namespace?: string): KubeObject[] {
    return [...this.entries.values()]
      .map((entry) => entry.object)
      .filter(
        (object) => object.kind === kind && (namespace === undefined || object.metadata?.namespace === namespace),
      );
  }

  all(): KubeObject[] {
    return [...this.entries.values()].map((entry) => entry.object);
  }

  /** Where a pod of `namespace` finds the Secrets and ConfigMaps it references: the store as it is at each lookup. */
  source(namespace: string): ObjectSource {
    return {
      secret: (objectName) => this.get('Secret', namespace, objectName) as ISecret | undefined,
      configMap: (objectName) => this.get('ConfigMap', namespace, objectName) as IConfigMap | undefined,
    };
  }

  /** Calls `listener` after each object is created or changed (the informers of the controllers). */
  watch(listener: (object: KubeObject, action: ApplyAction) => void): void {
    this.listeners.push(listener);
  }

  private insert(desired: KubeObject): KubeObject {
    const namespace = desired.metadata?.namespace;
    if (namespace !== undefined && !this.get('Namespace', undefined, namespace))
      throw notFound('Namespace', 'v1', namespace);
    const object = {
      ...desired,
      metadata: { ...desired.metadata, uid: randomUUID(), creationTimestamp: new Date().toISOString() },
    };
    this.entries.set(this.key(desired), { object });
    if (desired.kind === 'Namespace') {
      // What the serviceaccounts and root-ca-cert-publisher controllers add to every namespace.
      this.insert({
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name: 'default', namespace: name(desired) },
      });
      if (this.options.rootCa !== undefined) {
        this.insert({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: ROOT_CA_CONFIG_MAP, namespace: name(desired) },
          data: { 'ca.crt': this.options.rootCa },
        });
      }
    }
    this.notify(object, 'created');
    return object;
  }

  private notify(object: KubeObject, action: ApplyAction): void {
    for (const listener of this.listeners) listener(object, action);
  }

  /** The object as the API server writes it: its namespace filled in, a Secret's stringData merged into data. */
  private normalize(manifest: KubeObject): KubeObject {
    if (!manifest.kind || !manifest.apiVersion)
      throw new ApiError(
        400,
        'BadRequest',
        `Object 'Kind' or 'apiVersion' is missing in ${JSON.stringify(manifest).slice(0, 120)}`,
      );
    if (!manifest.metadata?.name)
      throw new ApiError(
        422,
        'Invalid',
        `${manifest.kind} "" is invalid: metadata.name: Required value: name or generateName is required`,
      );
    const object = structuredClone(manifest);
    object.metadata = {
      ...object.metadata,
      ...(CLUSTER_SCOPED.has(object.kind) ? {} : { namespace: object.metadata?.namespace ?? this.defaultNamespace }),
    };
    if (object.kind === 'Secret' && object.stringData) {
      const data = { ...((object.data as Record<string, string> | undefined) ?? {}) };
      for (const [key, value] of Object.entries(object.stringData as Record<string, string>))
        data[key] = Buffer.from(value, 'utf8').toString('base64');
      delete object.stringData;
      object.data = data;
    }
    return object;
  }

  private key(object: KubeObject): string {
    return `${object.kind}/${object.metadata?.namespace ?? ''}/${name(object)}`;
  }
}

function name(object: KubeObject): string {
  return object.metadata?.name ?? '';
}
