/**
 * Errors of the Kubernetes API as the API server words them, and the `Status` object it answers
 * with (apimachinery's `metav1.Status`: kind Status, status Failure, reason, details, code).
 */
export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string };
  code: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason:
      | 'NotFound'
      | 'AlreadyExists'
      | 'Invalid'
      | 'Forbidden'
      | 'Unauthorized'
      | 'BadRequest'
      | 'MethodNotAllowed'
      | 'InternalError',
    message: string,
    readonly details?: StatusObject['details'],
  ) {
    super(message);
  }

  status(): StatusObject {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** The resource (plural, with its group) that messages name a kind by: `secrets`, `jobs.batch`. */
export function resourceOf(kind: string, apiVersion: string): { resource: string; group: string } {
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  const lower = kind.toLowerCase();
  const resource = lower.endsWith('s') ? `${lower}es` : lower.endsWith('y') ? `${lower.slice(0, -1)}ies` : `${lower}s`;
  return { resource, group };
}

/** `secrets "name" not found`, as the API server says it. */
export function notFound(kind: string, apiVersion: string, name: string): ApiError {
  const { resource, group } = resourceOf(kind, apiVersion);
  const qualified = group ? `${resource}.${group}` : resource;
  return new ApiError(404, 'NotFound', `${qualified} "${name}" not found`, {
    name,
    ...(group ? { group } : {}),
    kind: resource,
  });
}

export function alreadyExists(kind: string, apiVersion: string, name: string): ApiError {
  const { resource, group } = resourceOf(kind, apiVersion);
  const qualified = group ? `${resource}.${group}` : resource;
  return new ApiError(409, 'AlreadyExists', `${qualified} "${name}" already exists`, {
    name,
    ...(group ? { group } : {}),
    kind: resource,
  });
}

/** `The Job "x" is invalid: <field>: <problem>` (422), as a refused update reads. */
export function invalid(kind: string, apiVersion: string, name: string, causes: string[]): ApiError {
  const { group } = resourceOf(kind, apiVersion);
  const joined = causes.length === 1 ? causes[0] : `[${causes.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${joined}`, {
    name,
    ...(group ? { group } : {}),
    kind,
  });
}
