/**
 * A Kubernetes API server on 127.0.0.1, over HTTPS with a certificate of the cluster CA, backed by
 * an ObjectStore, for what pods ask of it (the credentials Job's `work-queue credentials`):
 * GET and POST of Secrets, answered as the real API answers them (200 with the object, 201 with
 * the created object, 404 NotFound, 409 AlreadyExists, 400 BadRequest, in `Status` objects).
 * Authentication: bearer tokens the harness issued for a ServiceAccount (as the kubelet's projected
 * token), 401 otherwise or once the ServiceAccount is gone. Authorization: RBAC (rbac.ts) on every
 * request, before the object is looked at, 403 Forbidden otherwise. A request that RBAC allows but
 * this server does not serve gets 405 and is recorded in `unserved`, so a test sees it.
 */
import { randomBytes } from 'crypto';
import { createServer, type Server } from 'https';
import type { IncomingMessage, ServerResponse } from 'http';
import type { AddressInfo } from 'net';
import type { ApiCertificate } from './api-certificate';
import { ApiError, notFound } from './api-status';
import type { KubeObject } from './manifests';
import type { ObjectStore } from './object-store';
import { allows, type ResourceRequest, serviceAccountUserName, type ServiceAccountUser } from './rbac';
import { asError } from './caught';

export interface ApiRequestRecord {
  readonly method: string;
  readonly path: string;
  /** The authenticated user, `system:serviceaccount:<ns>:<name>`, or undefined (401). */
  readonly user?: string;
  readonly code: number;
}

const VERBS: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };
const MAX_BODY_BYTES = 3 * 1024 * 1024; // the API server's request size limit

export class FakeApiServer {
  readonly requests: ApiRequestRecord[] = [];
  readonly unserved: ApiRequestRecord[] = [];
  private readonly tokens = new Map<string, ServiceAccountUser>();
  private server?: Server;

