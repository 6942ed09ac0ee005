/**
 * The Pulumi program (`main` of Pulumi.yaml): one WorkQueueStack on the cluster of the stack's
 * `kubeconfig` and `context`. The worker image is built and pushed unless `image` is configured;
 * then the Namespace (when `namespace` is set), the broker, the seeding Job and the worker Job are
 * applied in order, each awaited (with `pattern: indexed`, the items' ConfigMaps and the Indexed
 * Job). With no config at all it deploys the coarse tutorial; the stack files in examples/
 * (Pulumi.coarse.yaml, Pulumi.fine.yaml, Pulumi.indexed.yaml), copied to the project root, configure
 * the two tutorials and the indexed example.
 */
import * as k8s from '@pulumi/kubernetes';
import { readProgramConfig } from './config';
import { WorkQueueStack } from './work-queue-stack-component';

const { component, cluster } = readProgramConfig();
const provider = new k8s.Provider(`${component.stack.name}-cluster`, {
  kubeconfig: cluster.kubeconfig,
  context: cluster.context,
  upsertExistingObjects: cluster.adoptExisting,
});
const stack = new WorkQueueStack(component.stack.name, component, { providers: [provider] });

export const image = stack.image;
export const brokerHost = stack.brokerHost;
export const queue = stack.queue;
export const jobName = stack.jobName;
export const followJob = stack.followJob;
