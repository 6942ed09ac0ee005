import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import type { VolumeBacking } from './pod-volumes';
import { parseQuantity } from './quantity';
import type { HostEntry } from './service-network';
import type { TerminationMessageMount } from './termination-message';

export interface DockerRunInput {
  podName: string;
  spec: IPodSpec;
  container: IContainer;
  /** The resolved environment, in order. */
  env: Map<string, string>;
  /** Command and args after `$(VAR)` expansion. */
  command?: string[];
  args?: string[];
  volumes: Map<string, VolumeBacking>;
  /** The broker Services' host names and the loopback address each resolves to (its Service gate, service-network.ts). */
  hosts: readonly HostEntry[];
  /** The image's configured user (`docker image inspect` .Config.User), for the runAsNonRoot check. */
  imageUser: string;
  labels: Record<string, string>;
  /** The container's termination message file, bound at its terminationMessagePath. @default - none */
  terminationMessage?: TerminationMessageMount;
}

/** terminationGracePeriodSeconds when the pod spec leaves it unset. */
const DEFAULT_GRACE_SECONDS = 30;

/** The arguments of `docker run` for a pod's only container; the image and its arguments come last. */
export function dockerRunArgs(input: DockerRunInput): string[] {
  const { podName, spec, container } = input;
  const args = ['--name', podName, '--network', 'host'];
  for (const [key, value] of Object.entries(input.labels)) args.push('--label', `${key}=${value}`);
  for (const { name, address } of input.hosts) args.push('--add-host', `${name}:${address}`);
  for (const [name, value] of input.env) args.push('--env', `${name}=${value}`);
  if (container.workingDir) args.push('--workdir', container.workingDir);
  // The pod's hostname (an Indexed Job's `<job>-<index>`), and its grace period: `docker stop` (a pod's deletion) waits that long before SIGKILL.
  if (spec.hostname) args.push('--hostname', spec.hostname);
  args.push('--stop-timeout', String(spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS));
  args.push(...securityArgs(input), ...resourceArgs(container), ...mountArgs(input));

  // Kubernetes' command replaces the image's ENTRYPOINT and drops its CMD; args alone replace CMD.
  const command = input.command?.length ? input.command : undefined;
  if (command) args.push('--entrypoint', command[0]);
  args.push(container.image ?? '');
  if (command) args.push(...command.slice(1));
  args.push(...(input.args ?? []));
  return args;
}

function securityArgs({ spec, container, imageUser }: DockerRunInput): string[] {
  const pod = spec.securityContext ?? {};
  const own = container.securityContext ?? {};
  const uid = own.runAsUser ?? pod.runAsUser;
  const gid = own.runAsGroup ?? pod.runAsGroup;
  const runAsNonRoot = own.runAsNonRoot ?? pod.runAsNonRoot;
  const args: string[] = [];

  if (runAsNonRoot) {
    // The kubelet's check: the effective user must be a non-zero numeric uid.
    const effective = uid !== undefined ? String(uid) : imageUser.split(':')[0];
    if (!/^\d+$/.test(effective))
      throw new Error(
        `${container.name}: runAsNonRoot, but the image user ${JSON.stringify(imageUser)} is not a numeric uid and runAsUser is unset`,
      );
    if (Number(effective) === 0)
      throw new Error(`${container.name}: runAsNonRoot, but the container would run as uid 0`);
  }
  if (uid !== undefined) args.push('--user', gid !== undefined ? `${uid}:${gid}` : String(uid));
  else if (gid !== undefined)
    throw new Error(`${container.name}: runAsGroup without runAsUser is not supported by the e2e harness`);
  for (const group of [...(pod.supplementalGroups ?? []), ...(pod.fsGroup !== undefined ? [pod.fsGroup] : [])])
    args.push('--group-add', String(group));

  if (own.privileged) args.push('--privileged');
  if (own.readOnlyRootFilesystem) args.push('--read-only');
  if (own.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
  for (const capability of own.capabilities?.drop ?? []) args.push('--cap-drop', capability);
  for (const capability of own.capabilities?.add ?? []) args.push('--cap-add', capability);

  const seccomp = own.seccompProfile ?? pod.seccompProfile;
  // RuntimeDefault is Docker's own default profile, which applies unless told otherwise.
  if (seccomp?.type === 'Unconfined') args.push('--security-opt', 'seccomp=unconfined');
  else if (seccomp && seccomp.type !== 'RuntimeDefault')
    throw new Error(`${container.name}: seccomp profile ${seccomp.type} is not supported by the e2e harness`);
  return args;
}

function resourceArgs(container: IContainer): string[] {
  const resources = container.resources ?? {};
  // Quantities by resource name: only the names a container sets are there.
  const limits: Partial<NonNullable<typeof resources.limits>> = resources.limits ?? {};
  const requests: Partial<NonNullable<typeof resources.requests>> = resources.requests ?? {};
  const args: string[] = [];
  if (limits.cpu !== undefined) args.push('--cpus', String(parseQuantity(limits.cpu)));
  if (limits.memory !== undefined) args.push('--memory', String(Math.round(parseQuantity(limits.memory))));
  // As the kubelet maps a CPU request to cgroup shares.
  const request = requests.cpu ?? limits.cpu;
  if (request !== undefined) args.push('--cpu-shares', String(Math.max(2, Math.round(parseQuantity(request) * 1024))));
  return args;
}

function mountArgs({ container, volumes, terminationMessage }: DockerRunInput): string[] {
  const message = terminationMessage
    ? ['--mount', `type=bind,source=${terminationMessage.hostPath},target=${terminationMessage.containerPath}`]
    : [];
  return message.concat(
    (container.volumeMounts ?? []).flatMap((mount) => {
      const backing = volumes.get(mount.name);
      if (!backing) throw new Error(`${container.name}: volumeMount ${mount.name} names no volume of the pod`);
      if (backing.kind === 'tmpfs') return ['--mount', `type=tmpfs,destination=${mount.mountPath},tmpfs-mode=0777`];
      const source = mount.subPath ? `${backing.hostPath}/${mount.subPath}` : backing.hostPath;
      return ['--mount', `type=bind,source=${source},target=${mount.mountPath}${mount.readOnly ? ',readonly' : ''}`];
    }),
  );
}
