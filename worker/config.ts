import { isIP } from 'node:net';
import {
  BROKER_SCHEMES,
  type BrokerScheme,
  brokerUrlScheme,
  defaultBrokerPort,
  Defaults,
  describeProblem,
  Env,
  parseNumber,
  RetryBudget,
  type Rule,
  Rules,
  WORKER_MODES,
  type WorkerMode,
} from './contract';
import { badInput } from './errors';

export type Environment = Record<string, string | undefined>;

/** Where the broker is, with credentials already URL-decoded. */
export interface BrokerConfig {
  /** The broker's protocol; `amqps://` and `rediss://` name the same protocols over TLS. */
  readonly scheme: BrokerScheme;
  /** Connect over TLS, verifying the broker's certificate against Node.js's CA store plus NODE_EXTRA_CA_CERTS. */
  readonly tls: boolean;
  readonly hostname: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  /** AMQP virtual host (`/` by default) or Redis database number as text (`0` by default). */
  readonly path: string;
  /** The URL with its password masked, for messages. */
  readonly display: string;
  /**
   * RabbitMQ's node count (BROKER_REPLICAS): the members a quorum queue is created with. Redis ignores it.
   * @default - unset: RabbitMQ picks the members
   */
  readonly replicas?: number;
  /**
   * RabbitMQ's management API (BROKER_MANAGEMENT_URL), for `status`.
   * @default - unset: the queue's leader and members are not read
   */
  readonly management?: ManagementApi;
}

/** Where RabbitMQ's management HTTP API is, its credentials apart (URL-decoded). */
export interface ManagementApi {
  /** The base URL ending in `/`, without credentials. */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
}

export interface WorkConfig {
  readonly mode: WorkerMode;
  readonly workSeconds: number;
  readonly leaseSeconds: number;
  readonly maxAttempts: number;
  /** Seconds one item's work may take before it is stopped and counted as a failed attempt (WORK_TIMEOUT_SECONDS). */
  readonly workTimeoutSeconds: number;
  readonly workCommand?: string;
  /**
   * The seed whose completion an empty queue must show before it counts as done (SEED_ID).
   * @default - unset: an empty queue is done (a queue that another producer fills)
   */
  readonly seedId?: string;
  /** Seconds an empty queue whose seed is not complete is waited for before exit 4 (SEED_WAIT_SECONDS). */
  readonly seedWaitSeconds: number;
}

/** Collects one line per problem so that a run reports every bad variable at once. */
export class Problems {
  readonly lines: string[] = [];
  add(field: string, value: unknown, expected: string): void {
    this.lines.push(describeProblem(field, value, expected));
  }
  throwIfAny(): void {
    if (this.lines.length > 0) throw badInput(this.lines);
  }
}

/** Every accepted `BROKER_URL` scheme, each broker plain and over TLS: amqp, amqps, redis, rediss. */
const URL_SCHEMES = BROKER_SCHEMES.flatMap((scheme) => [false, true].map((tls) => ({ scheme, tls, name: brokerUrlScheme(scheme, tls) })));
const URL_SCHEME_LIST = listOr(URL_SCHEMES.map(({ name }) => `${name}://`));

const BROKER_URL_EXPECTED = `a URL such as amqp://user:password@host:${Defaults.amqpPort}/vhost or redis://:password@host:${Defaults.redisPort}/0 (scheme ${URL_SCHEME_LIST})`;

/** Where the queue is: the broker, the queue's name, and how long a lost connection is retried. */
export interface Target {
  readonly broker: BrokerConfig;
  readonly queue: string;
  readonly brokerRetrySeconds: number;
}

