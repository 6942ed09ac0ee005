/**
 * The checks of the Kubernetes Pod Security Standards (v1.28) that apply to the pod specs we
 * synthesize. Returns the violations, empty when the pod meets the level.
 * See https://kubernetes.io/docs/concepts/security/pod-security-standards/
 */
import type { IContainer, IEphemeralContainer, IPodSpec } from 'kubernetes-models/v1';

const BASELINE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);
const RESTRICTED_VOLUME_TYPES = new Set([
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
]);

export function baselineViolations(pod: IPodSpec): string[] {
  const problems: string[] = [];
  if (pod.hostNetwork || pod.hostPID || pod.hostIPC) problems.push('host namespaces');
  for (const volume of pod.volumes ?? []) if (volume.hostPath) problems.push(`hostPath volume ${volume.name}`);
  for (const c of allContainers(pod)) {
    const sc = c.securityContext ?? {};
    if (sc.privileged) problems.push(`${c.name}: privileged`);
    for (const cap of sc.capabilities?.add ?? [])
      if (!BASELINE_CAPABILITIES.has(cap)) problems.push(`${c.name}: adds ${cap}`);
    for (const port of c.ports ?? []) if (port.hostPort) problems.push(`${c.name}: hostPort`);
    if (sc.procMount && sc.procMount !== 'Default') problems.push(`${c.name}: procMount`);
    if (sc.seccompProfile?.type === 'Unconfined') problems.push(`${c.name}: seccomp Unconfined`);
  }
  if (pod.securityContext?.seccompProfile?.type === 'Unconfined') problems.push('pod: seccomp Unconfined');
  return problems;
}

export function restrictedViolations(pod: IPodSpec): string[] {
  const problems = baselineViolations(pod);
  for (const volume of pod.volumes ?? []) {
    const type = Object.keys(volume).find((k) => k !== 'name');
    if (!type || !RESTRICTED_VOLUME_TYPES.has(type)) problems.push(`volume ${volume.name}: type ${String(type)}`);
  }
  const podSc = pod.securityContext ?? {};
  if (podSc.runAsUser === 0) problems.push('pod: runAsUser 0');
  const podSeccomp = podSc.seccompProfile?.type;
  for (const c of allContainers(pod)) {
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${c.name}: allowPrivilegeEscalation is not false`);
    if (!(sc.runAsNonRoot ?? podSc.runAsNonRoot)) problems.push(`${c.name}: runAsNonRoot is not true`);
    if (sc.runAsUser === 0) problems.push(`${c.name}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? podSeccomp;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost')
      problems.push(`${c.name}: seccomp profile ${String(seccomp)}`);
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes('ALL')) problems.push(`${c.name}: does not drop ALL capabilities`);
    for (const cap of sc.capabilities?.add ?? [])
      if (cap !== 'NET_BIND_SERVICE') problems.push(`${c.name}: adds ${cap}`);
  }
  return problems;
}

function allContainers(pod: IPodSpec): Array<IContainer | IEphemeralContainer> {
  return [...(pod.initContainers ?? []), ...pod.containers, ...(pod.ephemeralContainers ?? [])];
}
