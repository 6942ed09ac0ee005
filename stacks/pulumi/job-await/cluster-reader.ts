import { type Job, type Pod } from './job-objects';

/** The three reads the await makes of the Kubernetes API; each settles within a bounded time. */
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
 * A read that failed. `transient` ones (no connection, no answer in time, HTTP 429 or 5xx) are
 * tried again for a while; the others (HTTP 401 or 403, a bad kubeconfig) end the await at once.
 * A plain Error with fields rather than a subclass: Pulumi's function serialization turns classes
 * into functions, and `Error.call(this)` sets no message.
 */
export type ClusterError = Error & { readonly transient: boolean; readonly status?: number };
