import { Env, ExitCode } from '../../contract';
import { CliError } from '../errors';
import { thrownField } from '../thrown';
import { describeCause } from '../unreachable';
import type { ApiResponse } from './api-request';

/** What a request was for, in the terms of an RBAC rule: the verb, and the object when the rule can name it. */
export interface ApiCall {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  /** The RBAC verb the call needs: `get`, `create`. */
  readonly verb: string;
  readonly namespace: string;
  /** The Secret, for a rule that can name it (`resourceNames`); RBAC cannot narrow `create` by name. */
  readonly resourceName?: string;
}

/** The reason and message of a Kubernetes `Status` body, or the start of whatever else it was. */
export function statusText(response: ApiResponse): string {
  const status = response.body as { kind?: unknown; reason?: unknown; message?: unknown } | undefined;
  if (status && typeof status === 'object' && status.kind === 'Status')
    return `${textOf(status.reason)}: ${textOf(status.message)}`;
  const text = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}

function textOf(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? '');
}

/** The `reason` of a Kubernetes `Status` body (`AlreadyExists`, `NotFound`, `Forbidden`). */
export function statusReason(response: ApiResponse): string | undefined {
  const reason = (response.body as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' ? reason : undefined;
}

/** 403: the one line that says which rule the service account's Role lacks. */
export function forbidden(call: ApiCall, serviceAccount: string | undefined, response: ApiResponse): CliError {
  const names = call.resourceName ? `, resourceNames: ["${call.resourceName}"]` : '';
  return new CliError(
    `${call.method} ${call.path}: ${accountName(serviceAccount)} may not ${call.verb} secrets in namespace ${call.namespace} (403 ${statusText(response)}); ` +
      `its Role needs the rule {apiGroups: [""], resources: ["secrets"], verbs: ["${call.verb}"]${names}}, bound to it by a RoleBinding`,
    ExitCode.failed,
  );
}

/** 401: the token itself was not accepted, so no rule can help. */
export function unauthorized(
  call: ApiCall,
  serviceAccount: string | undefined,
  tokenFile: string,
  response: ApiResponse,
): CliError {
  return new CliError(
    `${call.method} ${call.path}: the API server did not accept the token of ${accountName(serviceAccount)} in ${tokenFile} (401 ${statusText(response)}); ` +
      `it needs a valid token to ${call.verb} secrets: is the service account deleted, or the token expired?`,
    ExitCode.failed,
  );
}

/** Any other answer that is neither the one expected nor transient. */
export function unexpectedAnswer(call: ApiCall, response: ApiResponse): CliError {
  return new CliError(
    `${call.method} ${call.path}: the Kubernetes API answered ${response.status} (${statusText(response)})`,
    ExitCode.failed,
  );
}

/** The API server was not reached, or kept failing, for BROKER_RETRY_SECONDS (exit 3). */
export function apiUnreachable(server: string, call: ApiCall, retrySeconds: number, last: unknown): CliError {
  return new CliError(
    `the Kubernetes API at ${server} did not answer ${call.method} ${call.path} within ${retrySeconds} s (${Env.brokerRetrySeconds}): ${describeLast(last)}`,
    ExitCode.brokerUnreachable,
  );
}

/** A failure that waiting cannot cure, such as a certificate the cluster's CA did not sign (exit 3 at once). */
export function apiRefused(server: string, call: ApiCall, caFile: string, error: unknown): CliError {
  const code = thrownField(error, 'code');
  const tls =
    typeof code === 'string' && /CERT|TLS|SSL|VERIFY|ISSUER/.test(code)
      ? ` (the server's certificate is verified with ${caFile})`
      : '';
  return new CliError(
    `the Kubernetes API at ${server} could not be used for ${call.method} ${call.path}: ${describeCause(error)}${tls}`,
    ExitCode.brokerUnreachable,
  );
}

/** The last transient failure: an error, or an answer such as 503 or 429. */
export function describeLast(last: unknown): string {
  const response = last as ApiResponse | undefined;
  return typeof response?.status === 'number'
    ? `it answered ${response.status} (${statusText(response)})`
    : describeCause(last);
}

function accountName(serviceAccount: string | undefined): string {
  return serviceAccount ? `service account ${serviceAccount}` : "the pod's service account";
}
