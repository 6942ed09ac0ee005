// Runs the cdk8s app (stacks/main.ts) with plain Node.js: `npm run synth`, and the `app` that
// `cdk8s synth` starts through cdk8s.yaml.
//
//   node stacks/synth.js [--output <dir>]
//
// The output directory is --output (-o), else CDK8S_OUTDIR (which `cdk8s synth` sets), else
// cdk8s.yaml's `output`. The app writes into a new directory beside it, in a process of its own,
// and only a synth that succeeded replaces the output directory with it, whole: no stale file
// survives, and a synth that fails (a bad override) or is interrupted (SIGINT, SIGTERM, SIGHUP)
// leaves the previous output as it was and removes its own.
//
// The TypeScript is bundled by esbuild without type-checking (that is `npm run typecheck`'s job)
// into node_modules/.cache, and rebuilt only when one of the bundled files' contents changed.
// Packages stay external, so cdk8s, cdk8s-plus-28 and constructs are loaded from node_modules once
// and their `instanceof` checks and singletons hold.
const { spawn } = require('node:child_process');
const { createHash, randomBytes } = require('node:crypto');
const fs = require('node:fs');
const { constants } = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const entry = path.join(__dirname, 'main.ts');
const cacheDir = path.join(root, 'node_modules', '.cache', 'work-queue-stack-synth');
const bundle = path.join(cacheDir, 'main.js');
const stampFile = path.join(cacheDir, 'inputs.json');

/** The SHA-256 of each file, by its path relative to the root. */
function hashes(files) {
  const sha256 = (contents) => createHash('sha256').update(contents).digest('hex');
  return Object.fromEntries(files.map((file) => [file, sha256(fs.readFileSync(path.join(root, file)))]));
}

/** Whether the bundle was built from the files as they are now (this one and tsconfig.json included: they hold the build options). */
function bundleIsCurrent() {
  try {
    const built = JSON.parse(fs.readFileSync(stampFile, 'utf8'));
    const now = hashes(Object.keys(built));
    return fs.existsSync(bundle) && Object.keys(built).every((file) => now[file] === built[file]);
  } catch {
    return false; // never built, or a source was removed or renamed
  }
}

/** Writes `contents` to `file` through a temporary file, so that a concurrent synth never reads half a file. */
function writeAtomically(file, contents) {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, contents);
  fs.renameSync(temporary, file);
}

function buildBundle() {
  const esbuild = require('esbuild');
  const result = esbuild.buildSync({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    packages: 'external',
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: bundle,
    write: false,
    metafile: true,
    logLevel: 'error',
  });
  fs.mkdirSync(cacheDir, { recursive: true });
  writeAtomically(bundle, result.outputFiles[0].contents);
  const sources = [path.relative(root, __filename), 'tsconfig.json', ...Object.keys(result.metafile.inputs)];
  writeAtomically(stampFile, JSON.stringify(hashes(sources), null, 2));
}

/** cdk8s.yaml's `output`: its top-level keys are plain `key: value` lines. */
function configuredOutput() {
  const match = /^output:\s*(\S+)\s*$/m.exec(fs.readFileSync(path.join(root, 'cdk8s.yaml'), 'utf8'));
  return match ? match[1] : 'dist';
}

/** The directory of `--output <dir>`, `--output=<dir>` or `-o <dir>`, if given. */
function outputArgument(args) {
  let outdir;
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split(/=(.*)/s);
    if (flag !== '--output' && flag !== '-o')
      throw new Error(`unknown argument ${args[i]}; usage: node stacks/synth.js [--output <dir>]`);
    outdir = inline ?? args[++i];
    if (!outdir) throw new Error(`${flag} needs a directory`);
  }
  return outdir;
}

/** The signals that end a synth early: the terminal's Ctrl-C, `kill`, a closed terminal. */
const INTERRUPTS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs the app with its output in `staging`; resolves to the exit status to end with, 0 when the
 * synth succeeded. An interrupt is passed on to the app and makes the synth fail, even if the app
 * finished after all.
 */
function synthesize(staging) {
  return new Promise((resolve, reject) => {
    const app = spawn(process.execPath, [bundle], { stdio: 'inherit', env: { ...process.env, CDK8S_OUTDIR: staging } });
    let interrupted;
    for (const signal of INTERRUPTS) {
      process.on(signal, () => {
        interrupted ??= signal;
        app.kill(signal);
      });
    }
    app.on('error', reject);
    app.on('exit', (code, signal) => {
      const stoppedBy = interrupted ?? signal;
      // The app printed its own one-line error; an interrupt ends as the shell reports a signal.
      resolve(stoppedBy ? 128 + constants.signals[stoppedBy] : code);
    });
  });
}

/**
 * Puts `staging` in the place of `outdir` with two renames on one filesystem; a failure between
 * them puts the previous output back. Synchronous: an interrupt is handled before or after, never between.
 */
function replaceDirectory(staging, outdir) {
  const previous = `${staging}.previous`;
  let moved = false;
  try {
    fs.renameSync(outdir, previous);
    moved = true;
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  try {
    fs.renameSync(staging, outdir);
  } catch (error) {
    if (moved) fs.renameSync(previous, outdir);
    throw error;
  }
  if (moved) fs.rmSync(previous, { recursive: true, force: true });
}

async function main() {
  const outdir = outputArgument(process.argv.slice(2)) ?? process.env.CDK8S_OUTDIR ?? configuredOutput();
  if (!bundleIsCurrent()) buildBundle();
  const parent = path.dirname(path.resolve(outdir));
  fs.mkdirSync(parent, { recursive: true });
  // Not mkdtemp, whose directory only its owner may read: the output gets the mode of any new directory.
  const staging = path.join(parent, `.${path.basename(outdir)}.synth-${process.pid}-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(staging);
  // Whichever way this process ends, its staging directory goes; once renamed, there is nothing to remove.
  process.on('exit', () => fs.rmSync(staging, { recursive: true, force: true }));
  const status = await synthesize(staging);
  if (status !== 0) return status;
  replaceDirectory(staging, outdir);
  for (const file of fs.readdirSync(outdir).sort()) console.log(`  - ${path.join(outdir, file)}`);
  return 0;
}

main().then(
  (status) => {
    process.exitCode = status;
  },
  (error) => {
    // esbuild has already printed what it could not compile.
    console.error(`synth failed: ${error.message.split('\n')[0]}`);
    process.exitCode = 1;
  },
);
