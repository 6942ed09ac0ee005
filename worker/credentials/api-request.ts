import { request } from 'node:https';
import { isIP } from 'node:net';
import { type InClusterConfig, readToken } from './in-cluster';

/** An answer of the API server: its status code and its JSON body (the text when it is not JSON). */
export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
  /** Seconds the server asked us to wait (`Retry-After`), on a 429 or 5xx. */
  readonly retryAfterSeconds?: number;
}

/** A request that got no complete answer in time; `code` makes it a transient error like a refused connection. */
export class RequestTimeout extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs / 1000} s`);
    this.name = 'RequestTimeout';
  }
}

/**
 * One HTTPS request to the API server: the cluster's CA verifies the server, the service account's
 * token (read from its file now) authenticates us, and the whole exchange, body included, ends
 * within `timeoutMs`.
 */
export function sendRequest(
  config: InClusterConfig,
  method: 'GET' | 'POST',
  path: string,
  body: unknown,
  timeoutMs: number,
): Promise<ApiResponse> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body), 'utf8');
  const headers: Record<string, string | number> = {
    Authorization: `Bearer ${readToken(config)}`,
    Accept: 'application/json',
    'User-Agent': 'work-queue-credentials',
  };
  if (payload) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': payload.length });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: config.host,
        port: config.port,
        method,
        path,
        headers,
        ca: config.ca,
        // An IP address is checked against the certificate's IP SANs and not sent as SNI.
        ...(isIP(config.host) === 0 && { servername: config.host }),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          const retryAfter = Number(res.headers['retry-after']);
          resolve({
            status: res.statusCode ?? 0,
            body: parseJson(text),
            ...(Number.isFinite(retryAfter) && retryAfter >= 0 && { retryAfterSeconds: retryAfter }),
          });
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new RequestTimeout(timeoutMs)), timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(payload);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
