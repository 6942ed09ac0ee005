import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type RedisClientType, createClient } from 'redis';
import { REDIS_SERVER } from './brokers';
import { closedPort } from './helpers';

const [SERVER, ...SERVER_ARGS] = REDIS_SERVER;

/**
 * A redis-server (valkey-server in the deployed generation) of the test's own, on a free port, that the test may kill and restart: the
 * shared Redis on 6379 is never touched. With `persistent` it keeps an append-only file in a
 * temporary directory, so a restart finds the data; without, a restart comes back empty. The file
 * is written with appendfsync always: with everysec (RedisPod's choice) Redis answers before it
 * has written when a background fsync is slow, so a SIGKILL on a busy disk may take the last
 * second or two of writes with it, and what the tests assert would depend on the disk's speed.
 */
export class OwnRedis {
  private process?: ChildProcess;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly persistent: boolean,
    private readonly password?: string,
  ) {}

  /** With `password`, the server requires it (requirepass); `url` still gives none, `client` does. */
  static async start(options: { persistent: boolean; password?: string }): Promise<OwnRedis> {
    const found = spawnSync(SERVER, [...SERVER_ARGS, '--version'], { encoding: 'utf8' });
    if (found.status !== 0)
      throw new Error(
        `${REDIS_SERVER.join(' ')} cannot be run (${found.error?.message ?? found.stderr}): the outage tests start their own`,
      );
    const redis = new OwnRedis(
      await closedPort(),
      mkdtempSync(path.join(tmpdir(), 'work-queue-redis-')),
      options.persistent,
      options.password,
    );
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again, on the same port and directory) and waits until it answers. */
  async restart(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      this.dir,
      '--save',
      '',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ];
    args.push('--appendonly', this.persistent ? 'yes' : 'no', '--appendfsync', 'always');
    if (this.password !== undefined) args.push('--requirepass', this.password);
    const child = spawn(SERVER, [...SERVER_ARGS, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    this.process = child;
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`redis-server on port ${this.port} exited with ${child.exitCode}: ${stderr}`);
      if (await this.answers()) return;
      if (Date.now() > deadline)
        throw new Error(`redis-server on port ${this.port} did not answer within 20 s: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** SIGKILL: no shutdown, no final write, as an OOM kill or a node failure. */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  async client(): Promise<RedisClientType> {
    const client = createClient({
      url: this.url,
      password: this.password,
      socket: { reconnectStrategy: false },
    }) as RedisClientType;
    client.on('error', () => undefined);
    await client.connect();
    return client;
  }

  /**
   * PONG, not LOADING: the data set is in memory. With persistence also no append-only file
   * rewrite under way: the first start writes its base file in the background, and a SIGKILL
   * before that has finished would lose what was written meanwhile.
   */
  private async answers(): Promise<boolean> {
    const client = createClient({
      url: this.url,
      password: this.password,
      socket: { reconnectStrategy: false, connectTimeout: 1000 },
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      if ((await client.ping()) !== 'PONG') return false;
      if (!this.persistent) return true;
      const info = await client.info('persistence');
      return /^aof_rewrite_in_progress:0\r?$/m.test(info) && /^aof_rewrite_scheduled:0\r?$/m.test(info);
    } catch {
      return false;
    } finally {
      if (client.isOpen) client.destroy();
    }
  }
}
