import { isIP } from 'node:net';
import {
  BROKER_SCHEMES,
  type BrokerScheme,
  brokerUrlScheme,
  sentinelUrlScheme,
  defaultBrokerPort,
  Defaults,
  describeProblem,
  Env,
  ItemsMount,
  ItemFiles,
  NON_NEGATIVE_INTEGER,
  OTLP_PROTOCOLS,
  type OtlpProtocol,
  parseNumber,
  RetryBudget,
  type Rule,
  Rules,
  WORKER_MODES,
  type WorkerMode,
} from '../contract';
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
   * A Redis whose primary Sentinel names (`redis+sentinel://`): clients ask these Sentinels, in
   * this order, and connect to the primary they name. `hostname` and `port` are the first Sentinel's.
   * @default - unset: `hostname:port` is the broker itself
   */
  readonly sentinel?: SentinelConfig;
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

/** The Sentinels of a replicated Redis and the name they know its primary by. */
export interface SentinelConfig {
  readonly master: string;
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
}

/** Where RabbitMQ's management HTTP API is, its credentials apart (URL-decoded). */
export interface ManagementApi {
  /** The base URL ending in `/`, without credentials. */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
}

/** The work on one item, in every mode: the handler and its time. */
export interface WorkConfig {
  readonly workSeconds: number;
  /** Seconds one item's work may take before it is stopped and counted as a failed attempt (WORK_TIMEOUT_SECONDS). */
  readonly workTimeoutSeconds: number;
  readonly workCommand?: string;
}

/** The modes that take their items from a queue (readWork); `indexed` takes one from ITEMS_DIRECTORY (readIndexedWork). */
export type QueueWorkerMode = Exclude<WorkerMode, 'indexed'>;

/** `work` on a queue (WORKER_MODE single or drain). */
export interface QueueWorkConfig extends WorkConfig {
  readonly mode: QueueWorkerMode;
  readonly leaseSeconds: number;
  readonly maxAttempts: number;
  /**
   * The seed whose completion an empty queue must show before it counts as done (SEED_ID).
   * @default - unset: an empty queue is done (a queue that another producer fills)
   */
  readonly seedId?: string;
  /** Seconds an empty queue whose seed is not complete is waited for before exit 4 (SEED_WAIT_SECONDS). */
  readonly seedWaitSeconds: number;
}

