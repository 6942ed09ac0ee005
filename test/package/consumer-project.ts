/**
 * Helpers of the package test: pack a clean copy of the repository, install the tarball into a
 * fresh consumer project, compile and run the README's examples there as the README says, and
 * check the manifests they synthesize.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Env } from '../../contract';
import { containerEnv, type Manifest, type ManifestValue, mountedItems, podSpec } from '../manifests';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** What a clean clone has that `npm pack` (its `prepare` build) needs; lib/ is not among them. */
const BUILD_INPUTS = [
  'package.json',
  'package-lock.json',
  'README.md',
  'LICENSE',
  'CHANGELOG.md',
  'tsconfig.json',
  'tsconfig.build.json',
  'contract',
  'constructs',
  'worker',
  'stacks',
];

export interface RunOptions {
  cwd: string;
  /** What the command does, for the error message: "packing the repository". */
  what: string;
  env?: Record<string, string>;
}

/**
 * The environment of a child command: this process's, less the variables `npm test` sets for its
 * own project (npm_package_*, npm_config_local_prefix, ...), which would point a child npm at the
 * repository. The npm cache setting stays, so the child uses the cache `npm ci` filled.
 */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.toLowerCase().startsWith('npm_') && name.toLowerCase() !== 'npm_config_cache') continue;
    if (name === 'INIT_CWD') continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

/** Runs a command; a failure says what it was doing, the command, the folder, the exit code and the output's end. */
export function run(command: string, args: string[], options: RunOptions): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: childEnv(options.env), maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ stdout, stderr });
          return;
        }
        const output = `${stdout}\n${stderr}`.trim().split('\n').slice(-40).join('\n');
        reject(
          new Error(
            `${options.what} failed: \`${[command, ...args].join(' ')}\` in ${options.cwd} exited with ${String(error.code ?? error.signal)}\n${output}`,
          ),
        );
      },
    );
  });
}

/**
 * Copies what a clean clone has of the build inputs (tracked files, and new ones git does not
 * ignore) into `dest`, and links the repository's node_modules there, so the copy builds without
 * an install and without the repository's lib/.
 */
export async function copyCleanCheckout(dest: string): Promise<void> {
  const { stdout } = await run(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', ...BUILD_INPUTS],
    {
      cwd: REPO_ROOT,
      what: 'listing the files of a clean clone',
    },
  );
  for (const file of new Set(stdout.split('\0').filter(Boolean))) {
    const source = path.join(REPO_ROOT, file);
    if (!fs.existsSync(source)) continue; // tracked, but deleted in the work tree
    fs.mkdirSync(path.dirname(path.join(dest, file)), { recursive: true });
    fs.copyFileSync(source, path.join(dest, file));
  }
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dest, 'node_modules'), 'dir');
}

/** Runs `npm pack` (and so `prepare`) in `checkout`; returns the tarball's path in `destination`. */
export async function packTarball(checkout: string, destination: string): Promise<string> {
  fs.mkdirSync(destination, { recursive: true });
  await run('npm', ['pack', '--pack-destination', destination], {
    cwd: checkout,
    what: 'npm pack of a clean copy of the repository',
  });
  const tarballs = fs.readdirSync(destination).filter((name) => name.endsWith('.tgz'));
  if (tarballs.length !== 1)
    throw new Error(`npm pack should write one tarball to ${destination}, found: ${tarballs.join(', ') || 'none'}`);
  return path.join(destination, tarballs[0]);
}

/** The paths of the files in an npm tarball, relative to the package root. */
export async function tarballFiles(tarball: string): Promise<string[]> {
  const { stdout } = await run('tar', ['-tzf', tarball], { cwd: path.dirname(tarball), what: 'listing the tarball' });
  return stdout
    .split('\n')
    .filter((entry) => entry && !entry.endsWith('/'))
    .map((entry) => entry.replace(/^package\//, ''));
}

/** Every file that `main`, `types`, the `exports` targets and `bin` of a package.json point at. */
export function entryPointFiles(pkg: Record<string, unknown>): string[] {
  const targets: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === 'string') targets.push(value);
    else if (value && typeof value === 'object') Object.values(value).forEach(collect);
  };
  collect([pkg.main, pkg.types, pkg.exports, pkg.bin]);
  return [...new Set(targets.map((target) => path.posix.normalize(target)))];
}

