/**
 * The package as a consumer gets it: `npm pack` of a clean copy of the repository, installed into
 * fresh projects beside the repository's pinned TypeScript 5.9 (offline: one CommonJS project with
 * the locked constructs, one ES-module project with the oldest constructs the peer range allows)
 * and beside the newest TypeScript the registry serves (installed online at test time and not
 * pinned, so that the next major shows here first: one CommonJS and one ES-module project). In
 * each, the README's "Use as a library" program and docs/constructs.md's "Autoscaling with KEDA"
 * one are built as the README says, unchanged (its tsconfig.json block, `npx tsc`), run with node,
 * and their manifests checked.
 *
 * The slow steps start together in beforeAll and each test awaits the ones it needs, so packing,
 * installing and the compilers overlap; a failed step fails the tests that need it, with its output.
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Env, ItemFiles, ItemsMount } from '../../contract';
import type { Manifest } from '../manifests';
import {
  codeBlocks,
  compile,
  type CompilerSettings,
  copyCleanCheckout,
  createConsumerProject,
  directorySize,
  entryPointFiles,
  installedPackages,
  installedTypeScript,
  installOffline,
  installOnline,
  latestVersion,
  type ManifestFile,
  manifestProblems,
  markdownSection,
  npxTsc,
  packTarball,
  readManifestFiles,
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
/** How the README builds and runs its program. */
const README_COMMAND = 'npx tsc && node main.js';
/** The sections whose ```ts blocks are programs, and the file each block is saved as, as their text names it. */
const PROGRAM_SECTIONS = [
  { file: 'README.md', heading: README_SECTION, programs: ['main.ts'] },
  { file: 'docs/constructs.md', heading: 'Autoscaling with KEDA', programs: ['autoscale.ts'] },
];
const PEERS = ['cdk8s', 'cdk8s-plus-28', 'constructs'];
/** The optional Pulumi peers and the worker's broker clients (bundled into the CLI) must stay out. */
const MUST_NOT_BE_INSTALLED = /^(@pulumi\/.+|@kubernetes\/client-node|amqplib|redis|@redis\/.+)$/;

// tsc takes moduleResolution node16 only with module node16, which emits CommonJS in a folder
// without a package.json of "type": "module", such as the Pulumi type check's.
const NODE16: CompilerSettings = { module: 'node16', moduleResolution: 'node16', skipLibCheck: false };
const NODE10: CompilerSettings = { module: 'commonjs', moduleResolution: 'node10', skipLibCheck: false };

/** A consumer's starting packages: name -> the repository's package-lock entry that gives its version. */
const LOCKED_PEERS = {
  cdk8s: 'node_modules/cdk8s',
  'cdk8s-plus-28': 'node_modules/cdk8s-plus-28',
  constructs: 'node_modules/constructs',
};
const PINNED_TYPESCRIPT = { typescript: 'node_modules/typescript' };

interface ConsumerKind {
  /** The project's folder, and its name in the test titles. */
  name: string;
  /** package.json's "type": what `tsc` emits under `module: nodenext`, and how node loads it. */
  type: 'commonjs' | 'module';
  /** Installed from the npm cache. */
  packages: Record<string, string>;
  /** Also installs typescript@latest from the registry. */
  newestTypeScript: boolean;
}

const CONSUMERS: ConsumerKind[] = [
  {
    name: 'pinned-typescript-commonjs',
    type: 'commonjs',
    packages: { ...LOCKED_PEERS, ...PINNED_TYPESCRIPT },
    newestTypeScript: false,
  },
  {
    name: 'pinned-typescript-esm-oldest-constructs',
    type: 'module',
    packages: { ...LOCKED_PEERS, constructs: 'node_modules/constructs-oldest', ...PINNED_TYPESCRIPT },
    newestTypeScript: false,
  },
  { name: 'newest-typescript-commonjs', type: 'commonjs', packages: LOCKED_PEERS, newestTypeScript: true },
  { name: 'newest-typescript-esm', type: 'module', packages: LOCKED_PEERS, newestTypeScript: true },
];
const [PINNED, OLDEST_CONSTRUCTS] = CONSUMERS;

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'));
const repoLock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8'));
const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
/** This run's temporary folder: the clean copy, the tarball, the consumer projects. */
let work: string;

