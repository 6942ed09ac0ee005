/**
 * Builds the worker image ahead of `npm run test:e2e`, whose global setup then finds every layer
 * in Docker's cache: `.ci/run` starts this (after `.ci/start-docker`) while `npm test` runs.
 *   npx ts-node --transpile-only test/e2e/prebuild-image.ts
 */
import { join, resolve } from 'path';
import { ensureBaseImages } from './harness/base-image';
import { buildWorkerImage } from './harness/image';
import { asError } from './harness/caught';

const ROOT = resolve(__dirname, '..', '..');

async function prebuild(): Promise<void> {
  await ensureBaseImages(join(ROOT, 'worker', 'Dockerfile'));
  await buildWorkerImage(ROOT);
}

prebuild().catch((error: unknown) => {
  console.error(`prebuild-image: ${asError(error).message}`);
  process.exit(1);
});
