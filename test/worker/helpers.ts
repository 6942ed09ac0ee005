import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ChannelModel, connect as amqpConnect } from 'amqplib';
import { type RedisClientType, createClient } from 'redis';
import { amqpQueueNames, queueKeys } from '../../contract';
import { AMQP_URL, REDIS_URL, unreachable } from './brokers';

export { AMQP_URL, REDIS_URL } from './brokers';

/** The bundled CLI that global-setup.js built for this run (lib/worker-bundle when run without it). */
export function cliPath(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return process.env.WORK_QUEUE_TEST_CLI ?? require('../../worker/build').outfile;
}

/** A queue name no other test (or earlier run) uses. */
export function uniqueQueue(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const children = new Set<ChildProcess>();

/** A running CLI process with its output collected. */
export class CliProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<RunResult>;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly child: ChildProcess) {
    children.add(child);
    child.stdout!.on('data', (chunk: Buffer) => this.append('stdout', chunk));
    child.stderr!.on('data', (chunk: Buffer) => this.append('stderr', chunk));
    this.exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        children.delete(child);
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
        this.notify();
      });
    });
  }

  /** Resolves once stdout+stderr match, or rejects when the process exits or time runs out. */
  async waitFor(pattern: RegExp, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.stdout + this.stderr)) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`process exited before printing ${String(pattern)}:\n${this.stdout}\n${this.stderr}`);
      }
      if (Date.now() > deadline)
        throw new Error(`no ${String(pattern)} within ${timeoutMs} ms:\n${this.stdout}\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  private append(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    this[stream] += chunk.toString('utf8');
    this.notify();
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** Starts `work-queue ARGS` with exactly the given environment (plus PATH). */
export function startCli(args: string[], env: Record<string, string>): CliProcess {
  const child = spawn(process.execPath, [cliPath(), ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new CliProcess(child);
}

export function runCli(args: string[], env: Record<string, string>): Promise<RunResult> {
  return startCli(args, env).exited;
}

/** Kills whatever a test left running. */
export function killLeftovers(): void {
  for (const child of children) child.kill('SIGKILL');
}

export function tempDir(): { dir: string; file: (name: string, content: string) => string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'work-queue-test-'));
  return {
    dir,
    file: (name, content) => {
      const file = path.join(dir, name);
      writeFileSync(file, content);
      return file;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A TCP port on 127.0.0.1 that nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function connectRedis(): Promise<RedisClientType> {
  const client = createClient({
    url: REDIS_URL,
    socket: { reconnectStrategy: false, connectTimeout: 3000 },
  }) as RedisClientType;
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw unreachable('Redis', REDIS_URL, error);
  }
  return client;
}

export async function deleteRedisQueue(client: RedisClientType, queue: string): Promise<void> {
  await client.del(Object.values(queueKeys(queue)));
}

export async function connectAmqp(): Promise<ChannelModel> {
  try {
    const model = await amqpConnect(AMQP_URL, { timeout: 3000 });
    model.on('error', () => undefined);
    return model;
  } catch (error) {
    throw unreachable('RabbitMQ', AMQP_URL, error);
  }
}

export async function deleteAmqpQueue(model: ChannelModel, queue: string): Promise<void> {
  const ch = await model.createChannel();
  for (const name of Object.values(amqpQueueNames(queue))) await ch.deleteQueue(name);
  await ch.close();
}

/** Ready messages of an AMQP queue (0 when it does not exist). */
export async function amqpCount(model: ChannelModel, name: string): Promise<number> {
  const ch = await model.createChannel();
  ch.on('error', () => undefined);
  try {
    return (await ch.checkQueue(name)).messageCount;
  } catch {
    return 0;
  } finally {
    await ch.close().catch(() => undefined);
  }
}

/** Takes every ready message off an AMQP queue and returns the bodies in order. */
export async function amqpTakeAll(model: ChannelModel, name: string): Promise<string[]> {
  const ch = await model.createChannel();
  const expected = (await ch.checkQueue(name)).messageCount;
  const bodies: string[] = [];
  if (expected > 0) {
    await ch.prefetch(1000);
    await new Promise<void>((resolve) => {
      void ch.consume(name, (message) => {
        if (!message) return;
        bodies.push(message.content.toString('utf8'));
        ch.ack(message);
        if (bodies.length === expected) resolve();
      });
    });
  }
  await ch.close();
  return bodies;
}

export function redisEnv(queue: string, extra: Record<string, string> = {}): Record<string, string> {
  return { BROKER_URL: REDIS_URL, QUEUE: queue, ...extra };
}

export function amqpEnv(queue: string, extra: Record<string, string> = {}): Record<string, string> {
  return { BROKER_URL: AMQP_URL, QUEUE: queue, ...extra };
}

/** The items a run of the built-in handler printed, in order. */
export function processed(output: string): string[] {
  return [...output.matchAll(/^Processing (.*)$/gm)].map((m) => m[1]);
}

/** Whether a process has ended: gone, or a zombie waiting for its parent (or init) to reap it. */
export function processGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .startsWith('Z');
  } catch {
    return true;
  }
}

export function sorted(items: string[]): string[] {
  return [...items].sort();
}
