import * as path from 'path';

/**
 * The checkout this module is loaded from, where Pulumi.yaml and worker/Dockerfile are. `pulumi up`
 * runs the program in the directory of Pulumi.yaml's `main` (stacks/pulumi), so the config's paths
 * are resolved against this rather than the working directory, and it is the default build context
 * of the worker image. In an installed package it is the package's `lib/`, which holds no Dockerfile.
 */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
