import { spawn } from 'child_process';
import { createServer, type Server, type Socket } from 'net';
import { secondsSince } from './measure';

/** What a client did against a peer that accepts the connection and never sends a byte. */
export interface SilentPeerOutcome {
  /** Seconds until the process gave up by itself, or undefined when it was still waiting at the cap. */
  readonly failedAfter?: number;
  /** The client's error message, when it gave up. */
  readonly message?: string;
}

/** A TCP server on loopback that accepts connections and says nothing: a Service on the wrong port, a half-open load balancer. */
export class SilentPeer {
  private readonly sockets = new Set<Socket>();
  private readonly server: Server = createServer((socket) => {
    this.sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => this.sockets.delete(socket));
  });

  private constructor() {}

  static async start(): Promise<SilentPeer> {
    const peer = new SilentPeer();
    await new Promise<void>((resolve, reject) => {
      peer.server.on('error', reject);
      peer.server.listen(0, '127.0.0.1', resolve);
    });
    return peer;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Runs `node <bundle> connect <url>` against the silent peer and watches it for `capSeconds`:
 * a process still running then is killed and reported as waiting.
 */
export function observeAgainstSilentPeer(bundle: string, url: string, capSeconds: number): Promise<SilentPeerOutcome> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [bundle, 'connect', url], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const cap = setTimeout(() => child.kill('SIGKILL'), capSeconds * 1000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(cap);
      const seconds = secondsSince(started);
      if (signal === 'SIGKILL') resolve({});
      else if (code === 0) reject(new Error(`${bundle} connected to a silent peer and exited 0`));
      else resolve({ failedAfter: seconds, message: stderr.trim().split('\n')[0] || `exit ${String(code)}` });
    });
  });
}
