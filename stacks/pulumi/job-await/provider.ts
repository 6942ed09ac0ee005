import type * as pulumi from '@pulumi/pulumi';
import { awaitJob } from './await-job';
import { describeJob } from './job-objects';
import { connectToCluster } from './kubernetes-client';

/** The inputs of a JobAwait as its provider receives them: plain values, null where unset. */
export interface JobAwaitInputs {
  readonly namespace: string;
  readonly name: string;
  /** The Job instance to await: a replaced Job has a new uid, and is awaited again. */
  readonly uid: string;
  readonly timeoutSeconds: number;
  readonly intervalSeconds: number;
  readonly kubeconfig?: string | null;
  readonly context?: string | null;
}

/** What a JobAwait keeps in the state: the inputs less the kubeconfig, and the count of succeeded pods. */
export interface JobAwaitOutputs extends Omit<JobAwaitInputs, 'kubeconfig'> {
  readonly succeeded: number;
}

/** Changing one of these awaits nothing: the Job's run is the same. */
const STATE_KEYS = ['namespace', 'name', 'timeoutSeconds', 'intervalSeconds', 'context'] as const;

/**
 * The dynamic provider of JobAwait. Pulumi serializes this object with everything it reaches and
 * runs it in its own Node.js process, in the program's working directory: it may capture only
 * functions and plain values, and loads @kubernetes/client-node when it runs.
 *
 * Create awaits the Job; a new Job uid replaces the resource, so a replaced Job is awaited again;
 * any other change is stored without waiting. Delete is left out: the Job is pulumi-kubernetes'.
 */
export const jobAwaitProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: JobAwaitInputs) {
    const cluster = await connectToCluster({ kubeconfig: inputs.kubeconfig, context: inputs.context }).catch((error: Error) => {
      throw new Error(`${describeJob(inputs)} cannot be awaited: ${error.message}`);
    });
    const { succeeded } = await awaitJob(cluster, inputs, {
      timeoutSeconds: inputs.timeoutSeconds,
      intervalSeconds: inputs.intervalSeconds,
      report: (line) => console.log(line),
    });
    return { id: inputs.uid, outs: outputsOf(inputs, succeeded) };
  },

  async diff(_id: string, olds: JobAwaitOutputs, news: JobAwaitInputs) {
    const replaces = olds.uid === news.uid ? [] : ['uid'];
    const changes = replaces.length > 0 || STATE_KEYS.some((key) => olds[key] !== news[key]);
    return { changes, replaces, deleteBeforeReplace: false };
  },

  async update(_id: string, olds: JobAwaitOutputs, news: JobAwaitInputs) {
    return { outs: outputsOf(news, olds.succeeded) };
  },
};

function outputsOf(inputs: JobAwaitInputs, succeeded: number): JobAwaitOutputs {
  const { kubeconfig: _secret, ...kept } = inputs;
  return { ...kept, succeeded };
}
