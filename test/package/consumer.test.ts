/**
 * The package as a consumer gets it: `npm pack` of a clean copy of the repository, installed
 * offline into fresh projects (one with the locked constructs, one with the oldest the peer range
 * allows), the README's "Use as a library" examples and docs/constructs.md's "Autoscaling with
 * KEDA" example compiled there with strict tsc, run, and their manifests checked.
 *
 * The slow steps start together in beforeAll and each test awaits the ones it needs, so packing,
 * installing and the compilers overlap; a failed step fails the tests that need it, with its output.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Env, ItemFiles, ItemsMount } from '../../worker/contract';
import { Manifest } from '../manifests';
import {
  compile,
  CompilerSettings,
  copyCleanCheckout,
  createConsumerProject,
  directorySize,
  entryPointFiles,
  installedPackages,
  installOffline,
  ManifestFile,
  manifestProblems,
  packTarball,
  readManifestFiles,
  readmeExamples,
  REPO_ROOT,
  run,
  synthesize,
  tarballFiles,
  writeTsconfig,
} from './consumer-project';

const SLOW = 180_000;
const MB = 1_000_000;
const MAX_ADDED_BYTES = 20 * MB;
const README_SECTION = 'Use as a library';
/** The examples kept in docs/ rather than the README, compiled and run the same way. */
const DOCS_SECTIONS = [{ file: 'docs/constructs.md', heading: 'Autoscaling with KEDA' }];
const PEERS = ['cdk8s', 'cdk8s-plus-28', 'constructs'];
/** The optional Pulumi peers and the worker's broker clients (bundled into the CLI) must stay out. */
const MUST_NOT_BE_INSTALLED = /^(@pulumi\/.+|@kubernetes\/client-node|amqplib|redis|@redis\/.+)$/;

// tsc takes moduleResolution node16 only with module node16, which emits CommonJS in a package
// without "type": "module" such as the consumer's.
const NODE16: CompilerSettings = { module: 'node16', moduleResolution: 'node16', skipLibCheck: false };
const NODE10: CompilerSettings = { module: 'commonjs', moduleResolution: 'node10', skipLibCheck: false };

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
const repoLock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8'));
/** This run's temporary folder: the clean copy, the tarball, the consumer projects. */
let work: string;

interface Consumer {
  dir: string;
  /** Seconds `npm install` of the peers (and TypeScript) took, then of the tarball. */
  peersSeconds: number;
  installSeconds: number;
  /** Bytes in node_modules before and after the tarball's install. */
  bytesBefore: number;
  bytesAfter: number;
}

interface SynthesizedExample {
  example: string;
  files: ManifestFile[];
}

/** A consumer's starting packages (name -> the repository's package-lock entry that gives its version). */
function startingPackages(constructsEntry: string): Record<string, string> {
  return {
    cdk8s: 'node_modules/cdk8s',
    'cdk8s-plus-28': 'node_modules/cdk8s-plus-28',
    constructs: constructsEntry,
    typescript: 'node_modules/typescript',
    '@types/node': 'node_modules/@types/node',
  };
}

async function packCleanCopy(): Promise<string> {
  const checkout = path.join(work, 'checkout');
  await copyCleanCheckout(checkout);
  return packTarball(checkout, path.join(work, 'pack'));
}

/** A fresh project with the peers installed, then the tarball installed, measured before and after. */
async function installConsumer(name: string, constructsEntry: string, tarball: Promise<string>): Promise<Consumer> {
  const dir = path.join(work, name);
  await createConsumerProject(dir, startingPackages(constructsEntry));
  const peersStarted = Date.now();
  await installOffline(dir);
  const peersSeconds = (Date.now() - peersStarted) / 1000;
  const bytesBefore = directorySize(path.join(dir, 'node_modules'));
  const file = await tarball;
  const started = Date.now();
  // npm 11 reads the full registry metadata of a package's peers when it places the package, even
  // when the project has them already, and `npm ci` caches no full metadata; offline the peers are
  // therefore left to the project (which has them: that is the point) and `npm ls` checks them.
  await installOffline(dir, [file], ['--legacy-peer-deps']);
  const installSeconds = (Date.now() - started) / 1000;
  return { dir, peersSeconds, installSeconds, bytesBefore, bytesAfter: directorySize(path.join(dir, 'node_modules')) };
}

