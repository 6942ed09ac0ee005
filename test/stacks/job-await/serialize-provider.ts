/**
 * Prints JobAwait's provider serialized as `pulumi.dynamic.Resource` serializes it (the
 * `__provider` input), in a plain Node.js process as the Pulumi language host runs a program:
 * function serialization reads the loaded modules, which it cannot do inside jest's module registry.
 *
 * With `--installed <directory>`, the provider is loaded as a consumer's program loads it: compiled
 * to CommonJS (as `npm run build` compiles it) into <directory>/node_modules/work-queue-stack, with
 * this repository's package.json and its `exports` map, the program running in <directory>.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as pulumi from '@pulumi/pulumi';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..', '..');
const SOURCE = path.join(ROOT, 'stacks', 'pulumi', 'job-await', 'provider.ts');

function installedProvider(directory: string): unknown {
  const pkg = path.join(directory, 'node_modules', 'work-queue-stack');
  const compiled = path.join(pkg, 'lib', path.relative(ROOT, SOURCE)).replace(/\.ts$/, '.js');
  fs.mkdirSync(path.dirname(compiled), { recursive: true });
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
  const { config } = ts.readConfigFile(path.join(ROOT, 'tsconfig.json'), (file) => ts.sys.readFile(file));
  const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, ROOT);
  fs.writeFileSync(
    compiled,
    ts.transpileModule(fs.readFileSync(SOURCE, 'utf8'), { compilerOptions: options, fileName: SOURCE }).outputText,
  );
  process.chdir(directory);
  return providerIn(compiled);
}

/** The provider object of a module loaded as the Pulumi language host loads a program's: through require, whose cache function serialization reads. */
function providerIn(file: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a module whose path is known only at run time, loaded into require's cache on purpose
  return (require(file) as { jobAwaitProvider: unknown }).jobAwaitProvider;
}

const installed = process.argv[2] === '--installed' ? process.argv[3] : undefined;
const provider = installed ? installedProvider(installed) : providerIn(SOURCE);

pulumi.runtime
  .serializeFunction(() => provider, { allowSecrets: true })
  .then(
    (serialized) => process.stdout.write(serialized.text),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
