import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { GENERATION, RABBITMQCTL } from './brokers';

const run = promisify(execFile);

/** rabbitmqctl of this generation's RabbitMQ; a clear failure when it cannot be used. */
async function rabbitmqctl(args: string[]): Promise<string> {
  try {
    const [command, ...leading] = RABBITMQCTL;
    const { stdout } = await run(command, [...leading, '-q', ...args], { timeout: 30_000 });
    return stdout;
  } catch (error) {
    throw new Error(
      `rabbitmqctl ${args.join(' ')} failed on the RabbitMQ of the ${GENERATION} generation (${String(error)}): the RabbitMQ outage tests close one connection with it (${RABBITMQCTL.join(' ')})`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Closes, from the broker's side, the one connection a process opened: the worker names its
 * connections `work-queue <command> on <host> pid <pid>`. Waits until that connection shows up.
 * With `whilePaused`, the process is stopped (SIGSTOP) while its connection is closed and then
 * continued, so that it cannot finish its work before the close, however fast it is.
 */
export async function closeConnectionOf(pid: number, { timeoutMs = 30_000, whilePaused = false } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await closeOneConnectionOf([pid], whilePaused)) === undefined) {
    if (Date.now() > deadline) throw new Error(`no RabbitMQ connection of pid ${pid} within ${timeoutMs} ms`);
  }
}

/** Waits until a process has its RabbitMQ connection open (it has started, and installed its signal handlers before connecting). */
export async function waitForConnectionOf(pid: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await rabbitmqctl(['list_connections', 'client_properties'])).includes(` pid ${pid}"`)) {
    if (Date.now() > deadline) throw new Error(`no RabbitMQ connection of pid ${pid} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Closes the connection of the first of these processes that has one now; returns its pid. */
export async function closeOneConnectionOf(pids: number[], whilePaused = false): Promise<number | undefined> {
  const lines = (await rabbitmqctl(['list_connections', 'pid', 'client_properties'])).split('\n');
  for (const pid of pids) {
    const line = lines.find((l) => l.includes(` pid ${pid}"`));
    if (line) {
      if (whilePaused) process.kill(pid, 'SIGSTOP');
      try {
        await rabbitmqctl(['close_connection', line.split('\t')[0], 'closed by the outage test']);
      } finally {
        if (whilePaused) process.kill(pid, 'SIGCONT');
      }
      return pid;
    }
  }
  return undefined;
}
