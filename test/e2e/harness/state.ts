import { readFileSync, writeFileSync } from 'fs';

/** What the global setup prepares once for all scenario files. */
export interface E2eState {
  /** The worker image as pushed: `127.0.0.1:5000/...@sha256:...`. */
  readonly image: string;
  /** Where `npm run synth` wrote the manifests of both tutorials. */
  readonly outdir: string;
  /** Where the pods' volumes are prepared. */
  readonly workDirectory: string;
  /** The simulated work per item the stacks were synthesized with. */
  readonly workSeconds: number;
}

const STATE_FILE_ENV = 'WORK_QUEUE_E2E_STATE_FILE';

export function writeState(file: string, state: E2eState): void {
  writeFileSync(file, JSON.stringify(state, null, 2));
  process.env[STATE_FILE_ENV] = file;
}

export function readState(): E2eState {
  const file = process.env[STATE_FILE_ENV];
  if (!file)
    throw new Error(
      `${STATE_FILE_ENV} is unset: run the scenarios with \`npm run test:e2e\`, whose global setup builds the image and synthesizes the stacks`,
    );
  return JSON.parse(readFileSync(file, 'utf8')) as E2eState;
}

export function stateFile(): string | undefined {
  return process.env[STATE_FILE_ENV];
}
