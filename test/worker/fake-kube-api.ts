import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import path from 'node:path';
import { makeApiCertificate } from '../e2e/harness/api-certificate';

/** A cluster CA and an API server certificate it signed, for 127.0.0.1 and `kubernetes.default.svc`, made by openssl. */
export interface ClusterCertificates {
  /** PEM of the CA: what a pod finds in its service account's `ca.crt`. */
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** The e2e harness's CA and API server certificate (`makeApiCertificate`), as the files it leaves in `dir`. */
export function makeClusterCertificates(dir: string): ClusterCertificates {
  makeApiCertificate(dir);
  const file = (name: string) => path.join(dir, name);
  return { caFile: file('ca.crt'), certFile: file('apiserver.crt'), keyFile: file('apiserver.key') };
}

/** An RBAC PolicyRule, as a Role holds it. */
export interface PolicyRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
}

/** A Secret as the API stores it (`data` base64). */
export interface StoredSecret {
  readonly apiVersion: 'v1';
  readonly kind: 'Secret';
  readonly metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    uid: string;
    resourceVersion: string;
    creationTimestamp: string;
  };
  readonly type: string;
  readonly data: Record<string, string>;
}

export interface RecordedApiRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization?: string;
  readonly body?: unknown;
}

/**
 * What a test makes of a request before the API handles it: `silent` leaves it unanswered (the
 * connection stays open), an answer is sent as it is, undefined lets the API handle it.
 */
export type Intercept = (
  request: RecordedApiRequest,
) => 'silent' | { status: number; body: unknown; headers?: Record<string, string> } | undefined;

/** A service account: its namespace and name, and the token the API accepts for it. */
export interface ServiceAccount {
  readonly namespace: string;
  readonly name: string;
  readonly token: string;
}

/**
 * The part of the Kubernetes API that `work-queue credentials` uses, as the API server answers it:
 * GET /api/v1/namespaces/{ns}/secrets/{name} and POST /api/v1/namespaces/{ns}/secrets, over HTTPS
 * on 127.0.0.1 with a certificate of its own CA, bearer tokens (401 for any other), RBAC rules per
 * service account (403 naming the user, as the authorizer words it), and Status objects for
 * NotFound (404), AlreadyExists (409), Forbidden (403), Unauthorized (401), BadRequest (400).
 */
export class FakeKubeApi {
  readonly requests: RecordedApiRequest[] = [];
  readonly secrets = new Map<string, StoredSecret>();
  /** Set by tests to fail, delay or race a request. */
  intercept?: Intercept;
  private readonly tokens = new Map<string, { account: ServiceAccount; rules?: readonly PolicyRule[] }>();
  private readonly sockets = new Set<Socket>();
  private server?: Server;
  private issued = 0;

  constructor(private readonly certificates: ClusterCertificates) {}

  get port(): number {
    return (this.server!.address() as { port: number }).port;
  }