interface Consumer {
  dir: string;
  /** Seconds the install of the starting packages took, then of the tarball. */
  startSeconds: number;
  installSeconds: number;
  /** Bytes in node_modules before and after the tarball's install. */
  bytesBefore: number;
  bytesAfter: number;
}

interface SynthesizedExample {
  example: string;
  files: ManifestFile[];
}

/** What building and running the programs in a consumer project gave. */
interface Build {
  typescript: string;
  /** Each program's compiled JavaScript, by name. */
  emitted: Record<string, string>;
  synthesized: SynthesizedExample[];
}

async function packCleanCopy(): Promise<string> {
  const checkout = path.join(work, 'checkout');
  await copyCleanCheckout(checkout);
  return packTarball(checkout, path.join(work, 'pack'));
}

/**
 * A fresh project of this kind with its starting packages installed (TypeScript from the registry
 * when `typescript` is given), then the tarball installed offline, measured before and after.
 */
async function installConsumer(
  kind: ConsumerKind,
  tarball: Promise<string>,
  typescript?: Promise<string>,
): Promise<Consumer> {
  const dir = path.join(work, kind.name);
  await createConsumerProject(dir, kind.packages, { type: kind.type });
  const started = Date.now();
  if (typescript) await installOnline(dir, [`typescript@${await typescript}`]);
  else await installOffline(dir);
  const startSeconds = (Date.now() - started) / 1000;
  const bytesBefore = directorySize(path.join(dir, 'node_modules'));
  const file = await tarball;
  const tarballStarted = Date.now();
  // npm 11 reads the full registry metadata of a package's peers when it places the package, even
  // when the project has them already, and `npm ci` caches no full metadata; offline the peers are
  // therefore left to the project (which has them: that is the point) and `npm ls` checks them.
  await installOffline(dir, [file], ['--legacy-peer-deps']);
  const installSeconds = (Date.now() - tarballStarted) / 1000;
  return { dir, startSeconds, installSeconds, bytesBefore, bytesAfter: directorySize(path.join(dir, 'node_modules')) };
}

/** Writes the README's tsconfig.json block and each program of PROGRAM_SECTIONS, unchanged, into the project; returns the programs' names. */
function writePrograms(dir: string): string[] {
  const tsconfigs = codeBlocks(readme, README_SECTION, 'json');
  if (tsconfigs.length !== 1)
    throw new Error(
      `README.md's section "## ${README_SECTION}" should show one \`\`\`json block, its tsconfig.json; it has ${tsconfigs.length}`,
    );
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), tsconfigs[0]);
  return PROGRAM_SECTIONS.flatMap(({ file, heading, programs }) => {
    const blocks = codeBlocks(fs.readFileSync(path.join(REPO_ROOT, file), 'utf8'), heading, 'ts', file);
    if (blocks.length !== programs.length)
      throw new Error(
        `${file}'s section "## ${heading}" has ${blocks.length} \`\`\`ts blocks, the package test knows ${programs.join(', ')}: name each block's file in PROGRAM_SECTIONS`,
      );
    return blocks.map((code, index) => {
      fs.writeFileSync(path.join(dir, programs[index]), code);
      return path.basename(programs[index], '.ts');
    });
  });
}

/** Builds the written programs as the README says (`npx tsc`), then runs each with node into its own output folder. */
async function buildAsReadme(dir: string, programs: string[]): Promise<Build> {
  await npxTsc(dir);
  const emitted = Object.fromEntries(
    programs.map((program) => [program, fs.readFileSync(path.join(dir, `${program}.js`), 'utf8')]),
  );
  return { typescript: installedTypeScript(dir), emitted, synthesized: await synthesizeExamples(dir, programs) };
}

/** Runs each compiled program in a fresh output folder and reads what it wrote. */
async function synthesizeExamples(dir: string, programs: string[]): Promise<SynthesizedExample[]> {
  return Promise.all(
    programs.map(async (example) => {
      const outdir = path.join(dir, 'synth', example);
      await synthesize(dir, path.join(dir, `${example}.js`), outdir);
      return { example, files: readManifestFiles(outdir) };
    }),
  );
}