/** Reads everything `work` needs, reporting every problem before anything is touched. */
export function readWork(env: Environment): Target & { work: WorkConfig } {
  const problems = new Problems();
  const target = parseTarget(env, problems);
  const modeText = env[Env.workerMode]?.trim() || Defaults.workerMode;
  if (!(WORKER_MODES as readonly string[]).includes(modeText)) problems.add(Env.workerMode, env[Env.workerMode], `one of ${WORKER_MODES.join(', ')}`);
  const workSeconds = parseNumberVariable(env, Env.workSeconds, Defaults.workSeconds, Rules.nonNegativeNumber, problems);
  const leaseSeconds = parseNumberVariable(env, Env.leaseSeconds, Defaults.leaseSeconds, Rules.positiveNumber, problems);
  const maxAttempts = parseNumberVariable(env, Env.maxAttempts, Defaults.maxAttempts, Rules.positiveInteger, problems);
  if (target.broker?.scheme === 'amqp' && maxAttempts > RetryBudget.amqpDeliveryLimit) {
    problems.add(Env.maxAttempts, env[Env.maxAttempts], `at most ${RetryBudget.amqpDeliveryLimit} on RabbitMQ, the work queue's x-delivery-limit`);
  }
  const workTimeoutSeconds = parseNumberVariable(env, Env.workTimeoutSeconds, Defaults.workTimeoutSeconds, Rules.workTimeout, problems);
  const seedId = parseOptionalText(env, Env.seedId, seedIdRule, problems);
  const seedWaitSeconds = parseNumberVariable(env, Env.seedWaitSeconds, Defaults.seedWaitSeconds, Rules.nonNegativeNumber, problems);
  problems.throwIfAny();
  const workCommand = env[Env.workCommand]?.trim() ? env[Env.workCommand] : undefined;
  const work: WorkConfig = { mode: modeText as WorkerMode, workSeconds, leaseSeconds, maxAttempts, workTimeoutSeconds, workCommand, seedId, seedWaitSeconds };
  return { ...(target as Target), work };
}

/** Reads everything `seed` needs besides its items: the target, and the run label (SEED_RUN). */
export function readSeed(env: Environment): Target & { run?: string } {
  const problems = new Problems();
  const target = parseTarget(env, problems);
  const run = parseOptionalText(env, Env.seedRun, Rules.seedRun, problems);
  problems.throwIfAny();
  return { ...(target as Target), ...(run !== undefined && { run }) };
}

/** Reads BROKER_URL, QUEUE and BROKER_RETRY_SECONDS together (status). */
export function readTarget(env: Environment): Target {
  const problems = new Problems();
  const target = parseTarget(env, problems);
  problems.throwIfAny();
  return target as Target;
}

/** The target, complete once `problems` holds none. */
function parseTarget(env: Environment, problems: Problems): Partial<Target> {
  return { broker: parseBroker(env, problems), queue: parseQueue(env, problems), brokerRetrySeconds: parseBrokerRetrySeconds(env, problems) };
}

/** What `seedId()` of the contract produces, which SEED_ID copies. */
const seedIdRule: Rule = (value) =>
  typeof value === 'string' && /^[0-9a-f]{32}$/.test(value)
    ? undefined
    : 'the seed id of the items, 32 lowercase hexadecimal digits (as `work-queue seed` prints it and the constructs set it); unset when another producer fills the queue';

/** BROKER_RETRY_SECONDS, which every command reads. */
export function parseBrokerRetrySeconds(env: Environment, problems: Problems): number {
  return parseNumberVariable(env, Env.brokerRetrySeconds, Defaults.brokerRetrySeconds, Rules.nonNegativeNumber, problems);
}

function parseNumberVariable<T extends number | undefined>(env: Environment, name: string, fallback: T, rule: Rule, problems: Problems): number | T {
  const text = env[name];
  const value = parseNumber(text);
  if (value === undefined) return fallback;
  const expected = rule(value);
  if (expected) problems.add(name, text, expected);
  return value;
}

/** An optional text variable: unset and '' give undefined; anything else must pass the rule as it is. */
function parseOptionalText(env: Environment, name: string, rule: Rule, problems: Problems): string | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const expected = rule(text);
  if (expected) problems.add(name, text, expected);
  return expected ? undefined : text;
}

function parseQueue(env: Environment, problems: Problems): string | undefined {
  const queue = env[Env.queue];
  const expected = Rules.queueName(queue);
  if (expected) {
    problems.add(Env.queue, queue, expected);
    return undefined;
  }
  return queue;
}

