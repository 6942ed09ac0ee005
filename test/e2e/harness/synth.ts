import { mustRun } from './run';

/** Runs the product's own `npm run synth` (the cdk8s app of both tutorials) into `outdir`. */
export async function synthesize(root: string, outdir: string, env: { WORKER_IMAGE: string; WORK_SECONDS: string }): Promise<void> {
  await mustRun('npm', ['run', '--silent', 'synth', '--', '--output', outdir], { cwd: root, env: { ...process.env, ...env } });
}
