/**
 * What a cluster adds to a pod for its ServiceAccount:
 * - the ServiceAccount admission plugin (plugin/pkg/admission/serviceaccount): `serviceAccountName`
 *   defaults to `default`; a pod whose ServiceAccount does not exist is refused (the Job controller
 *   retries); unless `automountServiceAccountToken` is false on the pod (or, when the pod says
 *   nothing, on the ServiceAccount), a projected `kube-api-access-<suffix>` volume (token,
 *   kube-root-ca.crt's ca.crt, the namespace) is mounted read-only into every container at
 *   /var/run/secrets/kubernetes.io/serviceaccount;
 * - the kubelet: the `kubernetes` Service's variables (KUBERNETES_SERVICE_HOST, ..._PORT, ...) in
 *   every container, which here lead to the fake API server on 127.0.0.1 (the pods run with the
 *   host's network).
 */
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { KubeObject } from './manifests';
import { ROOT_CA_CONFIG_MAP } from './object-store';

export const SERVICE_ACCOUNT_MOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';
/** The token's lifetime the admission plugin asks for (3607 s: an hour and the kubelet's margin). */
const TOKEN_EXPIRATION_SECONDS = 3607;

/** A pod the API server refused to create; the Job controller tries again. */
export class PodAdmissionError extends Error {}

export interface AdmittedPod {
  readonly spec: IPodSpec;
  readonly serviceAccountName: string;
  /** Whether the token volume was added. */
  readonly automount: boolean;
}

export function admitServiceAccount(
  podName: string,
  spec: IPodSpec,
  namespace: string,
  serviceAccount: (name: string) => KubeObject | undefined,
  volumeSuffix: string,
): AdmittedPod {
  const serviceAccountName = spec.serviceAccountName ?? 'default';
  const account = serviceAccount(serviceAccountName);
  if (!account) {
    throw new PodAdmissionError(
      `pods "${podName}" is forbidden: error looking up service account ${namespace}/${serviceAccountName}: serviceaccount "${serviceAccountName}" not found`,
    );
  }
  const automount =
    spec.automountServiceAccountToken ?? (account.automountServiceAccountToken as boolean | undefined) ?? true;
  const mounted = spec.containers.some((container) =>
    container.volumeMounts?.some((mount) => mount.mountPath === SERVICE_ACCOUNT_MOUNT),
  );
  if (!automount || mounted) return { spec: { ...spec, serviceAccountName }, serviceAccountName, automount: false };
  const volume = `kube-api-access-${volumeSuffix}`;
  const mount = { name: volume, mountPath: SERVICE_ACCOUNT_MOUNT, readOnly: true };
  return {
    serviceAccountName,
    automount: true,
    spec: {
      ...spec,
      serviceAccountName,
      volumes: [
        ...(spec.volumes ?? []),
        {
          name: volume,
          projected: {
            defaultMode: 0o644,
            sources: [
              { serviceAccountToken: { expirationSeconds: TOKEN_EXPIRATION_SECONDS, path: 'token' } },
              { configMap: { name: ROOT_CA_CONFIG_MAP, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
              {
                downwardAPI: {
                  items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
                },
              },
            ],
          },
        },
      ],
      containers: spec.containers.map((container) => ({
        ...container,
        volumeMounts: [...(container.volumeMounts ?? []), mount],
      })),
    },
  };
}

/** The variables of the `default/kubernetes` Service that the kubelet gives every container, for an API server at host:port. */
export function kubernetesServiceEnv(host: string, port: number): Map<string, string> {
  const tcp = `tcp://${host}:${port}`;
  return new Map([
    ['KUBERNETES_SERVICE_HOST', host],
    ['KUBERNETES_SERVICE_PORT', String(port)],
    ['KUBERNETES_SERVICE_PORT_HTTPS', String(port)],
    ['KUBERNETES_PORT', tcp],
    [`KUBERNETES_PORT_${port}_TCP`, tcp],
    [`KUBERNETES_PORT_${port}_TCP_PROTO`, 'tcp'],
    [`KUBERNETES_PORT_${port}_TCP_PORT`, String(port)],
    [`KUBERNETES_PORT_${port}_TCP_ADDR`, host],
  ]);
}
