import { join } from 'path';
import { timed, type RunResult, type TimedOptions } from './measure';
import { scratch } from './scratch';

let cli: string | undefined;

/** Bundles the worker CLI into the bench's own directory, as the image holds it. */
export async function buildCli(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- worker/build.js is a CommonJS script without types: required, and typed here
  const { buildWorker } = require('../worker/build') as { buildWorker: (into: string) => Promise<string> };
  cli = await buildWorker(join(scratch, 'worker-bundle'));
}

/** Runs `work-queue <args>` with node, as the image does, timed from spawn to exit. */
export function workQueue(args: string[], env: Record<string, string>, options: TimedOptions = {}): Promise<RunResult> {
  if (!cli) throw new Error('the worker CLI is not built yet (buildCli)');
  return timed(process.execPath, [cli, ...args], { ...options, env: { ...process.env, ...env } });
}
