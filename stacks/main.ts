import { App } from 'cdk8s';
import { describeProblem, parseNumber } from '../worker/contract';
import { COARSE_TUTORIAL, FINE_TUTORIAL } from './config';
import { addWorkQueueStack } from './work-queue-stack';

/**
 * The cdk8s app of `npm run synth`: both tutorials, each as broker, seeder and worker Job files.
 * WORKER_IMAGE picks the worker image (default `job-wq:latest`); WORK_SECONDS, if set, overrides
 * the tutorials' 10 seconds of simulated work per item; AUTOSCALE_MAX_JOBS, if set, replaces each
 * worker Job by a KEDA ScaledJob of at most that many Jobs (which needs NAMESPACE, the namespace of
 * every object, so that KEDA's operator can name the broker).
 */
function main(): void {
  const image = process.env.WORKER_IMAGE ?? 'job-wq:latest';
  const workSeconds = numberFromEnv('WORK_SECONDS', 'a number of seconds');
  const maxJobs = numberFromEnv('AUTOSCALE_MAX_JOBS', 'a whole number of Jobs');
  const namespace = process.env.NAMESPACE?.trim() || undefined;
  const overrides = {
    image,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(workSeconds !== undefined ? { workSeconds } : {}),
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

try {
  main();
} catch (error) {
  // A configuration error is the user's to fix: one line, no stack trace. Nothing has been written.
  console.error(`synth failed: ${(error as Error).message}`);
  process.exit(1);
}