/** Writes each README (and DOCS_SECTIONS) example to its own file, src/example-N.ts; returns their names. */
function writeExamples(dir: string): string[] {
  const blocks = [
    ...readmeExamples(fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8'), README_SECTION),
    ...DOCS_SECTIONS.flatMap(({ file, heading }) => readmeExamples(fs.readFileSync(path.join(REPO_ROOT, file), 'utf8'), heading, file)),
  ];
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  return blocks.map((code, index) => {
    const example = `example-${index + 1}`;
    fs.writeFileSync(path.join(dir, 'src', `${example}.ts`), code);
    return example;
  });
}

/** Compiles the examples with `settings`; emits them to out/ when `emit`. */
async function compileExamples(dir: string, examples: string[], settings: CompilerSettings, emit: boolean): Promise<void> {
  const files = examples.map((example) => `src/${example}.ts`);
  const name = `tsconfig.examples.${settings.moduleResolution}.json`;
  await compile(dir, writeTsconfig(dir, name, files, emit ? { ...settings, outDir: 'out' } : settings));
}

/** Runs each compiled example in a fresh output folder and reads what it wrote. */
async function synthesizeExamples(dir: string, examples: string[]): Promise<SynthesizedExample[]> {
  return Promise.all(
    examples.map(async (example) => {
      const outdir = path.join(dir, 'synth', example);
      await synthesize(dir, path.join(dir, 'out', `${example}.js`), outdir);
      return { example, files: readManifestFiles(outdir) };
    }),
  );
}

function problemsOf(synthesized: SynthesizedExample[]): string[] {
  return synthesized.flatMap(({ example, files }) => manifestProblems(files).map((problem) => `README ${example}: ${problem}`));
}

function copiesOf(consumer: Consumer, name: string): string[] {
  return installedPackages(consumer.dir)
    .filter((p) => p.name === name)
    .map((p) => `${p.dir}@${p.version}`);
}

/**
 * `import type` of the Pulumi component, under both resolutions. Its declarations import the
 * optional Pulumi peers, which a constructs-only consumer lacks, so with skipLibCheck off tsc
 * reports "Cannot find module '@pulumi/pulumi'" inside them: this check runs with skipLibCheck on.
 */
async function checkPulumiTypes(dir: string): Promise<void> {
  fs.mkdirSync(path.join(dir, 'src'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'src', 'pulumi-types.ts'),
    "import type { WorkQueueStack } from 'work-queue-stack/pulumi';\n\nexport type Stack = WorkQueueStack;\n",
  );
  await Promise.all(
    [NODE16, NODE10].map((settings) =>
      compile(dir, writeTsconfig(dir, `tsconfig.pulumi.${settings.moduleResolution}.json`, ['src/pulumi-types.ts'], { ...settings, skipLibCheck: true })),
    ),
  );
}

const pending: Promise<unknown>[] = [];
/** Starts a step now for the tests to await later; its failure fails those tests, not the file. */
function step<T>(promise: Promise<T>): Promise<T> {
  pending.push(promise);
  promise.catch(() => undefined);
  return promise;
}

let tarball: Promise<string>;
let consumer: Promise<Consumer>;
let examples: Promise<string[]>;
let node16Checked: Promise<void>;
let node10Built: Promise<void>;
let synthesized: Promise<SynthesizedExample[]>;
let pulumiTypesChecked: Promise<void>;
let oldest: Promise<Consumer>;
let oldestSynthesized: Promise<SynthesizedExample[]>;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(tmpdir(), 'work-queue-stack-package-'));
  tarball = step(packCleanCopy());

  consumer = step(installConsumer('consumer', 'node_modules/constructs', tarball));
  examples = step(consumer.then(({ dir }) => writeExamples(dir)));
  node16Checked = step(Promise.all([consumer, examples]).then(([{ dir }, names]) => compileExamples(dir, names, NODE16, false)));
  node10Built = step(Promise.all([consumer, examples]).then(([{ dir }, names]) => compileExamples(dir, names, NODE10, true)));
  synthesized = step(Promise.all([consumer, examples, node10Built]).then(([{ dir }, names]) => synthesizeExamples(dir, names)));
  pulumiTypesChecked = step(consumer.then(({ dir }) => checkPulumiTypes(dir)));

  oldest = step(installConsumer('oldest-constructs-consumer', 'node_modules/constructs-oldest', tarball));
  oldestSynthesized = step(
    oldest.then(async ({ dir }) => {
      const names = writeExamples(dir);
      await compileExamples(dir, names, NODE10, true);
      return synthesizeExamples(dir, names);
    }),
  );
});

