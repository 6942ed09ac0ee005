import { App } from 'cdk8s';
import { checkItems, describeProblem, parseNumber } from '../contract';
import { COARSE_TUTORIAL, FINE_TUTORIAL, INDEXED_EXAMPLE, type WorkQueueStackConfig } from './config';
import { addWorkQueueStack } from './work-queue-stack';

/**
 * The cdk8s app of `npm run synth`: both tutorials, each as broker, seeder and worker Job files,
 * and the indexed example, one file with its Indexed Job and the items' ConfigMaps.
 * Overrides from the environment, each left to the examples when unset or empty:
 * - WORKER_IMAGE: the worker image (default `job-wq:latest`);
 * - WORK_SECONDS: the seconds of simulated work per item (the examples' 10);
 * - ITEMS: a JSON array of strings that replaces all three examples' items (the coarse and the
 *   Indexed Job's completions follow their number);
 * - RUN: the run label of the seeders and the Indexed Job: the same items with another run are
 *   worked off again;
 * - SEED_WAIT_SECONDS: how long workers wait for their seed to complete (default 600; tutorials only);
 * - NAMESPACE: the namespace of every object, whose Namespace object heads each broker file and the indexed file;
 * - AUTOSCALE_MAX_JOBS: replaces each tutorial's worker Job by a KEDA ScaledJob of at most that
 *   many Jobs (which needs NAMESPACE, so that KEDA's operator can name the broker); the Indexed Job stays.
 */
function main(): void {
  const image = process.env.WORKER_IMAGE ?? 'job-wq:latest';
  const workSeconds = numberFromEnv('WORK_SECONDS', 'a number of seconds');
  const seedWaitSeconds = numberFromEnv('SEED_WAIT_SECONDS', 'a number of seconds');
  const maxJobs = numberFromEnv('AUTOSCALE_MAX_JOBS', 'a whole number of Jobs');
  const items = itemsFromEnv('ITEMS');
  const run = process.env.RUN || undefined;
  const namespace = process.env.NAMESPACE?.trim() || undefined;
  // What every pattern takes, and what only the queue tutorials do (they have a seed and a queue to scale on).
  const overrides: Partial<WorkQueueStackConfig> & Pick<WorkQueueStackConfig, 'image'> = {
    image,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(workSeconds !== undefined ? { workSeconds } : {}),
    ...(items !== undefined ? { items } : {}),
    ...(run !== undefined ? { run } : {}),
  };
  const queueOverrides: Partial<WorkQueueStackConfig> = {
    ...(seedWaitSeconds !== undefined ? { seedWaitSeconds } : {}),
    ...(maxJobs !== undefined ? { autoscale: { maxJobs } } : {}),
  };

  const app = new App();
  addWorkQueueStack(app, { ...COARSE_TUTORIAL, ...overrides, ...queueOverrides });
  addWorkQueueStack(app, { ...FINE_TUTORIAL, ...overrides, ...queueOverrides });
  addWorkQueueStack(app, { ...INDEXED_EXAMPLE, ...overrides });
  app.synth();
}

/** A numeric override from the environment: undefined when unset, a one-line error when not a number. */
function numberFromEnv(name: string, expected: string): number | undefined {
  const text = process.env[name];
  const value = parseNumber(text);
  if (Number.isNaN(value)) throw new Error(describeProblem(name, text, expected));
  return value;
}

/** An item list from the environment (a JSON array of strings): undefined when unset, a one-line error naming the first bad part. */
function itemsFromEnv(name: string): string[] | undefined {
  const text = process.env[name];
  if (text === undefined || text.trim() === '') return undefined;
  let items: unknown;
  try {
    items = JSON.parse(text);
  } catch {
    throw new Error(describeProblem(name, text, 'a JSON array of strings, such as ["apple","banana"]'));
  }
  const problem = checkItems(items);
  if (problem !== undefined)
    throw new Error(describeProblem(`${name}${problem.where}`, problem.value, problem.expected));
  return items as string[];
}

try {
  main();
} catch (error) {
  // A configuration error is the user's to fix: one line, no stack trace. stacks/synth.js discards what was written.
  console.error(`synth failed: ${(error as Error).message}`);
  process.exit(1);
}
