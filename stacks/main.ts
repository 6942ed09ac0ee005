import { App } from 'cdk8s';
import { checkItems, describeProblem, parseNumber } from '../worker/contract';
import { COARSE_TUTORIAL, FINE_TUTORIAL, WorkQueueStackConfig } from './config';
import { addWorkQueueStack } from './work-queue-stack';

/**
 * The cdk8s app of `npm run synth`: both tutorials, each as broker, seeder and worker Job files.
 * Overrides from the environment, each left to the tutorials when unset or empty:
 * - WORKER_IMAGE: the worker image (default `job-wq:latest`);
 * - WORK_SECONDS: the seconds of simulated work per item (the tutorials' 10);
 * - ITEMS: a JSON array of strings that replaces both tutorials' items (the coarse Job's
 *   completions follows their number);
 * - RUN: the seeders' run label: the same items with another run are seeded and worked off again;
 * - SEED_WAIT_SECONDS: how long workers wait for their seed to complete (default 600);
 * - NAMESPACE: the namespace of every object, whose Namespace object heads each broker file;
 * - AUTOSCALE_MAX_JOBS: replaces each worker Job by a KEDA ScaledJob of at most that many Jobs
 *   (which needs NAMESPACE, so that KEDA's operator can name the broker).
 */
function main(): void {
  const image = process.env.WORKER_IMAGE ?? 'job-wq:latest';
  const workSeconds = numberFromEnv('WORK_SECONDS', 'a number of seconds');
  const seedWaitSeconds = numberFromEnv('SEED_WAIT_SECONDS', 'a number of seconds');
  const maxJobs = numberFromEnv('AUTOSCALE_MAX_JOBS', 'a whole number of Jobs');
  const items = itemsFromEnv('ITEMS');
  const run = process.env.RUN || undefined;
  const namespace = process.env.NAMESPACE?.trim() || undefined;
  const overrides: Partial<WorkQueueStackConfig> & Pick<WorkQueueStackConfig, 'image'> = {
    image,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(workSeconds !== undefined ? { workSeconds } : {}),
    ...(seedWaitSeconds !== undefined ? { seedWaitSeconds } : {}),
    ...(items !== undefined ? { items } : {}),
    ...(run !== undefined ? { run } : {}),
    ...(maxJobs !== undefined ? { autoscale: { maxJobs } } : {}),
  };

  const app = new App();
  addWorkQueueStack(app, { ...COARSE_TUTORIAL, ...overrides });
  addWorkQueueStack(app, { ...FINE_TUTORIAL, ...overrides });
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
  if (problem !== undefined) throw new Error(describeProblem(`${name}${problem.where}`, problem.value, problem.expected));
  return items as string[];
}

try {
  main();
} catch (error) {
  // A configuration error is the user's to fix: one line, no stack trace. stacks/synth.js discards what was written.
  console.error(`synth failed: ${(error as Error).message}`);
  process.exit(1);
}