  constructor(
    private readonly store: ObjectStore,
    private readonly certificate: ApiCertificate,
  ) {}

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  async start(): Promise<void> {
    this.server = createServer({ key: this.certificate.key, cert: this.certificate.cert }, (request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        reply(response, 500, new ApiError(500, 'InternalError', asError(error).message).status());
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /**
   * A token of the ServiceAccount, as the kubelet gets one for a pod's projected volume: shaped as
   * a bound token (a JWT whose `sub` names the ServiceAccount), signed by nothing anyone checks.
   */
  issueToken(user: ServiceAccountUser): string {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: 'https://kubernetes.default.svc.cluster.local',
      sub: serviceAccountUserName(user),
      aud: ['https://kubernetes.default.svc.cluster.local'],
      iat: now,
      exp: now + 3607,
    };
    const token = `${part({ alg: 'RS256', kid: 'fake' })}.${part(claims)}.${randomBytes(32).toString('base64url')}`;
    this.tokens.set(token, user);
    return token;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const path = new URL(request.url ?? '/', 'https://127.0.0.1').pathname;
    const body = await readBody(request);
    const user = this.authenticate(request.headers.authorization);
    const answer = (code: number, payload: unknown) => {
      const record = { method, path, user: user && serviceAccountUserName(user), code };
      this.requests.push(record);
      if (code === 405) this.unserved.push(record);
      reply(response, code, payload);
    };
    if (!user) {
      answer(401, new ApiError(401, 'Unauthorized', 'Unauthorized').status());
      return;
    }

    const target = parseResourcePath(path);
    if (!target) {
      answer(404, new ApiError(404, 'NotFound', 'the server could not find the requested resource').status());
      return;
    }
    const verb = VERBS[method] ?? (target.name ? 'get' : 'list');
    const rbacRequest: ResourceRequest = {
      verb,
      apiGroup: target.group,
      resource: target.resource,
      namespace: target.namespace,
      name: target.name,
    };
    if (!allows((kind) => this.store.list(kind), user, rbacRequest)) {
      answer(403, forbidden(user, rbacRequest).status());
      return;
    }

    try {
      if (target.group === '' && target.resource === 'secrets' && verb === 'get') {
        answer(200, this.getSecret(target.namespace, target.name!));
        return;
      }
      if (target.group === '' && target.resource === 'secrets' && verb === 'create' && !target.name) {
        answer(201, this.createSecret(target.namespace, body));
        return;
      }
    } catch (error) {
      if (error instanceof ApiError) {
        answer(error.code, error.status());
        return;
      }
      throw error;
    }
    answer(405, new ApiError(405, 'MethodNotAllowed', `the fake API server does not serve ${method} ${path}`).status());
  }

  private authenticate(header: string | undefined): ServiceAccountUser | undefined {
    const token = /^Bearer (\S+)$/.exec(header ?? '')?.[1];
    const user = token === undefined ? undefined : this.tokens.get(token);
    // A bound token stops being valid once its ServiceAccount is deleted.
    return user && this.store.get('ServiceAccount', user.namespace, user.name) ? user : undefined;
  }

  private getSecret(namespace: string, name: string): KubeObject {
    const secret = this.store.get('Secret', namespace, name);
    if (!secret) throw notFound('Secret', 'v1', name);
    return secret;
  }

  private createSecret(namespace: string, body: string): KubeObject {
    let object: KubeObject | null;
    try {
      object = JSON.parse(body) as KubeObject | null;
    } catch (error) {
      throw new ApiError(
        400,
        'BadRequest',
        `the body of the request was in an unknown format: ${(error as Error).message}`,
      );
    }
    if (object?.kind !== 'Secret' || object.apiVersion !== 'v1') {
      throw new ApiError(
        400,
        'BadRequest',
        `the API version in the data (${String(object?.apiVersion)}) and kind (${String(object?.kind)}) do not match the request (v1 Secret)`,
      );
    }
    if (object.metadata?.namespace !== undefined && object.metadata.namespace !== namespace) {
      throw new ApiError(
        400,
        'BadRequest',
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    for (const [key, value] of Object.entries((object.data as Record<string, unknown> | undefined) ?? {})) {
      if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
        throw new ApiError(
          400,
          'BadRequest',
          `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at key ${JSON.stringify(key)}`,
        );
      }
    }
    return this.store.create({ ...object, metadata: { ...object.metadata, namespace } });
  }
}

/** `/api/v1/namespaces/{ns}/{resource}[/{name}]` or `/apis/{group}/{version}/namespaces/{ns}/{resource}[/{name}]`. */
export function parseResourcePath(
  path: string,
): { group: string; namespace: string; resource: string; name?: string } | undefined {
  const match = /^\/(?:api\/v1|apis\/([^/]+)\/[^/]+)\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?\/?$/.exec(path);
  if (!match) return undefined;
  return {
    group: match.at(1) ?? '',
    namespace: decodeURIComponent(match[2]),
    resource: match[3],
    ...(match[4] ? { name: decodeURIComponent(match[4]) } : {}),
  };
}

/** `secrets "x" is forbidden: User "system:serviceaccount:ns:sa" cannot get resource "secrets" in API group "" in the namespace "ns"`. */
export function forbidden(user: ServiceAccountUser, request: ResourceRequest): ApiError {
  const subject = request.name ? `${request.resource} "${request.name}"` : request.resource;
  return new ApiError(
    403,
    'Forbidden',
    `${subject} is forbidden: User "${serviceAccountUserName(user)}" cannot ${request.verb} resource "${request.resource}" in API group "${request.apiGroup}" in the namespace "${request.namespace}"`,
    {
      ...(request.name ? { name: request.name } : {}),
      ...(request.apiGroup ? { group: request.apiGroup } : {}),
      kind: request.resource,
    },
  );
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

function reply(response: ServerResponse, code: number, payload: unknown): void {
  response.writeHead(code, { 'content-type': 'application/json' });
  response.end(JSON.stringify(payload));
}
