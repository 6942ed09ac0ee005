import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type Socket, connect } from 'node:net';
import path from 'node:path';
import { type TLSSocket, createServer } from 'node:tls';

export interface Certificate {
  /** PEM file of the self-signed certificate, usable as NODE_EXTRA_CA_CERTS. */
  readonly certFile: string;
  readonly keyFile: string;
}

/** A self-signed certificate for `localhost` and 127.0.0.1, written into `dir` by openssl. */
export function makeCertificate(dir: string): Certificate {
  const certFile = path.join(dir, 'broker-cert.pem');
  const keyFile = path.join(dir, 'broker-key.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'pipe' },
    );
  } catch (error) {
    throw new Error(`openssl could not make the test certificate (${String(error)}): install openssl`, {
      cause: error,
    });
  }
  return { certFile, keyFile };
}

export interface TlsProxy {
  readonly port: number;
  /** The SNI server name of each accepted connection (undefined when the client sent none). */
  readonly serverNames: (string | undefined)[];
  close(): Promise<void>;
}

/**
 * Terminates TLS on an ephemeral port of `host` and pipes each connection to the plain broker
 * port `target` on 127.0.0.1, so the shared brokers serve TLS clients as they are.
 */
export async function startTlsProxy(certificate: Certificate, target: number, host = '127.0.0.1'): Promise<TlsProxy> {
  const serverNames: (string | undefined)[] = [];
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  const server = createServer(
    { key: readFileSync(certificate.keyFile), cert: readFileSync(certificate.certFile) },
    (client: TLSSocket) => {
      serverNames.push(client.servername || undefined);
      const broker = connect(target, '127.0.0.1');
      track(client);
      track(broker);
      client.on('error', () => broker.destroy());
      broker.on('error', () => client.destroy());
      client.pipe(broker).pipe(client);
    },
  );
  // Clients that reject the certificate abort the handshake: expected, not a proxy failure.
  server.on('tlsClientError', () => undefined);
  server.on('connection', track);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as { port: number };
  return {
    port,
    serverNames,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