/**
 * Creates a consumer project with `npm init -y` whose dependencies are `packages` (name -> the key
 * of the entry in the repository's package-lock that gives its version), pinned by a lockfile made
 * of those entries, and whose package.json also has `fields` (`{ type: 'module' }`). npm 11
 * resolves a bare `npm install name@version` against full registry metadata, which `npm ci` does
 * not cache; with a lockfile it needs only what `npm ci` left in the cache, so the install works offline.
 */
export async function createConsumerProject(
  dir: string,
  packages: Record<string, string>,
  fields: Record<string, unknown> = {},
): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  await run('npm', ['init', '-y'], { cwd: dir, what: 'npm init of the consumer project' });
  const repoLock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const entries = lockEntries(repoLock, packages);
  const dependencies = Object.fromEntries(
    Object.keys(packages).map((name) => [name, entries[`node_modules/${name}`].version]),
  );

  const pkgFile = path.join(dir, 'package.json');
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8'));
  fs.writeFileSync(pkgFile, JSON.stringify({ ...pkg, ...fields, dependencies }, null, 2));
  fs.writeFileSync(
    path.join(dir, 'package-lock.json'),
    JSON.stringify(
      {
        name: pkg.name,
        version: pkg.version,
        lockfileVersion: 3,
        requires: true,
        packages: { '': { name: pkg.name, version: pkg.version, dependencies }, ...entries },
      },
      null,
      2,
    ),
  );
}

/**
 * The lockfile entries of `packages` placed at the top of a new tree, with their nested and bundled
 * packages and, found the way Node resolves them, the dependencies they do not bundle.
 */
function lockEntries(
  repoLock: { packages: Record<string, LockEntry> },
  packages: Record<string, string>,
): Record<string, LockEntry> {
  const entries: Record<string, LockEntry> = {};
  const locked = (key: string): LockEntry | undefined => repoLock.packages[key];
  const add = (name: string, repoKey: string): void => {
    const key = `node_modules/${name}`;
    if (key in entries) return;
    const entry = locked(repoKey);
    if (!entry)
      throw new Error(
        `the repository's package-lock.json has no ${repoKey}, the version the consumer of ${name} should get`,
      );
    entries[key] = consumerEntry(entry);
    for (const [nestedKey, nested] of Object.entries(repoLock.packages)) {
      if (nestedKey.startsWith(`${repoKey}/node_modules/`))
        entries[key + nestedKey.slice(repoKey.length)] = consumerEntry(nested);
    }
    const bundled = new Set<string>(entry.bundleDependencies ?? []);
    for (const dependency of Object.keys(entry.dependencies ?? {})) {
      if (bundled.has(dependency) || locked(`${repoKey}/node_modules/${dependency}`)) continue;
      add(dependency, `node_modules/${dependency}`);
    }
  };
  for (const [name, repoKey] of Object.entries(packages)) add(name, repoKey);
  return entries;
}

/** A package-lock.json entry: the fields read here, and the rest as it is. */
interface LockEntry {
  readonly version?: string;
  readonly dependencies?: Record<string, string>;
  readonly bundleDependencies?: string[];
  readonly [field: string]: unknown;
}

/** A lockfile entry without the flags that say how the repository uses it (dev, optional, peer). */
function consumerEntry(entry: LockEntry): LockEntry {
  const copy = { ...entry };
  for (const flag of ['dev', 'devOptional', 'optional', 'peer']) delete copy[flag];
  return copy;
}

