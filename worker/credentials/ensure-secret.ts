import { ExitCode, type GeneratedSecret } from '../../contract';
import { CliError } from '../errors';
import { type ApiCall, statusReason, unexpectedAnswer } from './api-errors';
import type { ApiResponse } from './api-request';
import type { KubeApi } from './kube-api';
import { newSecret } from './new-secret';

/** What became of a Secret: created now, found, or found after losing the race to create it. */
export type SecretOutcome = 'created' | 'present' | 'created-by-another';

/**
 * Creates the Secret when it is missing and never changes one that exists: GET it; 404 -> POST it;
 * 409 AlreadyExists on the POST (another pod created it meanwhile) -> GET it again. A Secret that
 * exists must hold every key of `values` and `generate`, whatever their values.
 */
export async function ensureSecret(api: KubeApi, secret: GeneratedSecret): Promise<SecretOutcome> {
  const namespace = api.namespace;
  const collection = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`;
  const get: ApiCall = {
    method: 'GET',
    path: `${collection}/${encodeURIComponent(secret.name)}`,
    verb: 'get',
    namespace,
    resourceName: secret.name,
  };
  const found = await api.call(get);
  if (found.status === 200) return checked(secret, namespace, found, 'present');
  if (found.status !== 404) throw unexpectedAnswer(get, found);
  const create: ApiCall = { method: 'POST', path: collection, verb: 'create', namespace };
  const created = await api.call(create, newSecret(secret, namespace));
  if (created.status === 201 || created.status === 200) return 'created';
  if (created.status !== 409 || statusReason(created) !== 'AlreadyExists') throw unexpectedAnswer(create, created);
  const raced = await api.call(get);
  if (raced.status !== 200) throw unexpectedAnswer(get, raced);
  return checked(secret, namespace, raced, 'created-by-another');
}

function checked(
  secret: GeneratedSecret,
  namespace: string,
  response: ApiResponse,
  outcome: SecretOutcome,
): SecretOutcome {
  const data = (response.body as { data?: Record<string, unknown> } | undefined)?.data ?? {};
  const missing = [...Object.keys(secret.values ?? {}), ...secret.generate].filter((key) => !Object.hasOwn(data, key));
  if (missing.length > 0) {
    throw new CliError(
      `Secret ${secret.name} in namespace ${namespace} exists without the keys ${missing.join(', ')}; it was left unchanged: ` +
        `add them to it, or delete it so that a next run creates it (a broker that already started keeps its old credentials)`,
      ExitCode.failed,
    );
  }
  return outcome;
}
