import { existsSync } from 'fs';
import { mustRun, runProgram, type RunOptions, type RunResult } from './run';
import { asError } from './caught';

/** Debian's client, matched to Debian's engine (another client may sit earlier on PATH). */
export const DOCKER_CLI = existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';

/** Label on every container the harness starts, so a later run can remove what an aborted run left. */
export const HARNESS_LABEL = 'work-queue-stack.e2e';

export function docker(args: readonly string[], options?: RunOptions): Promise<RunResult> {
  return runProgram(DOCKER_CLI, args, options);
}

/** Runs docker and resolves with its standard output; a non-zero exit is an error. */
export async function mustDocker(args: readonly string[], options?: RunOptions): Promise<string> {
  return (await mustRun(DOCKER_CLI, args, options)).stdout;
}

/** Fails with a message that says what to do when no engine answers. */
export async function requireEngine(): Promise<void> {
  const info = await docker(['version', '--format', '{{.Server.Version}}']).catch((error: unknown) => ({
    code: -1,
    stdout: '',
    stderr: asError(error).message,
  }));
  if (info.code !== 0) {
    throw new Error(
      `The e2e tests need a Docker engine, and ${DOCKER_CLI} cannot reach one: ${info.stderr.trim()}\n` +
        'Run `bash .ci/start-docker` (as root) to install and start one.',
    );
  }
}

export async function imageExists(reference: string): Promise<boolean> {
  return (await docker(['image', 'inspect', reference])).code === 0;
}

/** Removes the containers an earlier, aborted run may have left behind. */
export async function removeLeftoverContainers(): Promise<void> {
  const ids = (await mustDocker(['ps', '-aq', '--filter', `label=${HARNESS_LABEL}`])).split('\n').filter(Boolean);
  if (ids.length > 0) await mustDocker(['rm', '-f', ...ids]);
}

/** Both output streams of a container, stdout first. */
export async function containerLogs(name: string): Promise<string> {
  const result = await mustRun(DOCKER_CLI, ['logs', name]);
  return result.stdout + result.stderr;
}
