/**
 * A container's termination message as the kubelet makes it (kubernetes pkg/kubelet/kuberuntime,
 * kuberuntime_container.go): before each start of a container it creates an empty file of its own
 * (`<pod dir>/containers/<name>/<random id>`, mode 0666) and bind-mounts it at the container's
 * `terminationMessagePath` (the API server defaults it to /dev/termination-log); once the container
 * exits, `getTerminationMessage` reads at most the last 4096 bytes of it
 * (MaxContainerTerminationMessageLength), and with `terminationMessagePolicy: FallbackToLogsOnError`
 * an empty file of a container that exited non-zero gives way to the end of its log
 * (`readLastStringFromContainerLogs`: the last 80 lines, MaxContainerTerminationMessageLogLines, of
 * which the last 2048 bytes, MaxContainerTerminationMessageLogLength). The message lands in
 * `status.containerStatuses[].state.terminated.message`, left out when empty.
 */
import { chmodSync, readFileSync, truncateSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { IContainer } from 'kubernetes-models/v1/Container';

/** The API server's default `terminationMessagePath`. */
export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';
const MAX_MESSAGE_BYTES = 4096;
const FALLBACK_LOG_LINES = 80;
const FALLBACK_LOG_BYTES = 2048;

/** `state.terminated` of a container status: what the harness reports of a container's last run. */
export interface TerminatedState {
  readonly exitCode: number;
  /** The kubelet's reason: Completed for exit code 0, else Error. */
  readonly reason: 'Completed' | 'Error';
  readonly message?: string;
}

/** Where a container's termination message file is on the host, and where it is mounted in the container. */
export interface TerminationMessageMount {
  readonly hostPath: string;
  readonly containerPath: string;
}

/** Creates the empty, world-writable file the container's termination message goes to (the container may run as any user). */
export function createTerminationMessageFile(podDirectory: string, container: IContainer): TerminationMessageMount {
  const hostPath = join(podDirectory, 'termination-log');
  writeFileSync(hostPath, '');
  chmodSync(hostPath, 0o666);
  return { hostPath, containerPath: container.terminationMessagePath || DEFAULT_TERMINATION_MESSAGE_PATH };
}

/** Empties the file for the container's next run: the kubelet gives each run a new one. */
export function resetTerminationMessageFile(mount: TerminationMessageMount): void {
  truncateSync(mount.hostPath);
}

/** The container's `state.terminated` once it exited with `exitCode`; `logs` is read only for the fallback. */
export async function terminatedState(
  mount: TerminationMessageMount,
  container: IContainer,
  exitCode: number,
  logs: () => Promise<string>,
): Promise<TerminatedState> {
  let message = lastBytes(readFileSync(mount.hostPath), MAX_MESSAGE_BYTES);
  if (message === '' && container.terminationMessagePolicy === 'FallbackToLogsOnError' && exitCode !== 0) {
    const lines = (await logs()).split(/(?<=\n)/);
    message = lastBytes(Buffer.from(lines.slice(-FALLBACK_LOG_LINES).join('')), FALLBACK_LOG_BYTES);
  }
  return { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error', ...(message === '' ? {} : { message }) };
}

/** The last `max` bytes, as Go's string() of them: a cut sequence becomes U+FFFD. */
function lastBytes(data: Buffer, max: number): string {
  return data.subarray(Math.max(0, data.length - max)).toString('utf8');
}