afterAll(async () => {
  await Promise.allSettled(pending);
  fs.rmSync(work, { recursive: true, force: true });
}, SLOW);

describe('npm pack of a clean copy of the repository', () => {
  test(
    'builds every file that main, types, the exports map and bin point at into the tarball',
    async () => {
      const files = await tarballFiles(await tarball);
      const missing = entryPointFiles(pkg).filter((file) => !files.includes(file));
      expect(missing).toEqual([]);
    },
    SLOW,
  );

  test(
    'packs no source maps and no TypeScript sources besides declarations',
    async () => {
      const files = await tarballFiles(await tarball);
      expect(files.filter((file) => file.endsWith('.map'))).toEqual([]);
      expect(files.filter((file) => /\.[cm]?ts$/.test(file) && !/\.d\.[cm]?ts$/.test(file))).toEqual([]);
    },
    SLOW,
  );
});

describe('a fresh consumer project that installs the tarball offline', () => {
  test(
    `grows by at most ${MAX_ADDED_BYTES / MB} MB`,
    async () => {
      const { bytesBefore, bytesAfter, peersSeconds, installSeconds } = await consumer;
      const added = bytesAfter - bytesBefore;
      console.log(
        `work-queue-stack tarball: ${(fs.statSync(await tarball).size / 1024).toFixed(0)} KiB; installing it added ` +
          `${(added / MB).toFixed(2)} MB to node_modules (${(bytesBefore / MB).toFixed(1)} -> ${(bytesAfter / MB).toFixed(1)} MB) ` +
          `in ${installSeconds.toFixed(1)} s, after ${peersSeconds.toFixed(1)} s for the peers and TypeScript`,
      );
      expect(added).toBeLessThanOrEqual(MAX_ADDED_BYTES);
    },
    SLOW,
  );

  test.each(PEERS)(
    'has exactly one copy of %s',
    async (name) => {
      expect(copiesOf(await consumer, name)).toEqual([`node_modules/${name}@${repoLock.packages[`node_modules/${name}`].version}`]);
    },
    SLOW,
  );

  test(
    'has none of the optional Pulumi peers and none of the broker clients',
    async () => {
      const unwanted = installedPackages((await consumer).dir)
        .filter((p) => MUST_NOT_BE_INSTALLED.test(p.name))
        .map((p) => p.dir);
      expect(unwanted).toEqual([]);
    },
    SLOW,
  );

  test(
    "satisfies the package's peer dependencies (npm ls reports no problem)",
    async () => {
      await run('npm', ['ls', '--all'], {
        cwd: (await consumer).dir,
        what: 'npm ls in the consumer project (a peer dependency is missing or of the wrong version)',
      });
    },
    SLOW,
  );

  test(
    'runs the work-queue CLI from node_modules/.bin',
    async () => {
      const { stdout } = await run(path.join((await consumer).dir, 'node_modules', '.bin', 'work-queue'), ['--help'], {
        cwd: (await consumer).dir,
        what: 'the installed work-queue CLI',
      });
      expect(stdout).toContain('usage: work-queue');
    },
    SLOW,
  );
});

