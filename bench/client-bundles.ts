import { statSync } from 'fs';
import { join } from 'path';
import { build } from 'esbuild';
import { BUNDLE_SETTINGS } from '../worker/build';
import { scratch } from './scratch';

/** A probe program bundled as the worker is (worker/build.js): one minified CommonJS file for Node.js 20. */
export interface ProbeBundle {
  readonly file: string;
  readonly bytes: number;
}

/**
 * Bundles bench/client-probes/<probe>.ts with its library into the bench's scratch directory, as
 * <name>.cjs. `library` replaces the package the probe imports with another of the same API (a fork).
 */
export async function bundleProbe(
  probe: string,
  name: string,
  library?: { readonly imported: string; readonly with: string },
): Promise<ProbeBundle> {
  const file = join(scratch, 'client-probes', `${name}.cjs`);
  await build({
    entryPoints: [join(__dirname, 'client-probes', `${probe}.ts`)],
    ...(library && { alias: { [library.imported]: library.with } }),
    ...BUNDLE_SETTINGS,
    outfile: file,
    legalComments: 'none',
  });
  return { file, bytes: statSync(file).size };
}
