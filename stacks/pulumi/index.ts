/**
 * The Pulumi program (`main` of Pulumi.yaml): builds and pushes the worker image, then applies the
 * broker, the seeding Job and the worker Job of one work-queue stack, each awaited before the next.
 * With no config at all it deploys the coarse tutorial; Pulumi.coarse.yaml and Pulumi.fine.yaml
 * configure the two tutorials.
 */
import { readProgramConfig } from './config';
import { WorkQueueStack } from './work-queue-stack-component';

const config = readProgramConfig();
const stack = new WorkQueueStack(config.stack.name, config);

export const imageDigest = stack.imageDigest;
export const brokerHost = stack.brokerHost;
export const queue = stack.queue;
export const jobName = stack.jobName;
export const followJob = stack.followJob;
