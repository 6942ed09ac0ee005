import { Job, Pod } from './job-objects';

/** The three reads the await makes of the Kubernetes API. */
export interface ClusterReader {
  /** The API server's URL, for messages. */
  readonly server: string;
  /** The Job, or undefined when there is none of that name. */
  readJob(namespace: string, name: string): Promise<Job | undefined>;
  listPods(namespace: string, labelSelector: string): Promise<Pod[]>;
  /** The last `tailLines` lines of a container's log. */
  readLog(namespace: string, pod: string, container: string, tailLines: number): Promise<string>;
}

/**
 * A read that failed. `transient` ones (no connection, a timeout, HTTP 429 or 5xx) are tried again
 * for a while; the others (HTTP 401, 403, a bad kubeconfig) end the await at once. A plain Error
 * with fields rather than a subclass: Pulumi's function serialization turns classes into
 * functions, and `Error.call(this)` sets no message.
 */
export type ClusterError = Error & { readonly transient: boolean; readonly status?: number };

export function clusterError(message: string, transient: boolean, status?: number): ClusterError {
  return Object.assign(new Error(message), { transient, status });
}

export function isClusterError(error: unknown): error is ClusterError {
  return typeof (error as ClusterError | undefined)?.transient === 'boolean';
}

/** The promise's value, or a transient failure after `seconds`: a hung connection must not hold the await past its timeout. */
export function withinSeconds<T>(seconds: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(clusterError(`no answer within ${seconds} s`, true)), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
