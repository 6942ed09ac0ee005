/**
 * Prints JobAwait's provider serialized as `pulumi.dynamic.Resource` serializes it (the
 * `__provider` input), run in a plain Node.js process as the Pulumi language host runs a program:
 * function serialization reads the loaded modules, which it cannot do inside jest's module registry.
 */
import * as pulumi from '@pulumi/pulumi';
import { jobAwaitProvider } from '../../../stacks/pulumi/job-await/provider';

pulumi.runtime.serializeFunction(() => jobAwaitProvider, { allowSecrets: true }).then(
  (serialized) => process.stdout.write(serialized.text),
  (error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  },
);
