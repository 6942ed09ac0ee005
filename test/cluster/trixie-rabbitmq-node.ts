import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { closedPort } from '../worker/helpers';

const run = promisify(execFile);

/** The Debian 13 root of the deployed generation (.ci/trixie-root), and the epmd its RabbitMQ uses. */
const ROOT = process.env.WQ_TRIXIE_ROOT || '/var/cache/work-queue-stack/trixie';
const EPMD_PORT = '4370';
const IN_TRIXIE = path.join(__dirname, '../../.ci/in-trixie');

/**
 * A RabbitMQ 4.0 node of a test's own, run from the deployed generation's Debian 13 root with its
 * own name, ports, config and data directory (under the root's /tmp), beside the root's shared
 * node, which is never touched. Needs root (chroot), as `.ci/start-brokers` does.
 */
export class TrixieRabbitMQNode {
  readonly nodeName = `wqct${process.pid}@localhost`;
  private readonly dir = `/tmp/work-queue-node-${randomBytes(4).toString('hex')}`;
  private amqpPort = 0;

  constructor(private readonly conf: string) {}

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.amqpPort}`;
  }

  async start(timeoutSeconds = 90): Promise<void> {
    if (!existsSync(path.join(ROOT, '.work-queue-complete'))) {
      throw new Error(`no finished Debian 13 root at ${ROOT} for RabbitMQ 4.0: run .ci/start-brokers (as root)`);
    }
    // Mounts /proc and /dev into the root when they are not yet.
    await run(IN_TRIXIE, ['true']);
    this.amqpPort = await closedPort();
    const host = path.join(ROOT, this.dir);
    mkdirSync(path.join(host, 'home'), { recursive: true });
    writeFileSync(path.join(host, 'env'), '');
    writeFileSync(path.join(host, 'enabled_plugins'), '[].\n');
    writeFileSync(path.join(host, 'rabbitmq.conf'), `listeners.tcp.1 = 127.0.0.1:${this.amqpPort}\n${this.conf}`);
    writeFileSync(path.join(host, 'home/.erlang.cookie'), randomBytes(20).toString('hex'));
    chmodSync(path.join(host, 'home/.erlang.cookie'), 0o400);
    const env = await this.env();
    const child = spawn('chroot', [ROOT, '/usr/bin/env', '-i', ...env, '/usr/lib/rabbitmq/bin/rabbitmq-server'], { detached: true, stdio: 'ignore' });
    child.unref();
    await this.ctl(['wait', `${this.dir}/pid`, '--timeout', String(timeoutSeconds)], (timeoutSeconds + 10) * 1000);
  }

  /** rabbitmqctl against this node, inside the root. */
  async ctl(args: string[], timeoutMs = 30000): Promise<string> {
    const { stdout } = await run(
      'chroot',
      [ROOT, '/usr/bin/env', '-i', ...(await this.env()), '/usr/lib/rabbitmq/bin/rabbitmqctl', '-n', this.nodeName, ...args],
      {
        timeout: timeoutMs,
      },
    );
    return stdout;
  }

  /**
   * Stops the node and removes its directory; safe after a failed start. Given the pid file,
   * `rabbitmqctl stop` returns only once the node's OS process has exited, so nothing writes into
   * the directory while it is removed.
   */
  async stop(): Promise<void> {
    if (this.amqpPort !== 0) await this.ctl(['stop', `${this.dir}/pid`], 90_000).catch(() => undefined);
    rmSync(path.join(ROOT, this.dir), { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
  }

  private distPort?: number;

  private async env(): Promise<string[]> {
    this.distPort ??= await closedPort();
    const dir = this.dir;
    return [
      'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
      `HOME=${dir}/home`,
      'LANG=C.UTF-8',
      `RABBITMQ_CONF_ENV_FILE=${dir}/env`,
      `RABBITMQ_NODENAME=${this.nodeName}`,
      'RABBITMQ_USE_LONGNAME=false',
      `RABBITMQ_DIST_PORT=${this.distPort}`,
      `ERL_EPMD_PORT=${EPMD_PORT}`,
      'ERL_EPMD_ADDRESS=127.0.0.1',
      `RABBITMQ_CONFIG_FILE=${dir}/rabbitmq.conf`,
      `RABBITMQ_ENABLED_PLUGINS_FILE=${dir}/enabled_plugins`,
      `RABBITMQ_MNESIA_BASE=${dir}/mnesia`,
      `RABBITMQ_LOG_BASE=${dir}/log`,
      `RABBITMQ_PID_FILE=${dir}/pid`,
    ];
  }
}