function parseBroker(env: Environment, problems: Problems): BrokerConfig | undefined {
  const replicas = parseNumberVariable(env, Env.brokerReplicas, undefined, Rules.positiveInteger, problems);
  const management = parseManagementApi(env, problems);
  const raw = env[Env.brokerUrl]?.trim();
  if (!raw) {
    problems.add(Env.brokerUrl, env[Env.brokerUrl], BROKER_URL_EXPECTED);
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(encodeSecretCredentials(raw, env));
  } catch {
    problems.add(Env.brokerUrl, maskUrlText(raw), BROKER_URL_EXPECTED);
    return undefined;
  }
  const urlScheme = URL_SCHEMES.find(({ name }) => `${name}:` === url.protocol);
  if (!urlScheme) {
    problems.add(Env.brokerUrl, maskUrl(url), `a URL whose scheme is ${URL_SCHEME_LIST}`);
    return undefined;
  }
  if (!url.hostname) {
    problems.add(Env.brokerUrl, maskUrl(url), `a URL with a host name, ${BROKER_URL_EXPECTED}`);
    return undefined;
  }
  const { scheme: brokerScheme, tls } = urlScheme;
  const port = url.port ? Number(url.port) : defaultBrokerPort(brokerScheme, tls);
  let path: string;
  try {
    path = decodeURIComponent(url.pathname.replace(/^\//, ''));
  } catch {
    problems.add(Env.brokerUrl, maskUrl(url), BROKER_URL_EXPECTED);
    return undefined;
  }
  if (brokerScheme === 'amqp') {
    path = path === '' ? '/' : path;
  } else {
    path = path === '' ? '0' : path;
    if (!/^\d+$/.test(path)) {
      problems.add(Env.brokerUrl, maskUrl(url), `a Redis URL whose path is a database number, such as ${urlScheme.name}://host:${Defaults.redisPort}/0`);
      return undefined;
    }
  }
  return {
    scheme: brokerScheme,
    tls,
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    path,
    display: maskUrl(url),
    ...(replicas !== undefined && { replicas }),
    ...(management && { management }),
  };
}

function parseManagementApi(env: Environment, problems: Problems): ManagementApi | undefined {
  const raw = env[Env.brokerManagementUrl]?.trim();
  if (!raw) return undefined;
  const expected = 'the URL of the RabbitMQ management API, such as http://host:15672 (scheme http:// or https://)';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.add(Env.brokerManagementUrl, maskUrlText(raw), expected);
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.add(Env.brokerManagementUrl, maskUrlText(raw), expected);
    return undefined;
  }
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  url.username = '';
  url.password = '';
  return { url: url.toString().replace(/\/?$/, '/'), username, password };
}

/**
 * Kubernetes expands `$(BROKER_USERNAME)` and `$(BROKER_PASSWORD)` into BROKER_URL verbatim, so
 * a password holding `@`, `/` or `:` would break the URL. When the URL holds the Secret's values
 * literally as its user-info, they are percent-encoded first.
 */
function encodeSecretCredentials(raw: string, env: Environment): string {
  const username = env[Env.brokerUsername];
  const password = env[Env.brokerPassword];
  if (password === undefined && username === undefined) return raw;
  const userInfo = `${username ?? ''}${password !== undefined ? `:${password}` : ''}@`;
  const at = raw.indexOf('://') + 3;
  if (at < 3 || !raw.startsWith(userInfo, at)) return raw;
  const encoded = `${encodeURIComponent(username ?? '')}${password !== undefined ? `:${encodeURIComponent(password)}` : ''}@`;
  return raw.slice(0, at) + encoded + raw.slice(at + userInfo.length);
}

function maskUrl(url: URL): string {
  if (!url.password) return url.toString();
  const copy = new URL(url.toString());
  copy.password = '***';
  return copy.toString();
}

function maskUrlText(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}

/**
 * The name a TLS client sends (SNI) and checks the certificate against: the URL's host name. An IP
 * address is not sent (RFC 6066 forbids it, Node.js warns); the certificate is then checked
 * against the address itself.
 */
export function tlsServerName(broker: BrokerConfig): string | undefined {
  return isIP(broker.hostname) ? undefined : broker.hostname;
}

/** `a, b, c or d` */
function listOr(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}