describe(`the README's "${README_SECTION}" examples in the consumer project`, () => {
  test(
    'compile unchanged with strict tsc and skipLibCheck off, resolving through the exports map (node16)',
    async () => {
      await node16Checked;
    },
    SLOW,
  );

  test(
    'compile unchanged with strict tsc and skipLibCheck off, resolving through types (node10, module commonjs)',
    async () => {
      await node10Built;
    },
    SLOW,
  );

  test(
    'synthesize objects with valid, distinct names, and coarse Jobs whose completions equal their seeded items',
    async () => {
      expect(problemsOf(await synthesized)).toEqual([]);
    },
    SLOW,
  );

  test(
    'an import type of work-queue-stack/pulumi resolves through the exports map and typesVersions',
    async () => {
      await pulumiTypesChecked;
    },
    SLOW,
  );
});

describe('a consumer project with constructs 10.3.0, the oldest the peer range allows', () => {
  test(
    'compiles and synthesizes the README examples with valid manifests',
    async () => {
      expect(problemsOf(await oldestSynthesized)).toEqual([]);
    },
    SLOW,
  );

  test(
    'has exactly one copy of constructs, at 10.3.0',
    async () => {
      expect(copiesOf(await oldest, 'constructs')).toEqual(['node_modules/constructs@10.3.0']);
    },
    SLOW,
  );
});

describe('the checks themselves', () => {
  const brokerUrl = { name: Env.brokerUrl, value: 'redis://redis:6379' };
  /** A Job of the worker image, reduced to what the checks read. */
  const job = (
    name: string | undefined,
    env: Record<string, string>,
    extra: { completions?: number; itemsConfigMap?: string; args?: string[] } = {},
  ): Manifest => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: {
      completions: extra.completions,
      template: {
        spec: {
          containers: [
            {
              args: extra.args ?? ['work'],
              env: [brokerUrl, ...Object.entries(env).map(([n, value]) => ({ name: n, value }))],
              volumeMounts: extra.itemsConfigMap ? [{ name: 'items', mountPath: ItemsMount.directory }] : [],
            },
          ],
          volumes: extra.itemsConfigMap ? [{ name: 'items', projected: { sources: [{ configMap: { name: extra.itemsConfigMap } }] } }] : [],
        },
      },
    },
  });
  const items = (name: string, list: string[]): Manifest => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name },
    data: { [ItemFiles.fileName(0)]: JSON.stringify(list) },
  });

  test('fails manifests with a Job without metadata.name, a name used twice, a bad name and completions unlike the seeded items', () => {
    const problems = manifestProblems([
      {
        file: 'chart.k8s.yaml',
        objects: [
          items('q-items', ['a', 'b', 'c']),
          job('seed', { [Env.queue]: 'q', [Env.itemsDirectory]: ItemsMount.directory }, { itemsConfigMap: 'q-items', args: ['seed'] }),
          job(undefined, { [Env.queue]: 'q', [Env.workerMode]: 'single' }, { completions: 3 }),
          job('work', { [Env.queue]: 'q', [Env.workerMode]: 'single' }, { completions: 2 }),
          job('work', { [Env.queue]: 'other', [Env.workerMode]: 'drain' }),
          { apiVersion: 'v1', kind: 'Service', metadata: { name: 'Broker.Service' } },
        ],
      },
    ]);
    expect(problems).toEqual([
      'chart.k8s.yaml: Job (no metadata.name) has no metadata.name',
      'chart.k8s.yaml: Service "Broker.Service": the name is not a DNS-1123 label (at most 63 of a-z 0-9 -, alphanumeric at both ends)',
      'chart.k8s.yaml: Job "work" appears twice',
      'chart.k8s.yaml: Job "work": spec.completions is 2, but its seeder puts 3 items on queue "q"',
    ]);
  });

  test('fails a README section without a ts block, whatever follows it', () => {
    const readme = '# x\n\n## Use as a library\n\nText only.\n\n## Next\n\n```ts\nconsole.log(1);\n```\n';
    expect(() => readmeExamples(readme, README_SECTION)).toThrow('section "## Use as a library" has no ```ts code block');
  });
});
