/**
 * What the synthesized RabbitMQ StatefulSet does on an empty volume, played by the local RabbitMQ:
 * its first boot creates the user of RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS (from the
 * credentials Secret, through secretKeyRef) with full rights on `/`, once. Later boots find the
 * user on the volume and ignore the variables: a Secret changed afterwards is not seen by the
 * broker, and clients given the new password are refused, as on a cluster.
 * Like the kubelet, the broker's pod waits for its Secret (CreateContainerConfigError, retried);
 * here the harness boots it as soon as the Secret exists.
 */
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { ObjectSource } from './manifests';
import { PodConfigError } from './pod-config-error';
import { resolveEnv } from './pod-env';
import { mustRun, runProgram } from './run';

export interface BrokerUser {
  readonly username: string;
  readonly password: string;
  /** When the user was created (ms since the epoch). */
  readonly bootedAt: number;
}

/** Whether a StatefulSet runs RabbitMQ (its first container's image is `rabbitmq[:tag]`, from any registry). */
export function isRabbitMq(statefulSet: IStatefulSet): boolean {
  const image = statefulSet.spec?.template.spec?.containers[0]?.image ?? '';
  return /(^|\/)rabbitmq(:|@|$)/.test(image);
}

/**
 * The default user the broker's first boot would create, once its Secret resolves; undefined while
 * the Secret (or a key of it) is missing.
 */
export function defaultUser(
  statefulSet: IStatefulSet,
  objects: ObjectSource,
): { username: string; password: string } | undefined {
  const container = statefulSet.spec!.template.spec!.containers[0];
  let env: Map<string, string>;
  try {
    env = resolveEnv(container, objects);
  } catch (error) {
    if (error instanceof PodConfigError) return undefined;
    throw error;
  }
  const username = env.get('RABBITMQ_DEFAULT_USER');
  const password = env.get('RABBITMQ_DEFAULT_PASS');
  if (!username || !password) {
    throw new Error(
      `StatefulSet ${String(statefulSet.metadata?.name)}: the harness plays RabbitMQ's first boot from RABBITMQ_DEFAULT_USER and RABBITMQ_DEFAULT_PASS, which its container does not set`,
    );
  }
  return { username, password };
}

/**
 * The first boot: the user created afresh (one left by an earlier scenario is deleted first: this
 * broker's volume is empty), by `rabbitmqctl` (the command and leading arguments that reach the
 * local node of the scenario's broker generation).
 */
export async function firstBoot(
  user: { username: string; password: string },
  rabbitmqctl: readonly string[],
): Promise<BrokerUser> {
  const [program, ...leading] = rabbitmqctl;
  await deleteBrokerUser(user.username, rabbitmqctl);
  await mustRun(program, [...leading, '-q', 'add_user', '--', user.username, user.password]);
  await mustRun(program, [...leading, '-q', 'set_permissions', '-p', '/', user.username, '.*', '.*', '.*']);
  return { ...user, bootedAt: Date.now() };
}

/** Deletes the user from the local node, if it is there (the broker's volume gone with its cluster). */
export async function deleteBrokerUser(username: string, rabbitmqctl: readonly string[]): Promise<void> {
  const [program, ...leading] = rabbitmqctl;
  await runProgram(program, [...leading, '-q', 'delete_user', '--', username]);
}
