import { mustRun } from './run';

export interface SynthEnv {
  WORKER_IMAGE: string;
  WORK_SECONDS: string;
  /** Set: a KEDA ScaledJob of at most that many Jobs in place of each worker Job. */
  AUTOSCALE_MAX_JOBS?: string;
  /** The namespace of every object (the autoscaled stacks name their broker with it). */
  NAMESPACE?: string;
  /** A JSON array of strings: the items of both tutorials and of the indexed example. */
  ITEMS?: string;
  /** The run label of the seeders (SEED_RUN) and of the Indexed Job. */
  RUN?: string;
  /** How long worker pods wait for their seed. */
  SEED_WAIT_SECONDS?: string;
}

/** Runs the product's own `npm run synth` (the cdk8s app of both tutorials and the indexed example) into `outdir`. */
export async function synthesize(root: string, outdir: string, env: SynthEnv): Promise<void> {
  await mustRun('npm', ['run', '--silent', 'synth', '--', '--output', outdir], {
    cwd: root,
    env: { ...process.env, ...env },
  });
}
