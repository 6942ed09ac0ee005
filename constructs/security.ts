import * as kplus from 'cdk8s-plus-28';

/**
 * The container security context of every pod we synthesize: a fixed non-root user, no privilege
 * escalation, all capabilities dropped, the runtime's default seccomp profile. The root filesystem
 * is read-only unless the image needs to write to it.
 */
export function hardenedContainer(uid: number, readOnlyRootFilesystem = true): kplus.ContainerSecurityContextProps {
  return {
    user: uid,
    group: uid,
    ensureNonRoot: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem,
    capabilities: { drop: [kplus.Capability.ALL] },
    seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
  };
}