/**
 * `npm install --offline` in `dir`, of `specs` or else of the project's dependencies. A failure
 * says that it happened offline, which mostly means the npm cache lacks a package.
 */
export async function installOffline(dir: string, specs: string[] = [], extraArgs: string[] = []): Promise<void> {
  try {
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', ...extraArgs, ...specs], {
      cwd: dir,
      what: `npm install ${specs.join(' ') || '(the lockfile)'}`,
    });
  } catch (error) {
    throw new Error(
      `The offline install into the consumer project failed; the npm cache should hold every package once \`npm ci\` ran in the repository.\n${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * The version that the npm registry's `latest` tag of `name` points at. An unreachable registry
 * fails at once (no retries) with a message that says so.
 */
export async function latestVersion(name: string): Promise<string> {
  try {
    const { stdout } = await run(
      'npm',
      ['view', `${name}@latest`, 'version', '--prefer-online', '--fetch-retries=0', '--fetch-timeout=30000'],
      {
        cwd: REPO_ROOT,
        what: `npm view ${name}@latest version`,
      },
    );
    return stdout.trim();
  } catch (error) {
    const { stdout: registry } = await run('npm', ['config', 'get', 'registry'], {
      cwd: REPO_ROOT,
      what: 'npm config get registry',
    });
    const [command, ...output] = (error as Error).message.split('\n');
    const reason = output.filter((line) => /FetchError|npm error code /.test(line));
    throw new Error(
      `The npm registry ${registry.trim()} cannot be reached: the consumers on the newest ${name} install ${name}@latest from it ` +
        `at test time (deliberately not pinned, nor taken from the npm cache), so this test needs the registry.\n${[command, ...reason].join('\n')}`,
      { cause: error },
    );
  }
}

/** `npm install` of `specs` in `dir` from the registry (the project's locked packages still come from the npm cache). */
export async function installOnline(dir: string, specs: string[]): Promise<void> {
  await run('npm', ['install', '--no-audit', '--no-fund', '--save-dev', ...specs], {
    cwd: dir,
    what: `npm install --save-dev ${specs.join(' ')} from the registry`,
  });
}

/** Bytes of the files below `dir`, symbolic links counted as links. */
export function directorySize(dir: string): number {
  let bytes = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    bytes += entry.isDirectory() ? directorySize(full) : fs.lstatSync(full).size;
  }
  return bytes;
}

export interface InstalledPackage {
  name: string;
  version: string;
  /** Folder, relative to the project. */
  dir: string;
}

/** Every package in the project's node_modules tree, nested and bundled ones included, by the name in its package.json. */
export function installedPackages(projectDir: string): InstalledPackage[] {
  const found: InstalledPackage[] = [];
  const visitNodeModules = (nodeModules: string): void => {
    if (!fs.existsSync(nodeModules)) return;
    for (const entry of fs.readdirSync(nodeModules, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const full = path.join(nodeModules, entry.name);
      if (entry.name.startsWith('@')) {
        for (const scoped of fs.readdirSync(full, { withFileTypes: true }))
          if (scoped.isDirectory()) visitPackage(path.join(full, scoped.name));
      } else {
        visitPackage(full);
      }
    }
  };
  const visitPackage = (dir: string): void => {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      const { name, version } = JSON.parse(fs.readFileSync(manifest, 'utf8'));
      found.push({ name, version, dir: path.relative(projectDir, dir) });
    }
    visitNodeModules(path.join(dir, 'node_modules'));
  };
  visitNodeModules(path.join(projectDir, 'node_modules'));
  return found;
}

/** The text of the markdown section (of `file`: README.md unless named) with this `## ` heading; fails when there is none. */
export function markdownSection(markdown: string, heading: string, file = 'README.md'): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`${file} has no section "## ${heading}"`);
  const rest = markdown.slice(start + heading.length + 5);
  const end = rest.search(/^## /m);
  return end < 0 ? rest : rest.slice(0, end);
}

/** The code blocks in `language` (```ts, ```json) of the markdown section with this `## ` heading; fails when it has none. */
export function codeBlocks(markdown: string, heading: string, language: string, file = 'README.md'): string[] {
  const section = markdownSection(markdown, heading, file);
  const blocks = [...section.matchAll(new RegExp(`^\`\`\`${language}\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map(
    (match) => match[1],
  );
  if (blocks.length === 0) throw new Error(`${file}'s section "## ${heading}" has no \`\`\`${language} code block`);
  return blocks;
}

export interface CompilerSettings {
  module: 'node16' | 'commonjs';
  moduleResolution: 'node16' | 'node10';
  skipLibCheck: boolean;
}

/** Writes a strict, type-check-only tsconfig for `files` (relative to the project); returns its path. */
export function writeTsconfig(projectDir: string, name: string, files: string[], settings: CompilerSettings): string {
  const compilerOptions = { strict: true, target: 'ES2022', lib: ['ES2022'], ...settings, noEmit: true };
  const file = path.join(projectDir, name);
  fs.writeFileSync(file, JSON.stringify({ compilerOptions, files }, null, 2));
  return file;
}

/** `npx tsc` in the project, as the README builds a program: its tsconfig.json, its own TypeScript; a failure shows tsc's messages. */
export async function npxTsc(projectDir: string): Promise<void> {
  await run('npx', ['tsc'], { cwd: projectDir, what: 'npx tsc in the consumer project' });
}

/** The version of the TypeScript installed in the project. */
export function installedTypeScript(projectDir: string): string {
  return JSON.parse(fs.readFileSync(path.join(projectDir, 'node_modules', 'typescript', 'package.json'), 'utf8'))
    .version;
}

/** Compiles with the consumer project's own TypeScript; a failure shows tsc's messages. */
export async function compile(projectDir: string, tsconfig: string): Promise<void> {
  await run(process.execPath, [path.join(projectDir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tsconfig], {
    cwd: projectDir,
    what: `tsc -p ${path.basename(tsconfig)} in the consumer project`,
  });
}

/** Runs a compiled cdk8s program with `CDK8S_OUTDIR` set to `outdir`. */
export async function synthesize(projectDir: string, script: string, outdir: string): Promise<void> {
  await run(process.execPath, [script], {
    cwd: projectDir,
    env: { CDK8S_OUTDIR: outdir },
    what: `synthesizing with node ${path.relative(projectDir, script)}`,
  });
}

export interface ManifestFile {
  file: string;
  objects: Manifest[];
}

/** The Kubernetes objects of each YAML file in `outdir`; fails when there is none. */
export function readManifestFiles(outdir: string): ManifestFile[] {
  const files = fs.existsSync(outdir)
    ? fs
        .readdirSync(outdir)
        .filter((name) => /\.ya?ml$/.test(name))
        .sort()
    : [];
  if (files.length === 0) throw new Error(`the program wrote no YAML file to ${outdir}`);
  return files.map((file) => ({
    file,
    objects: parseAllDocuments(fs.readFileSync(path.join(outdir, file), 'utf8'))
      .map((document) => document.toJS() as Manifest)
      .filter(Boolean),
  }));
}

/** Whatever is wrong with the synthesized output, one sentence each; empty when nothing is. */
export function manifestProblems(files: ManifestFile[]): string[] {
  return [...nameProblems(files), ...duplicateNameProblems(files), ...completionsProblems(files)];
}

// Kubernetes' own rules (apimachinery's IsDNS1123Label and IsDNS1123Subdomain), kept apart from
// the constructs' validation so that the test does not check the product against itself.
const DNS_1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Kinds whose names must be DNS-1123 labels: a Service's becomes a DNS label, a Job's a pod label value. */
const LABEL_NAMED_KINDS = new Set(['Job', 'Service']);

/** An object as read from a manifest file, which may lack metadata. */
type ParsedManifest = {
  apiVersion: string;
  kind: string;
  metadata?: Manifest['metadata'];
  [key: string]: ManifestValue;
};

function objectRef(file: string, object: ParsedManifest): string {
  return `${file}: ${object.kind} ${object.metadata?.name === undefined ? '(no metadata.name)' : `"${object.metadata.name}"`}`;
}

/** Objects without a metadata.name, or with one Kubernetes rejects. */
export function nameProblems(files: ManifestFile[]): string[] {
  const problems: string[] = [];
  for (const { file, objects } of files) {
    const parsed: readonly ParsedManifest[] = objects;
    for (const object of parsed) {
      const name = object.metadata?.name;
      if (typeof name !== 'string' || name === '') {
        problems.push(`${objectRef(file, object)} has no metadata.name`);
      } else if (LABEL_NAMED_KINDS.has(object.kind)) {
        if (name.length > 63 || !DNS_1123_LABEL.test(name))
          problems.push(
            `${objectRef(file, object)}: the name is not a DNS-1123 label (at most 63 of a-z 0-9 -, alphanumeric at both ends)`,
          );
      } else if (name.length > 253 || !DNS_1123_SUBDOMAIN.test(name)) {
        problems.push(`${objectRef(file, object)}: the name is not a DNS-1123 subdomain`);
      }
    }
  }
  return problems;
}

/** Two objects of one kind (and namespace) with one name in a file: applying it would keep only the last. */
export function duplicateNameProblems(files: ManifestFile[]): string[] {
  const problems: string[] = [];
  for (const { file, objects } of files) {
    const seen = new Set<string>();
    const parsed: readonly ParsedManifest[] = objects;
    for (const object of parsed) {
      if (typeof object.metadata?.name !== 'string') continue;
      const key = `${object.kind}/${String(object.metadata.namespace ?? '')}/${object.metadata.name}`;
      if (seen.has(key)) problems.push(`${objectRef(file, object)} appears twice`);
      seen.add(key);
    }
  }
  return problems;
}

function envValue(job: Manifest, name: string): string | undefined {
  return containerEnv(job).byName[name]?.value;
}

/**
 * Coarse worker Jobs (`WORKER_MODE=single`) whose `completions` differs from the number of items the
 * seeder of the same queue and broker puts on it, anywhere in the output.
 */
export function completionsProblems(files: ManifestFile[]): string[] {
  const all = files.flatMap(({ file, objects }) => objects.map((object) => ({ file, object })));
  const jobs = all.filter(({ object }) => object.kind === 'Job');
  const configMaps = all.filter(({ object }) => object.kind === 'ConfigMap').map(({ object }) => object);
  const seeders = jobs.filter(({ object }) => podSpec(object).containers[0].args?.[0] === 'seed');
  const sameTarget = (a: Manifest, b: Manifest) =>
    envValue(a, Env.queue) === envValue(b, Env.queue) &&
    JSON.stringify(containerEnv(a).byName[Env.brokerUrl]) === JSON.stringify(containerEnv(b).byName[Env.brokerUrl]);

  const problems: string[] = [];
  for (const { file, object: job } of jobs.filter(({ object }) => envValue(object, Env.workerMode) === 'single')) {
    const queue = envValue(job, Env.queue);
    const own = seeders.filter(({ object }) => sameTarget(object, job));
    if (own.length !== 1) {
      problems.push(
        `${objectRef(file, job)}: expected one seeding Job of queue "${String(queue)}" on the same broker in the output, found ${own.length}`,
      );
      continue;
    }
    const items = mountedItems(own[0].object, configMaps);
    if (typeof items === 'string') {
      problems.push(`${objectRef(own[0].file, own[0].object)} ${items}`);
    } else if (job.spec?.completions !== items.length) {
      problems.push(
        `${objectRef(file, job)}: spec.completions is ${String(job.spec?.completions)}, but its seeder puts ${items.length} items on queue "${String(queue)}"`,
      );
    }
  }
  return problems;
}
