import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The RabbitMQ scripts of an install, as its nodes see them. */
const RABBITMQ_BIN = '/usr/lib/rabbitmq/bin';

export type RabbitMQTool = 'rabbitmq-server' | 'rabbitmqctl' | 'rabbitmq-queues' | 'rabbitmq-diagnostics';

/** A directory of a node's own: where the test writes its files, and the same place as the node sees it. */
export interface NodeDirectory {
  readonly host: string;
  readonly node: string;
}

/**
 * Where the programs of a test's own RabbitMQ nodes come from: the machine's RabbitMQ 3.10 or the
 * deployed generation's RabbitMQ 4.0 in the Debian 13 root (.ci/start-brokers). Either way a node
 * gets only the environment the test gives it (its name, ports, config and directories), never the
 * shared broker's.
 */
export interface RabbitMQInstall {
  /** The generation, as test names show it. */
  readonly generation: string;
  /** The node name prefix's first letters, so that the two installs' nodes never share a name. */
  readonly namePrefix: string;
  /**
   * rabbitmq.conf lines a cluster of this version needs for a quick local start.
   * RabbitMQ 3.10 delays a blank node's peer discovery by 5-60 s at random, to keep nodes from
   * forming clusters of their own; 4.x coordinates the start without it (and no longer knows the keys).
   */
  readonly quickStartConf: readonly string[];
  /** Fails with what to do when the install cannot run nodes here. */
  ready(): Promise<void>;
  /** A new, empty directory for a node's files. */
  makeDirectory(): NodeDirectory;
  /** Starts `tool` in a process group of its own (so that killing the group ends the Erlang VM too). */
  spawn(tool: RabbitMQTool, args: string[], env: Record<string, string>): ChildProcess;
  /** Runs `tool` and returns its standard output. */
  run(tool: RabbitMQTool, args: string[], env: Record<string, string>, timeoutMs: number): Promise<string>;
}

/** This machine's RabbitMQ 3.10: the scripts themselves (Debian's /usr/sbin wrappers switch users and drop the environment). */
export const MACHINE_RABBITMQ: RabbitMQInstall = {
  generation: 'machine: RabbitMQ 3.10',
  namePrefix: 'wqm',
  quickStartConf: [
    'cluster_formation.randomized_startup_delay_range.min = 0',
    'cluster_formation.randomized_startup_delay_range.max = 2',
  ],
  ready() {
    if (!existsSync(path.join(RABBITMQ_BIN, 'rabbitmq-server')))
      return Promise.reject(new Error(`no RabbitMQ in ${RABBITMQ_BIN}: install Debian's rabbitmq-server`));
    return Promise.resolve();
  },
  makeDirectory() {
    const dir = mkdtempSync(path.join(tmpdir(), 'work-queue-rabbitmq-'));
    return { host: dir, node: dir };
  },
  spawn(tool, args, env) {
    return spawn(path.join(RABBITMQ_BIN, tool), args, {
      env,
      cwd: env.HOME,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  },
  async run(tool, args, env, timeoutMs) {
    return (await run(path.join(RABBITMQ_BIN, tool), args, { env, cwd: env.HOME, timeout: timeoutMs })).stdout;
  },
};

/** The deployed generation's Debian 13 root, and the epmd its RabbitMQ uses (.ci/start-deployed-brokers). */
const TRIXIE_ROOT = process.env.WQ_TRIXIE_ROOT || '/var/cache/work-queue-stack/trixie';
const TRIXIE_EPMD_PORT = '4370';

/** `chroot ROOT env -i VAR=value... /usr/lib/rabbitmq/bin/<tool> args`: the root's programs, with exactly `env`. */
function inTrixie(tool: RabbitMQTool, args: string[], env: Record<string, string>): string[] {
  const variables = Object.entries({ ...env, ERL_EPMD_PORT: TRIXIE_EPMD_PORT }).map(
    ([name, value]) => `${name}=${value}`,
  );
  return [TRIXIE_ROOT, '/usr/bin/env', '-i', ...variables, path.posix.join(RABBITMQ_BIN, tool), ...args];
}

/** RabbitMQ 4.0 from the Debian 13 root, run with chroot (as root, as .ci/start-brokers is); node files under the root's /tmp. */
export const DEPLOYED_RABBITMQ: RabbitMQInstall = {
  generation: 'deployed: RabbitMQ 4.0',
  namePrefix: 'wqd',
  quickStartConf: [],
  async ready() {
    if (!existsSync(path.join(TRIXIE_ROOT, '.work-queue-complete'))) {
      throw new Error(`no finished Debian 13 root at ${TRIXIE_ROOT} for RabbitMQ 4.0: run .ci/start-brokers (as root)`);
    }
    // Mounts /proc and /dev into the root when they are not yet.
    await run(path.join(__dirname, '../../.ci/in-trixie'), ['true']);
  },
  makeDirectory() {
    mkdirSync(path.join(TRIXIE_ROOT, 'tmp'), { recursive: true });
    const host = mkdtempSync(path.join(TRIXIE_ROOT, 'tmp', 'work-queue-rabbitmq-'));
    return { host, node: `/${path.relative(TRIXIE_ROOT, host)}` };
  },
  spawn(tool, args, env) {
    return spawn('chroot', inTrixie(tool, args, env), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  },
  async run(tool, args, env, timeoutMs) {
    return (await run('chroot', inTrixie(tool, args, env), { timeout: timeoutMs })).stdout;
  },
};

/** Both generations, for `describe.each`. */
export const RABBITMQ_INSTALLS: [string, RabbitMQInstall][] = [MACHINE_RABBITMQ, DEPLOYED_RABBITMQ].map((install) => [
  install.generation,
  install,
]);
