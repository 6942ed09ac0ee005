import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { describeProblem } from '../../../worker/contract';
import { ClusterError, clusterError, ClusterReader, isClusterError, withinSeconds } from './cluster-reader';

type ClientNode = typeof import('@kubernetes/client-node');

/** How to reach the cluster: what a pulumi-kubernetes provider is configured with (null as the engine sends an unset value). */
export interface ClusterAccess {
  /** Path or contents of a kubeconfig. @default - the ambient kubeconfig ($KUBECONFIG or ~/.kube/config) */
  readonly kubeconfig?: string | null;
  /** @default - the kubeconfig's current context */
  readonly context?: string | null;
}

/** Seconds one request may take before it counts as a transient failure. */
const REQUEST_SECONDS = 10;

/** A ClusterReader over @kubernetes/client-node, configured as pulumi-kubernetes configures its client. */
export async function connectToCluster(access: ClusterAccess): Promise<ClusterReader> {
  const k8s = await importClientNode();
  const config = new k8s.KubeConfig();
  try {
    loadKubeconfig(config, access.kubeconfig);
  } catch (error) {
    throw clusterError(`the kubeconfig cannot be loaded: ${(error as Error).message}`, false);
  }
  if (access.context) {
    if (!config.getContextObject(access.context)) {
      const names = config.getContexts().map((context) => JSON.stringify(context.name)).join(', ');
      throw clusterError(describeProblem('context', access.context, `one of the kubeconfig's contexts (${names || 'none'})`), false);
    }
    config.setCurrentContext(access.context);
  }
  const server = config.getCurrentCluster()?.server;
  if (!server) throw clusterError(`the kubeconfig's context ${JSON.stringify(config.getCurrentContext())} names no cluster`, false);

  const batch = config.makeApiClient(k8s.BatchV1Api);
  const core = config.makeApiClient(k8s.CoreV1Api);
  const request = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await withinSeconds(REQUEST_SECONDS, call());
    } catch (error) {
      throw asClusterError(error);
    }
  };
  return {
    server,
    readJob: async (namespace, name) => {
      try {
        return await request(() => batch.readNamespacedJob({ namespace, name }));
      } catch (error) {
        if (isClusterError(error) && error.status === 404) return undefined;
        throw error;
      }
    },
    listPods: async (namespace, labelSelector) => (await request(() => core.listNamespacedPod({ namespace, labelSelector }))).items,
    readLog: (namespace, pod, container, tailLines) => request(() => core.readNamespacedPodLog({ namespace, name: pod, container, tailLines })),
  };
}

/**
 * As pulumi-kubernetes reads its `kubeconfig` (parseKubeconfigString in provider/pkg/provider/util.go):
 * `~` expanded, an existing file read, anything else taken as the contents; unset, the ambient one.
 */
function loadKubeconfig(config: InstanceType<ClientNode['KubeConfig']>, pathOrContents: string | null | undefined): void {
  if (!pathOrContents) {
    config.loadFromDefault();
    return;
  }
  const file = pathOrContents === '~' ? os.homedir() : pathOrContents.startsWith('~/') ? path.join(os.homedir(), pathOrContents.slice(2)) : pathOrContents;
  if (fs.existsSync(file)) config.loadFromFile(file);
  else config.loadFromString(pathOrContents);
}

/**
 * @kubernetes/client-node is an ES module. It is imported rather than required so that this runs
 * from CommonJS on every Node.js 20 (TypeScript would compile a literal `import()` to `require`),
 * and resolved from the working directory's node_modules, where the dynamic provider looks too.
 */
async function importClientNode(): Promise<ClientNode> {
  const importModule = new Function('url', 'return import(url)') as (url: string) => Promise<ClientNode>;
  try {
    return await importModule(pathToFileURL(require.resolve('@kubernetes/client-node')).href);
  } catch (error) {
    throw clusterError(`@kubernetes/client-node cannot be loaded, install it beside @pulumi/kubernetes: ${(error as Error).message}`, false);
  }
}

/** HTTP 429 and 5xx, and failures without an HTTP status (no connection, a timeout), are worth another try. */
function asClusterError(error: unknown): ClusterError {
  if (isClusterError(error)) return error;
  const { code, body, message } = error as { code?: unknown; body?: unknown; message?: string };
  if (typeof code !== 'number') return clusterError(message ?? String(error), true);
  const transient = code === 429 || code >= 500;
  return clusterError(`HTTP ${code}: ${statusMessage(body) ?? clientMessage(message) ?? 'no message'}`, transient, code);
}

/** The `message` of the Kubernetes Status in a response body. */
function statusMessage(body: unknown): string | undefined {
  try {
    const status = typeof body === 'string' ? JSON.parse(body) : body;
    return typeof status?.message === 'string' ? status.message : undefined;
  } catch {
    return typeof body === 'string' && body !== '' ? body.slice(0, 200) : undefined;
  }
}

/**
 * What client-node says of a response whose body it did not keep: its ApiException message has a
 * `Message:` line, the API's description of the status code (HTTP 401: `Unauthorized`).
 */
function clientMessage(message: string | undefined): string | undefined {
  const line = message?.match(/^Message: (.*)$/m)?.[1];
  return line && line !== 'Unknown API Status Code!' ? line : undefined;
}
