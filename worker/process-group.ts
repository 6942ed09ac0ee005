import { type ChildProcess, spawn } from 'node:child_process';
import { sleep } from './sleep';

/** How long a command's processes get after TERM before they are killed. */
export const KILL_GRACE_MS = 3000;
const POLL_MS = 50;

/** Process groups of commands that may still have processes in them. */
const groups = new Set<number>();

/**
 * Starts `sh -c command` as the leader of a process group of its own, so that everything the
 * command starts can be ended with it (a signal to `sh` alone would leave its children running).
 */
export function spawnCommandGroup(command: string): ChildProcess {
  const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'inherit', 'inherit'], detached: true });
  if (child.pid !== undefined) groups.add(child.pid);
  return child;
}

/** Ends a command's process group: TERM to all of it, KILL after KILL_GRACE_MS to what is left. */
export async function endCommandGroup(group: number): Promise<void> {
  signal(group, 'SIGTERM');
  const deadline = Date.now() + KILL_GRACE_MS;
  while (alive(group) && Date.now() < deadline) await sleep(POLL_MS);
  if (alive(group)) signal(group, 'SIGKILL');
  groups.delete(group);
}

/** After the command exited: forgets its group unless processes it started are still running. */
export function forgetCommandGroup(group: number): void {
  if (!alive(group)) groups.delete(group);
}

/** Ends what every command left behind: the worker calls it before it exits. */
export async function endCommandGroups(): Promise<void> {
  await Promise.all([...groups].map(endCommandGroup));
}

function alive(group: number): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(group: number, name: NodeJS.Signals): void {
  try {
    process.kill(-group, name);
  } catch {
    // The group is gone already.
  }
}
