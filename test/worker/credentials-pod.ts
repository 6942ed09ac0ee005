import { spawn, spawnSync } from 'node:child_process';
import { cliPath, type RunResult } from './helpers';

/** Where Kubernetes mounts the service account files; the CLI reads them there and nowhere else. */
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * Mounts `dir` at the service account path in a mount namespace of the child's own (a tmpfs over
 * /run so that nothing is written to the host), then runs the CLI bundle there: the command finds
 * its token, ca.crt and namespace where a pod has them, with no test-only setting in the product.
 */
const MOUNT_AND_RUN = `set -e
run_dir=$(readlink -f /var/run)
mount -t tmpfs -o mode=755 work-queue-test "$run_dir"
mkdir -p ${SERVICE_ACCOUNT_DIR}
mount --bind "$1" ${SERVICE_ACCOUNT_DIR}
shift
exec "$@"`;

/** Whether this machine lets a test mount in a namespace of its own (root, or user namespaces). */
export function canMountServiceAccount(): boolean {
  const probe = spawnSync(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs probe "$(readlink -f /var/run)"'],
    {
      stdio: 'ignore',
    },
  );
  return probe.status === 0;
}

/** Runs `work-queue ARGS` as a pod would, its service account files being `dir`, with exactly `env` (plus PATH). */
export function runInPod(dir: string, args: string[], env: Record<string, string>): Promise<RunResult> {
  const child = spawn(
    'unshare',
    ['--mount', '--propagation', 'private', 'sh', '-c', MOUNT_AND_RUN, 'sh', dir, process.execPath, cliPath(), ...args],
    {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}
