import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import path from 'node:path';
import type { Environment } from '../config';
import { describeProblem, ExitCode } from '../../contract';
import { badInput, CliError } from '../errors';
import { firstLine } from '../thrown';

/** Where Kubernetes mounts a pod's service account token, the cluster's CA and the pod's namespace. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The variables Kubernetes sets in every pod for the API server's Service `kubernetes` in `default`. */
export const API_SERVER_HOST = 'KUBERNETES_SERVICE_HOST';
export const API_SERVER_PORT = 'KUBERNETES_SERVICE_PORT';

/** How a pod reaches the Kubernetes API, as client-go's `rest.InClusterConfig` reads it. */
export interface InClusterConfig {
  /** `https://host:port`, for messages. */
  readonly server: string;
  /** The host to connect to: an IP address (IPv6 without brackets) or a name. */
  readonly host: string;
  readonly port: number;
  /** The PEM bundle that signs the API server's certificate, and its file (`ca.crt`). */
  readonly ca: Buffer;
  readonly caFile: string;
  /** The bearer token file, read again for every request: projected tokens are rotated by the kubelet. */
  readonly tokenFile: string;
  /** The pod's namespace, where its Secrets go. */
  readonly namespace: string;
}

const IN_A_POD = 'which Kubernetes sets in every pod (run work-queue credentials in a pod)';
const MOUNTED = 'mounted by Kubernetes unless automountServiceAccountToken is false';

/** Reads the API server's address and the service account files of `dir`; every missing piece is one line, exit 2. */
export function inClusterConfig(env: Environment, dir: string): InClusterConfig {
  const problems: string[] = [];
  const host = env[API_SERVER_HOST]?.trim();
  const portText = env[API_SERVER_PORT]?.trim();
  if (!host)
    problems.push(
      describeProblem(API_SERVER_HOST, env[API_SERVER_HOST], `the Kubernetes API server's address, ${IN_A_POD}`),
    );
  const port = Number(portText);
  if (!portText || !/^\d+$/.test(portText) || port < 1 || port > 65535) {
    problems.push(
      describeProblem(
        API_SERVER_PORT,
        env[API_SERVER_PORT],
        `the Kubernetes API server's port (1 to 65535), ${IN_A_POD}`,
      ),
    );
  }
  const tokenFile = path.join(dir, 'token');
  const token = readFile(tokenFile, problems, `the service account's token, ${MOUNTED}`);
  if (token !== undefined && token.toString('utf8').trim() === '')
    problems.push(describeProblem(tokenFile, '', `a service account token, ${MOUNTED}`));
  const caFile = path.join(dir, 'ca.crt');
  const ca = readFile(caFile, problems, `the PEM certificates of the cluster's CA, ${MOUNTED}`);
  if (ca !== undefined && !ca.toString('utf8').includes('-----BEGIN CERTIFICATE-----')) {
    problems.push(describeProblem(caFile, ca.toString('utf8'), `the PEM certificates of the cluster's CA, ${MOUNTED}`));
  }
  const namespaceFile = path.join(dir, 'namespace');
  const namespace = readFile(namespaceFile, problems, `the pod's namespace, ${MOUNTED}`)?.toString('utf8').trim();
  if (namespace === '') problems.push(describeProblem(namespaceFile, '', `the pod's namespace, ${MOUNTED}`));
  // Each missing piece added its problem; the checks after the first only tell the compiler so.
  if (problems.length > 0 || !host || ca === undefined || namespace === undefined) throw badInput(problems);
  const bracketed = isIPv6(host) ? `[${host}]` : host;
  return { server: `https://${bracketed}:${port}`, host, port, ca, caFile, tokenFile, namespace };
}

function readFile(file: string, problems: string[], expected: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    problems.push(describeProblem(file, undefined, `${expected} (${code ?? message.split('\n')[0]})`));
    return undefined;
  }
}

/** The current token: the kubelet rewrites the file before the old token expires. */
export function readToken(config: InClusterConfig): string {
  let token: string;
  try {
    token = readFileSync(config.tokenFile, 'utf8').trim();
  } catch (error) {
    throw new CliError(
      `the service account token ${config.tokenFile} could not be read: ${firstLine(error)}`,
      ExitCode.failed,
    );
  }
  if (token === '') throw new CliError(`the service account token ${config.tokenFile} is empty`, ExitCode.failed);
  return token;
}

/**
 * The service account a token belongs to, `namespace/name`, from its (unverified) JWT claims, for
 * messages: `sub` is `system:serviceaccount:<namespace>:<name>` in bound and legacy tokens alike.
 */
export function serviceAccountOf(token: string): string | undefined {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      sub?: unknown;
    };
    const match = typeof claims.sub === 'string' ? /^system:serviceaccount:([^:]+):([^:]+)$/.exec(claims.sub) : null;
    return match ? `${match[1]}/${match[2]}` : undefined;
  } catch {
    return undefined;
  }
}
