import type { Environment } from '../config';
import { ExitCode } from '../../contract';
import { badInput, CliError } from '../errors';
import { ensureSecret, type SecretOutcome } from './ensure-secret';
import { inClusterConfig } from './in-cluster';
import { KubeApi } from './kube-api';
import { readCredentials } from './read-credentials';

export { SERVICE_ACCOUNT_DIR } from './in-cluster';

export interface CredentialsContext {
  readonly env: Environment;
  /** The service account files: SERVICE_ACCOUNT_DIR in a pod. */
  readonly serviceAccountDir: string;
  /** One line per Secret (stdout). */
  readonly print: (line: string) => void;
  /** Progress while the API is retried (stderr). */
  readonly log: (line: string) => void;
}

const SAID: Record<SecretOutcome, string> = {
  created: 'created',
  present: 'already present, left unchanged',
  'created-by-another': 'already present (another pod created it just now), left unchanged',
};

/** `work-queue credentials`: creates each Secret of CREDENTIALS that is missing in the pod's namespace, in order. */
export async function credentials({ env, serviceAccountDir, print, log }: CredentialsContext): Promise<number> {
  const [input, config] = everyProblemAtOnce(
    () => readCredentials(env),
    () => inClusterConfig(env, serviceAccountDir),
  );
  const { secrets, retrySeconds } = input;
  const api = new KubeApi(config, { retrySeconds, log });
  for (const secret of secrets) {
    const outcome = await ensureSecret(api, secret);
    print(`Secret ${secret.name} in namespace ${api.namespace}: ${SAID[outcome]}`);
  }
  return ExitCode.ok;
}

/** Runs both readers and reports the bad input of both in one exit 2, not one reader's at a time. */
function everyProblemAtOnce<A, B>(first: () => A, second: () => B): [A, B] {
  const problems: string[] = [];
  const attempt = <T>(read: () => T): { readonly value: T } | undefined => {
    try {
      return { value: read() };
    } catch (error) {
      if (!(error instanceof CliError) || error.exitCode !== ExitCode.badInput) throw error;
      problems.push(error.message);
      return undefined;
    }
  };
  const a = attempt(first);
  const b = attempt(second);
  if (!a || !b) throw badInput(problems);
  return [a.value, b.value];
}
