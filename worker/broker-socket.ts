import { type Socket, connect as connectTcp } from 'node:net';

/** Where a broker client connects, the same for both brokers' own clients. */
export interface BrokerAddress {
  readonly host: string;
  readonly port: number;
  /** Over TLS, with the name the certificate must carry (SNI; none for an IP address); the certificate is always verified. */
  readonly tls?: { readonly servername?: string };
  readonly connectTimeoutMs: number;
}

export interface BrokerSocketOptions extends BrokerAddress {
  /** The error a connect that takes longer than `connectTimeoutMs` fails with. */
  readonly timeoutError: () => Error;
}

/** A connected TCP (or TLS) socket with Nagle's algorithm off; node:tls is loaded only for TLS. */
export async function openBrokerSocket(options: BrokerSocketOptions): Promise<Socket> {
  const { host, port, tls } = options;
  const socket = tls ? (await import('node:tls')).connect({ host, port, servername: tls.servername, rejectUnauthorized: true }) : connectTcp({ host, port });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => socket.destroy(options.timeoutError()), options.connectTimeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    socket.once('error', fail);
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      resolve();
    });
  });
  return socket;
}
