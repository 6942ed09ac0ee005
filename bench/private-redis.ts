import { spawn, type ChildProcess } from 'child_process';
import { mkdirSync } from 'fs';
import { createServer } from 'net';
import { join } from 'path';
import { createClient } from 'redis';
import { scratch } from './scratch';

/**
 * A redis-server of the bench's own on a free port, without persistence: no other client reaches
 * it, so INFO cpu counts the measured run and nothing else.
 */
export class PrivateRedis {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static async start(): Promise<PrivateRedis> {
    const port = await freePort();
    const dir = join(scratch, `redis-${port}`);
    mkdirSync(dir);
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--loglevel',
      'warning',
    ];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const redis = new PrivateRedis(child, `redis://127.0.0.1:${port}`);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`redis-server on port ${port} exited with ${child.exitCode}: ${stderr}`);
      if (await redis.answers()) return redis;
      if (Date.now() > deadline) {
        await redis.stop();
        throw new Error(`redis-server on port ${port} did not answer within 10 s: ${stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** One connection attempt and a PING, no retries. */
  private async answers(): Promise<boolean> {
    const client = createClient({ url: this.url, socket: { reconnectStrategy: false } });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return true;
    } catch {
      return false;
    } finally {
      if (client.isOpen) await client.close();
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
