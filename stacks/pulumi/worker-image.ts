import * as fs from 'fs';
import * as path from 'path';
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { describeProblem } from '../../contract';
import { type RegistryConfig } from './work-queue-stack-args';

/** The Dockerfile of the worker image, inside its build context. */
const DOCKERFILE = path.join('worker', 'Dockerfile');

/**
 * Fails unless `context` holds the worker's Dockerfile: an installed package holds none, and
 * without this check the failure would come from the Docker daemon in the middle of `pulumi up`.
 */
export function checkBuildContext(context: string): void {
  if (!fs.existsSync(path.join(context, DOCKERFILE))) {
    throw new pulumi.RunError(
      describeProblem(
        'image',
        undefined,
        `an existing image reference (registry.example.com/work-queue@sha256:...), since ${context} holds no ${DOCKERFILE} to build one from ` +
          '(an installed package holds none: give image, or buildContext naming a checkout of work-queue-stack)',
      ),
    );
  }
}

/**
 * Builds the worker image from `context` and pushes it as `<server>/<repository>:<stack>`,
 * returning the pushed digest reference. The only module that loads @pulumi/docker, whose
 * provider needs a reachable Docker daemon from `pulumi preview` on.
 */
export function buildWorkerImage(
  name: string,
  registry: RegistryConfig,
  context: string,
  parent: pulumi.Resource,
): pulumi.Output<string> {
  // Relative to the working directory, so that the state is the same on every machine. `pulumi up`
  // runs the program and its providers in the directory of Pulumi.yaml's `main`, not the project root.
  const relative = path.relative(process.cwd(), context) || '.';
  const image = new docker.Image(
    `${name}-worker-image`,
    {
      imageName: pulumi.interpolate`${registry.server}/${registry.repository}:${pulumi.getStack()}`,
      build: { context: relative, dockerfile: path.join(relative, DOCKERFILE) },
      registry: { server: registry.server, username: registry.username, password: registry.password },
    },
    { parent },
  );
  return image.repoDigest;
}
