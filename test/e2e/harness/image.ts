import { join } from 'path';
import { docker, imageExists, mustDocker } from './docker';
import { asError } from './caught';

export const REGISTRY = '127.0.0.1:5000';
const REPOSITORY_PATH = 'work-queue-stack/worker';
export const REPOSITORY = `${REGISTRY}/${REPOSITORY_PATH}`;
/** The build's local name; the registry's name of the image is only ever got by pushing or pulling. */
const LOCAL_TAG = `${REPOSITORY_PATH}:e2e`;
const PUSH_TAG = `${REPOSITORY}:e2e`;

export async function requireRegistry(): Promise<void> {
  const response = await fetch(`http://${REGISTRY}/v2/`).catch(asError);
  if (response instanceof Error || response.status !== 200) {
    const why = response instanceof Error ? response.message : `HTTP ${response.status}`;
    throw new Error(
      `The e2e tests need an image registry on ${REGISTRY} (${why}). Run \`bash .ci/start-docker\` (as root).`,
    );
  }
}

/**
 * Builds worker/Dockerfile with the repository root as context, with BuildKit (the default builder
 * of current Docker releases; on the vfs storage driver it is also several times faster than the
 * legacy builder). Its cache makes a rebuild quick.
 */
export async function buildWorkerImage(root: string): Promise<void> {
  // Debian's docker.io client needs the separate buildx component for BuildKit; without it, the legacy builder (the Dockerfile needs nothing more).
  const buildKit = (await docker(['buildx', 'version'])).code === 0;
  if (!buildKit) console.log('e2e: docker buildx is missing: building with the legacy builder (DOCKER_BUILDKIT=0)');
  const args = [
    'build',
    '--network',
    'host',
    ...(buildKit ? ['--progress', 'plain'] : []),
    '--file',
    join(root, 'worker', 'Dockerfile'),
    '--tag',
    LOCAL_TAG,
    root,
  ];
  await mustDocker(args, { echo: true, env: { ...process.env, DOCKER_BUILDKIT: buildKit ? '1' : '0' } });
}

/**
 * Pushes the built image and returns its digest reference. The local registry-named references are
 * dropped afterwards, so the first pod that runs the reference pulls its manifest from the registry.
 */
export async function pushWorkerImage(): Promise<string> {
  await mustDocker(['tag', LOCAL_TAG, PUSH_TAG]);
  const output = await mustDocker(['push', PUSH_TAG]);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(output)?.[1];
  if (!digest) throw new Error(`docker push ${PUSH_TAG} reported no digest:\n${output}`);
  await requireManifest(digest, (await mustDocker(['image', 'inspect', '--format', '{{.Id}}', LOCAL_TAG])).trim());
  await dropRegistryReferences();
  const reference = `${REPOSITORY}@${digest}`;
  if (await imageExists(reference))
    throw new Error(`${reference} is still present locally after untagging; the pods would not pull it`);
  return reference;
}

/** Removes every local reference to the registry's repository, this run's and those earlier runs left. */
async function dropRegistryReferences(): Promise<void> {
  const listing = await mustDocker(['images', '--digests', '--format', '{{.Tag}} {{.Digest}}', REPOSITORY]);
  const references = listing
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      const [tag, digest] = line.split(' ');
      return [
        ...(tag !== '<none>' ? [`${REPOSITORY}:${tag}`] : []),
        ...(digest !== '<none>' ? [`${REPOSITORY}@${digest}`] : []),
      ];
    });
  for (const reference of references) {
    // Untagging an image's last tag in a repository drops its digest references there too.
    const result = await docker(['rmi', reference]);
    if (result.code !== 0 && !/No such image/.test(result.stderr))
      throw new Error(`docker rmi ${reference}: ${result.stderr.trim()}`);
  }
}

/** Checks, through the registry's HTTP API, that it serves the manifest and that it describes the image built. */
async function requireManifest(digest: string, imageId: string): Promise<void> {
  const response = await fetch(`http://${REGISTRY}/v2/${REPOSITORY_PATH}/manifests/${digest}`, {
    headers: {
      Accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
    },
  });
  if (response.status !== 200)
    throw new Error(`the registry does not serve ${REPOSITORY}@${digest}: HTTP ${response.status}`);
  const manifest = (await response.json()) as { config?: { digest?: string } };
  if (manifest.config?.digest !== imageId) {
    throw new Error(
      `the registry's ${REPOSITORY}@${digest} describes image ${String(manifest.config?.digest)}, not the one built (${imageId})`,
    );
  }
}