/** `work` in a pod of an Indexed Job (WORKER_MODE=indexed): one item of the files in a directory, no broker. */
export interface IndexedWorkConfig extends WorkConfig {
  /** The directory of the item files (ITEMS_DIRECTORY). */
  readonly itemsDirectory: string;
  /** The pod's index, the item it works on (JOB_COMPLETION_INDEX). */
  readonly index: number;
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

/**
 * Every accepted `BROKER_URL` scheme, each broker plain and over TLS (amqp, amqps, redis, rediss),
 * and a Redis through its Sentinels (redis+sentinel, rediss+sentinel).
 */
const URL_SCHEMES = [
  ...BROKER_SCHEMES.flatMap((scheme) =>
    [false, true].map((tls) => ({ scheme, tls, sentinel: false, name: brokerUrlScheme(scheme, tls) })),
  ),
  ...[false, true].map((tls) => ({ scheme: 'redis' as const, tls, sentinel: true, name: sentinelUrlScheme(tls) })),
];
const URL_SCHEME_LIST = listOr(URL_SCHEMES.map(({ name }) => `${name}://`));

const BROKER_URL_EXPECTED = `a URL such as amqp://user:password@host:${Defaults.amqpPort}/vhost or redis://:password@host:${Defaults.redisPort}/0 (scheme ${URL_SCHEME_LIST})`;
const SENTINEL_URL_EXPECTED = `a Sentinel URL such as redis+sentinel://:password@sentinel-1:${Defaults.sentinelPort},sentinel-2:${Defaults.sentinelPort}/mymaster/0: the Sentinels, then the master name and optionally the database number`;

/** Where `seed` and `work` send traces (OpenTelemetry's variables); undefined: tracing is off. */
export interface TracingConfig {
  /** The OTLP/HTTP URL spans are posted to. */
  readonly tracesUrl: string;
  readonly protocol: OtlpProtocol;
}

/** Where the queue is: the broker, the queue's name, and how long a lost connection is retried. */
export interface Target {
  readonly broker: BrokerConfig;
  readonly queue: string;
  readonly brokerRetrySeconds: number;
}

/** WORKER_MODE as given (trimmed), or its default; checked by the reader of that mode. */
function workerModeText(env: Environment): string {
  return env[Env.workerMode]?.trim() || Defaults.workerMode;
}

/** WORKER_MODE=indexed: `work` takes its item from ITEMS_DIRECTORY (readIndexedWork), not from a queue (readWork). */
export function isIndexedMode(env: Environment): boolean {
  return workerModeText(env) === 'indexed';
}

/** Reads everything `work` on a queue needs, reporting every problem before anything is touched. */
export function readWork(env: Environment): Target & { work: QueueWorkConfig; tracing?: TracingConfig } {
  const modeText = workerModeText(env);
  if (modeText === 'indexed')
    throw new Error(`readWork reads the queue modes; ${Env.workerMode}=indexed is read by readIndexedWork`);
  const problems = new Problems();
  const target = parseTarget(env, problems);
  if (!(WORKER_MODES as readonly string[]).includes(modeText))
    problems.add(Env.workerMode, env[Env.workerMode], `one of ${WORKER_MODES.join(', ')}`);
  const itemWork = parseWorkConfig(env, problems);
  const leaseSeconds = parseNumberVariable(
    env,
    Env.leaseSeconds,
    Defaults.leaseSeconds,
    Rules.positiveNumber,
    problems,
  );
  const maxAttempts = parseNumberVariable(env, Env.maxAttempts, Defaults.maxAttempts, Rules.positiveInteger, problems);
  if (target.broker?.scheme === 'amqp' && maxAttempts > RetryBudget.amqpDeliveryLimit) {
    problems.add(
      Env.maxAttempts,
      env[Env.maxAttempts],
      `at most ${RetryBudget.amqpDeliveryLimit} on RabbitMQ, the work queue's x-delivery-limit`,
    );
  }
  const seedId = parseOptionalText(env, Env.seedId, seedIdRule, problems);
  const seedWaitSeconds = parseNumberVariable(
    env,
    Env.seedWaitSeconds,
    Defaults.seedWaitSeconds,
    Rules.nonNegativeNumber,
    problems,
  );
  const tracing = parseTracing(env, problems);
  problems.throwIfAny();
  const work: QueueWorkConfig = {
    mode: modeText as QueueWorkerMode,
    ...itemWork,
    leaseSeconds,
    maxAttempts,
    seedId,
    seedWaitSeconds,
  };
  return { ...(target as Target), work, ...(tracing && { tracing }) };
}

/**
 * Reads everything `work` needs in a pod of an Indexed Job (WORKER_MODE=indexed): no broker,
 * ITEMS_DIRECTORY and JOB_COMPLETION_INDEX, and the work settings readWork reads too.
 */
export function readIndexedWork(env: Environment): IndexedWorkConfig {
  const problems = new Problems();
  const itemsDirectory = env[Env.itemsDirectory]?.trim();
  if (!itemsDirectory) {
    problems.add(
      Env.itemsDirectory,
      env[Env.itemsDirectory],
      `the directory of the Indexed Job's item files, named ${ItemFiles.fileName(0)}, ${ItemFiles.fileName(1000)} and so on, such as ${ItemsMount.directory}`,
    );
  }
  const index = parseNumberVariable(env, Env.jobCompletionIndex, undefined, Rules.nonNegativeInteger, problems);
  if (index === undefined) {
    problems.add(
      Env.jobCompletionIndex,
      env[Env.jobCompletionIndex],
      `${NON_NEGATIVE_INTEGER}, the item's index (Kubernetes sets it in each pod of an Indexed Job)`,
    );
  }
  const itemWork = parseWorkConfig(env, problems);
  problems.throwIfAny();
  return { itemsDirectory: itemsDirectory as string, index: index as number, ...itemWork };
}

/** WORK_SECONDS, WORK_TIMEOUT_SECONDS and WORK_COMMAND, the work on an item in every mode; complete once `problems` holds none. */
function parseWorkConfig(env: Environment, problems: Problems): WorkConfig {
  const workSeconds = parseNumberVariable(
    env,
    Env.workSeconds,
    Defaults.workSeconds,
    Rules.nonNegativeNumber,
    problems,
  );
  const workTimeoutSeconds = parseNumberVariable(
    env,
    Env.workTimeoutSeconds,
    Defaults.workTimeoutSeconds,
    Rules.workTimeout,
    problems,
  );
  const workCommand = env[Env.workCommand]?.trim() ? env[Env.workCommand] : undefined;
  return { workSeconds, workTimeoutSeconds, workCommand };
}

/** Reads everything `seed` needs besides its items: the target, and the run label (SEED_RUN). */
export function readSeed(env: Environment): Target & { run?: string; tracing?: TracingConfig } {
  const problems = new Problems();
  const target = parseTarget(env, problems);
  const run = parseOptionalText(env, Env.seedRun, Rules.seedRun, problems);
  const tracing = parseTracing(env, problems);
  problems.throwIfAny();
  return { ...(target as Target), ...(run !== undefined && { run }), ...(tracing && { tracing }) };
}

/**
 * Tracing is on when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as it is) or OTEL_EXPORTER_OTLP_ENDPOINT
 * (plus `v1/traces`) is set, unless OTEL_SDK_DISABLED is `true`, as OpenTelemetry specifies.
 */
function parseTracing(env: Environment, problems: Problems): TracingConfig | undefined {
  if (env[Env.otelSdkDisabled]?.trim().toLowerCase() === 'true') return undefined;
  const [name, suffix] = env[Env.otlpTracesEndpoint]?.trim()
    ? [Env.otlpTracesEndpoint, '']
    : [Env.otlpEndpoint, 'v1/traces'];
  const endpoint = env[name]?.trim();
  if (!endpoint) return undefined;
  const [protocolName, protocol = OTLP_PROTOCOLS[0]] = env[Env.otlpTracesProtocol]?.trim()
    ? [Env.otlpTracesProtocol, env[Env.otlpTracesProtocol]?.trim()]
    : [Env.otlpProtocol, env[Env.otlpProtocol]?.trim() || undefined];
  if (!(OTLP_PROTOCOLS as readonly string[]).includes(protocol)) {
    problems.add(protocolName, env[protocolName], `${listOr(OTLP_PROTOCOLS)}: the worker sends traces over OTLP/HTTP`);
  }
  let url: URL | undefined;
  try {
    url = new URL(suffix && !endpoint.endsWith('/') ? `${endpoint}/${suffix}` : `${endpoint}${suffix}`);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    problems.add(
      name,
      env[name],
      `an http:// or https:// URL such as http://otel-collector:4318${suffix ? '' : '/v1/traces'}, where an OTLP/HTTP collector listens`,
    );
    return undefined;
  }
  return { tracesUrl: url.href, protocol: protocol as OtlpProtocol };
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
  return {
    broker: parseBroker(env, problems),
    queue: parseQueue(env, problems),
    brokerRetrySeconds: parseBrokerRetrySeconds(env, problems),
  };
}

/** What `seedId()` of the contract produces, which SEED_ID copies. */
const seedIdRule: Rule = (value) =>
  typeof value === 'string' && /^[0-9a-f]{32}$/.test(value)
    ? undefined
    : 'the seed id of the items, 32 lowercase hexadecimal digits (as `work-queue seed` prints it and the constructs set it); unset when another producer fills the queue';

/** BROKER_RETRY_SECONDS, which every command reads. */
export function parseBrokerRetrySeconds(env: Environment, problems: Problems): number {
  return parseNumberVariable(
    env,
    Env.brokerRetrySeconds,
    Defaults.brokerRetrySeconds,
    Rules.nonNegativeNumber,
    problems,
  );
}

function parseNumberVariable<T extends number | undefined>(
  env: Environment,
  name: string,
  fallback: T,
  rule: Rule,
  problems: Problems,
): number | T {
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
  // A Sentinel URL lists its Sentinels comma-separated; the URL parser takes the first alone.
  const { first, others } = splitHostList(encodeSecretCredentials(raw, env));
  let url: URL;
  try {
    url = new URL(first);
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
  if (urlScheme.sentinel) return parseSentinelUrl(url, others, raw, tls, { replicas, management }, problems);
  if (others.length > 0) {
    problems.add(
      Env.brokerUrl,
      maskUrlText(raw),
      `one host, or a list of Sentinels in a ${sentinelUrlScheme(tls)}:// URL`,
    );
    return undefined;
  }
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
      problems.add(
        Env.brokerUrl,
        maskUrl(url),
        `a Redis URL whose path is a database number, such as ${urlScheme.name}://host:${Defaults.redisPort}/0`,
      );
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

/** `scheme://userinfo@a:1,b:2/path` as `scheme://userinfo@a:1/path` and ['b:2']. */
function splitHostList(raw: string): { first: string; others: string[] } {
  const match = /^([a-z][a-z0-9+.-]*:\/\/(?:[^/?#@]*@)?)([^/?#]*)(.*)$/is.exec(raw);
  if (!match || !match[2].includes(',')) return { first: raw, others: [] };
  const [head, ...others] = match[2].split(',');
  return { first: match[1] + head + match[3], others };
}

/** `redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/<master>[/<db>]` */
function parseSentinelUrl(
  url: URL,
  otherHosts: readonly string[],
  raw: string,
  tls: boolean,
  rest: Pick<BrokerConfig, 'replicas' | 'management'>,
  problems: Problems,
): BrokerConfig | undefined {
  const display = maskUrlText(raw);
  const hostOf = (address: URL) => ({
    host: address.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: address.port ? Number(address.port) : Defaults.sentinelPort,
  });
  const nodes = [hostOf(url)];
  for (const text of otherHosts) {
    let other: URL | undefined;
    try {
      other = new URL(`redis://${text}`);
    } catch {
      other = undefined;
    }
    if (!other?.hostname || other.pathname !== '' || other.username || other.password) {
      problems.add(Env.brokerUrl, display, SENTINEL_URL_EXPECTED);
      return undefined;
    }
    nodes.push(hostOf(other));
  }
  let segments: string[];
  try {
    segments = url.pathname.replace(/^\//, '').split('/').map(decodeURIComponent);
  } catch {
    segments = [];
  }
  const [master = '', database = '0', ...extra] = segments;
  if (Rules.sentinelMaster(master) !== undefined || !/^\d+$/.test(database) || extra.length > 0 || url.search !== '') {
    problems.add(Env.brokerUrl, display, SENTINEL_URL_EXPECTED);
    return undefined;
  }
  return {
    scheme: 'redis',
    tls,
    hostname: nodes[0].host,
    port: nodes[0].port,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    path: database,
    display,
    sentinel: { master, nodes },
    ...(rest.replicas !== undefined && { replicas: rest.replicas }),
    ...(rest.management && { management: rest.management }),
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
