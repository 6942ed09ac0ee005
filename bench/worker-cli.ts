import { join } from 'path';
import { buildWorker } from '../worker/build';
import { timed, type RunResult, type TimedOptions } from './measure';
import { scratch } from './scratch';

let cli: string | undefined;

/** Bundles the worker CLI into the bench's own directory, as the image holds it. */
export async function buildCli(): Promise<void> {
  cli = await buildWorker(join(scratch, 'worker-bundle'));
}

/** Runs `work-queue <args>` with node, as the image does, timed from spawn to exit. */
export function workQueue(args: string[], env: Record<string, string>, options: TimedOptions = {}): Promise<RunResult> {
  if (!cli) throw new Error('the worker CLI is not built yet (buildCli)');
  return timed(process.execPath, [cli, ...args], { ...options, env: { ...process.env, ...env } });
}