/** How a compiled program loads the package: an ES-module import or a CommonJS require (or neither). */
function moduleFormat(javascript: string): ConsumerKind['type'] | 'neither' {
  if (/^import .* from ['"]work-queue-stack['"];$/m.test(javascript)) return 'module';
  if (/\brequire\(['"]work-queue-stack['"]\)/.test(javascript)) return 'commonjs';
  return 'neither';
}

function problemsOf(synthesized: SynthesizedExample[]): string[] {
  return synthesized.flatMap(({ example, files }) =>
    manifestProblems(files).map((problem) => `${example}: ${problem}`),
  );
}

function copiesOf(consumer: Consumer, name: string): string[] {
  return installedPackages(consumer.dir)
    .filter((p) => p.name === name)
    .map((p) => `${p.dir}@${p.version}`);
}

/**
 * `import type` of the Pulumi component, under both resolutions, from a project beside the
 * consumer that shares its node_modules (in the consumer's own folder the README's tsconfig.json
 * would compile it too). Its declarations import the optional Pulumi peers, which a
 * constructs-only consumer lacks, so with skipLibCheck off tsc reports "Cannot find module
 * '@pulumi/pulumi'" inside them: this check runs with skipLibCheck on.
 */
async function checkPulumiTypes(consumerDir: string): Promise<void> {
  const dir = path.join(work, 'pulumi-types');
  fs.mkdirSync(dir, { recursive: true });
  fs.symlinkSync(path.join(consumerDir, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  fs.writeFileSync(
    path.join(dir, 'pulumi-types.ts'),
    "import type { WorkQueueStack } from 'work-queue-stack/pulumi';\n\nexport type Stack = WorkQueueStack;\n",
  );
  await Promise.all(
    [NODE16, NODE10].map((settings) =>
      compile(
        dir,
        writeTsconfig(dir, `tsconfig.pulumi.${settings.moduleResolution}.json`, ['pulumi-types.ts'], {
          ...settings,
          skipLibCheck: true,
        }),
      ),
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
const consumers = new Map<string, Promise<Consumer>>();
const builds = new Map<string, Promise<Build>>();
let node10Checked: Promise<void>;
let pulumiTypesChecked: Promise<void>;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(tmpdir(), 'work-queue-stack-package-'));
  tarball = step(packCleanCopy());
  const newestTypeScript = step(latestVersion('typescript'));

  for (const kind of CONSUMERS) {
    const consumer = step(installConsumer(kind, tarball, kind.newestTypeScript ? newestTypeScript : undefined));
    const programs = step(consumer.then(({ dir }) => writePrograms(dir)));
    consumers.set(kind.name, consumer);
    builds.set(
      kind.name,
      step(Promise.all([consumer, programs]).then(([{ dir }, names]) => buildAsReadme(dir, names))),
    );
    if (kind !== PINNED) continue;
    node10Checked = step(
      Promise.all([consumer, programs]).then(([{ dir }, names]) =>
        compile(
          dir,
          writeTsconfig(
            dir,
            'tsconfig.node10.json',
            names.map((name) => `${name}.ts`),
            NODE10,
          ),
        ),
      ),
    );
    pulumiTypesChecked = step(consumer.then(({ dir }) => checkPulumiTypes(dir)));
  }
});

afterAll(async () => {
  await Promise.allSettled(pending);
  fs.rmSync(work, { recursive: true, force: true });
}, SLOW);

/** The consumer project of this kind, once installed. */
function consumerOf(kind: ConsumerKind): Promise<Consumer> {
  return consumers.get(kind.name)!;
}

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

  test(
    'ships the license and the changelog beside the README',
    async () => {
      const files = await tarballFiles(await tarball);
      expect(['LICENSE', 'CHANGELOG.md', 'README.md'].filter((file) => !files.includes(file))).toEqual([]);
    },
    SLOW,
  );
});

describe('a fresh consumer project that installs the tarball offline', () => {
  test(
    `grows by at most ${MAX_ADDED_BYTES / MB} MB`,
    async () => {
      const { bytesBefore, bytesAfter, startSeconds, installSeconds } = await consumerOf(PINNED);
      const added = bytesAfter - bytesBefore;
      console.log(
        `work-queue-stack tarball: ${(fs.statSync(await tarball).size / 1024).toFixed(0)} KiB; installing it added ` +
          `${(added / MB).toFixed(2)} MB to node_modules (${(bytesBefore / MB).toFixed(1)} -> ${(bytesAfter / MB).toFixed(1)} MB) ` +
          `in ${installSeconds.toFixed(1)} s, after ${startSeconds.toFixed(1)} s for the peers and TypeScript`,
      );
      expect(added).toBeLessThanOrEqual(MAX_ADDED_BYTES);
    },
    SLOW,
  );

  test.each(PEERS)(
    'has exactly one copy of %s',
    async (name) => {
      expect(copiesOf(await consumerOf(PINNED), name)).toEqual([
        `node_modules/${name}@${String(repoLock.packages[`node_modules/${name}`].version)}`,
      ]);
    },
    SLOW,
  );

  test(
    'has none of the optional Pulumi peers and none of the broker clients',
    async () => {
      const unwanted = installedPackages((await consumerOf(PINNED)).dir)
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
        cwd: (await consumerOf(PINNED)).dir,
        what: 'npm ls in the consumer project (a peer dependency is missing or of the wrong version)',
      });
    },
    SLOW,
  );

  test(
    'runs the work-queue CLI from node_modules/.bin',
    async () => {
      const { dir } = await consumerOf(PINNED);
      const { stdout } = await run(path.join(dir, 'node_modules', '.bin', 'work-queue'), ['--help'], {
        cwd: dir,
        what: 'the installed work-queue CLI',
      });
      expect(stdout).toContain('usage: work-queue');
    },
    SLOW,
  );

  test(
    'with constructs 10.3.0, the oldest the peer range allows, has exactly one copy of it',
    async () => {
      expect(copiesOf(await consumerOf(OLDEST_CONSTRUCTS), 'constructs')).toEqual(['node_modules/constructs@10.3.0']);
    },
    SLOW,
  );
});

describe(`the README's "${README_SECTION}" programs, built as it says`, () => {
  const section = markdownSection(readme, README_SECTION);

  test(`the README builds and runs its program with \`${README_COMMAND}\``, () => {
    expect(section).toContain(README_COMMAND);
  });

  test("the README's tsconfig.json is strict and checks the package's declarations (skipLibCheck off)", () => {
    const { compilerOptions } = JSON.parse(codeBlocks(readme, README_SECTION, 'json')[0]);
    expect({ strict: compilerOptions.strict, skipLibCheck: compilerOptions.skipLibCheck ?? false }).toEqual({
      strict: true,
      skipLibCheck: false,
    });
  });

  test.each(CONSUMERS)(
    '$name: compile unchanged with its tsconfig.json and npx tsc, run with node, and synthesize valid, distinctly named objects and coarse Jobs whose completions equal their seeded items',
    async (kind) => {
      const { typescript, emitted, synthesized } = await builds.get(kind.name)!;
      console.log(`${kind.name}: TypeScript ${typescript}`);
      expect(Object.values(emitted).map(moduleFormat)).toEqual(Object.keys(emitted).map(() => kind.type));
      expect(problemsOf(synthesized)).toEqual([]);
    },
    SLOW,
  );

  test(
    'compile unchanged with strict tsc and skipLibCheck off, resolving through types (node10, module commonjs, TypeScript 5.9)',
    async () => {
      await node10Checked;
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
          volumes: extra.itemsConfigMap
            ? [{ name: 'items', projected: { sources: [{ configMap: { name: extra.itemsConfigMap } }] } }]
            : [],
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
          job(
            'seed',
            { [Env.queue]: 'q', [Env.itemsDirectory]: ItemsMount.directory },
            { itemsConfigMap: 'q-items', args: ['seed'] },
          ),
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
    const markdown = '# x\n\n## Use as a library\n\nText only.\n\n## Next\n\n```ts\nconsole.log(1);\n```\n';
    expect(() => codeBlocks(markdown, README_SECTION, 'ts')).toThrow(
      'section "## Use as a library" has no ```ts code block',
    );
  });
});
