/**
 * Once per `npm run test:e2e`: the brokers of every generation the run uses (broker-generation.ts),
 * a Docker engine and registry, the worker image built from worker/Dockerfile and pushed, and both
 * tutorial stacks synthesized to run that pushed image.
 */
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { ensureBaseImages } from './harness/base-image';
import { generationsOfRun } from './harness/broker-generation';
import { requireBrokers } from './harness/brokers';
import { removeLeftoverContainers, requireEngine } from './harness/docker';
import { buildWorkerImage, pushWorkerImage, requireRegistry } from './harness/image';
import { mustRun } from './harness/run';
import { writeState } from './harness/state';
import { synthesize } from './harness/synth';

const ROOT = resolve(__dirname, '..', '..');
/** Enough to kill a pod in the middle of an item, short enough to keep the suite quick. */
const WORK_SECONDS = 3;

export default async function globalSetup(): Promise<void> {
  const generations = generationsOfRun();
  await requireBrokers(generations);
  console.log(`e2e: broker generations ${generations.map((generation) => generation.description).join('; ')}`);
  await timed('Docker engine and registry', () => mustRun('bash', [join(ROOT, '.ci', 'start-docker')], { echo: true }));
  await requireEngine();
  await requireRegistry();
  await removeLeftoverContainers();

  const standIns = await timed('base images', () => ensureBaseImages(join(ROOT, 'worker', 'Dockerfile')));
  if (standIns.length > 0) console.log(`e2e: built offline stand-ins for ${standIns.join(', ')}`);
  await timed('docker build worker/Dockerfile', () => buildWorkerImage(ROOT));
  const image = await timed('docker push', () => pushWorkerImage());

  const directory = mkdtempSync(join(tmpdir(), 'work-queue-e2e-'));
  const outdir = join(directory, 'dist');
  await timed('npm run synth', () =>
    synthesize(ROOT, outdir, { WORKER_IMAGE: image, WORK_SECONDS: String(WORK_SECONDS) }),
  );
  writeState(join(directory, 'state.json'), {
    image,
    outdir,
    workDirectory: join(directory, 'pods'),
    workSeconds: WORK_SECONDS,
  });
  console.log(`e2e: pods run ${image}`);
}

async function timed<T>(what: string, action: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await action();
  console.log(`e2e: ${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}