  async start(): Promise<void> {
    this.server = createServer(
      { key: readFileSync(this.certificates.keyFile), cert: readFileSync(this.certificates.certFile) },
      (req, res) => {
        void this.handle(req, res);
      },
    );
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /**
   * A token for a service account, shaped as a JWT whose `sub` names it (unsigned: this API only
   * looks it up). `rules` are its Role's; without them it may do anything.
   */
  issueToken(namespace: string, name: string, rules?: readonly PolicyRule[]): ServiceAccount {
    this.issued += 1;
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const claims = {
      iss: 'https://kubernetes.default.svc',
      sub: `system:serviceaccount:${namespace}:${name}`,
      jti: String(this.issued),
    };
    const token = `${part({ alg: 'RS256', kid: 'fake' })}.${part(claims)}.${Buffer.from(`signature-${this.issued}`).toString('base64url')}`;
    const account = { namespace, name, token };
    this.tokens.set(token, { account, rules });
    return account;
  }

  /** A token that is no longer accepted (expired, or its service account deleted). */
  revoke(token: string): void {
    this.tokens.delete(token);
  }

  /** Writes the files a pod of this service account finds in /var/run/secrets/kubernetes.io/serviceaccount. */
  writeServiceAccountFiles(dir: string, account: ServiceAccount): void {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'token'), account.token);
    writeFileSync(path.join(dir, 'ca.crt'), readFileSync(this.certificates.caFile));
    writeFileSync(path.join(dir, 'namespace'), account.namespace);
  }

  /** Stores a Secret as if created by someone else; `data` as plain strings. */
  putSecret(namespace: string, name: string, data: Record<string, string>): StoredSecret {
    const encoded = Object.fromEntries(
      Object.entries(data).map(([key, value]) => [key, Buffer.from(value).toString('base64')]),
    );
    return this.store({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace },
      type: 'Opaque',
      data: encoded,
    });
  }

  /** A stored Secret's data, decoded. */
  secretData(namespace: string, name: string): Record<string, string> | undefined {
    const secret = this.secrets.get(`${namespace}/${name}`);
    return (
      secret &&
      Object.fromEntries(
        Object.entries(secret.data).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]),
      )
    );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    const url = new URL(req.url ?? '/', 'https://fake');
    const recorded: RecordedApiRequest = {
      method: req.method ?? '',
      path: url.pathname,
      authorization: req.headers.authorization,
      ...(text !== '' && { body: parse(text) }),
    };
    this.requests.push(recorded);
    const intercepted = this.intercept?.(recorded);
    if (intercepted === 'silent') return;
    if (intercepted) {
      json(res, intercepted.status, intercepted.body, intercepted.headers);
      return;
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const caller = bearer === undefined ? undefined : this.tokens.get(bearer);
    if (!caller) {
      status(res, 401, 'Unauthorized', 'Unauthorized');
      return;
    }
    const one = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(url.pathname);
    const all = /^\/api\/v1\/namespaces\/([^/]+)\/secrets$/.exec(url.pathname);
    if (req.method === 'GET' && one) {
      this.get(res, caller, one[1], one[2]);
      return;
    }
    if (req.method === 'POST' && all) {
      this.create(res, caller, all[1], recorded.body);
      return;
    }
    status(res, 404, 'NotFound', 'the server could not find the requested resource');
  }

  private get(
    res: ServerResponse,
    caller: { account: ServiceAccount; rules?: readonly PolicyRule[] },
    namespace: string,
    name: string,
  ): void {
    if (!allowed(caller.rules, 'get', name)) {
      forbidden(res, caller.account, 'get', namespace, name);
      return;
    }
    const secret = this.secrets.get(`${namespace}/${name}`);
    if (!secret) {
      status(res, 404, 'NotFound', `secrets "${name}" not found`, { name, kind: 'secrets' });
      return;
    }
    json(res, 200, secret);
  }

  private create(
    res: ServerResponse,
    caller: { account: ServiceAccount; rules?: readonly PolicyRule[] },
    namespace: string,
    body: unknown,
  ): void {
    const secret = body as Partial<StoredSecret> | undefined;
    const name = secret?.metadata?.name;
    if (!allowed(caller.rules, 'create', undefined)) {
      forbidden(res, caller.account, 'create', namespace, undefined);
      return;
    }
    if (secret?.apiVersion !== 'v1' || secret.kind !== 'Secret' || typeof name !== 'string') {
      status(res, 400, 'BadRequest', 'the body is not a v1 Secret with metadata.name');
      return;
    }
    if (secret.metadata?.namespace !== undefined && secret.metadata.namespace !== namespace) {
      status(
        res,
        400,
        'BadRequest',
        'the namespace of the provided object does not match the namespace sent on the request',
      );
      return;
    }
    const data = secret.data ?? {};
    if (
      Object.values(data).some(
        (value) => typeof value !== 'string' || Buffer.from(value, 'base64').toString('base64') !== value,
      )
    ) {
      status(res, 400, 'BadRequest', 'Secret in version "v1" cannot be handled as a Secret: illegal base64 data');
      return;
    }
    if (this.secrets.has(`${namespace}/${name}`)) {
      status(res, 409, 'AlreadyExists', `secrets "${name}" already exists`, { name, kind: 'secrets' });
      return;
    }
    json(
      res,
      201,
      this.store({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { ...secret.metadata, name, namespace },
        type: secret.type ?? 'Opaque',
        data,
      }),
    );
  }

  private store(secret: {
    apiVersion: 'v1';
    kind: 'Secret';
    metadata: { name: string; namespace: string; labels?: Record<string, string> };
    type: string;
    data: Record<string, string>;
  }): StoredSecret {
    const stored: StoredSecret = {
      ...secret,
      metadata: {
        ...secret.metadata,
        uid: `uid-${this.secrets.size + 1}`,
        resourceVersion: String(1000 + this.secrets.size),
        creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      },
    };
    this.secrets.set(`${secret.metadata.namespace}/${secret.metadata.name}`, stored);
    return stored;
  }
}

/** RBAC as the authorizer decides for the core group's `secrets`: some rule grants the verb, and names this Secret when it names any. */
function allowed(rules: readonly PolicyRule[] | undefined, verb: string, name: string | undefined): boolean {
  if (rules === undefined) return true;
  return rules.some(
    (rule) =>
      (rule.apiGroups.includes('') || rule.apiGroups.includes('*')) &&
      (rule.resources.includes('secrets') || rule.resources.includes('*')) &&
      (rule.verbs.includes(verb) || rule.verbs.includes('*')) &&
      (!rule.resourceNames?.length || (name !== undefined && rule.resourceNames.includes(name))),
  );
}

function forbidden(
  res: ServerResponse,
  account: ServiceAccount,
  verb: string,
  namespace: string,
  name: string | undefined,
): void {
  const user = `system:serviceaccount:${account.namespace}:${account.name}`;
  const subject = name === undefined ? 'secrets' : `secrets "${name}"`;
  status(
    res,
    403,
    'Forbidden',
    `${subject} is forbidden: User "${user}" cannot ${verb} resource "secrets" in API group "" in the namespace "${namespace}"`,
    name === undefined ? { kind: 'secrets' } : { name, kind: 'secrets' },
  );
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function json(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A `Status` object, as the API server sends with every error. */
export function statusBody(
  code: number,
  reason: string,
  message: string,
  details?: Record<string, string>,
): Record<string, unknown> {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details && { details }),
    code,
  };
}

function status(
  res: ServerResponse,
  code: number,
  reason: string,
  message: string,
  details?: Record<string, string>,
): void {
  json(res, code, statusBody(code, reason, message, details));
}
