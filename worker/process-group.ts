import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sleep } from './sleep';

/** How long a command's processes get after TERM before they are killed. */
export const KILL_GRACE_MS = 3000;
const POLL_MS = 50;

/** Process groups of commands that may still have processes in them. */
const groups = new Set<number>();

/**
 * Starts `sh -c command` as the leader of a process group of its own, so that everything the
 * command starts can be ended with it (a signal to `sh` alone would leave its children running).
 * Its standard input is `input`, whole, before the command exists: see `inputFile`.
 */
export function spawnCommandGroup(command: string, input: string): ChildProcess {
  const stdin = inputFile(input);
  try {
    const child = spawn('sh', ['-c', command], { stdio: [stdin, 'inherit', 'inherit'], detached: true });
    if (child.pid !== undefined) groups.add(child.pid);
    return child;
  } finally {
    closeSync(stdin);
  }
}

/**
 * A file holding `input`, open for reading at its start, already unlinked (nothing is left behind,
 * whenever the worker dies), in the scratch directory (os.tmpdir(): /tmp, the pods' emptyDir).
 * Written in full before the command is spawned, it is the only input a command can ever see: a
 * pipe written after spawn gives a command whose worker is killed meanwhile a partial or empty
 * input, and the empty string is a valid item; a pipe filled before spawn holds 64 KiB, an item
 * up to 512 KiB. A command whose worker died thus runs, if at all, with its whole item (in a pod,
 * where the worker is PID 1, its death ends the command too).
 */
function inputFile(input: string): number {
  const file = path.join(tmpdir(), `work-queue-item-${process.pid}-${randomBytes(6).toString('hex')}`);
  let fd: number;
  try {
    fd = openSync(file, 'wx+', 0o600);
  } catch (error) {
    throw new Error(`its input could not be written to ${tmpdir()}: ${(error as Error).message}`, { cause: error });
  }
  try {
    unlinkSync(file);
    const bytes = Buffer.from(input, 'utf8');
    // Written at explicit positions (pwrite): the descriptor's offset, which the command reads from, stays at 0.
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at, at);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
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
