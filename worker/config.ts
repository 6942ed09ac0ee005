import {
  BROKER_SCHEMES,
  type BrokerScheme,
  Defaults,
  Env,
  WORKER_MODES,
  type WorkerMode,
  describeProblem,
  nonNegativeNumberRule,
  parseNumber,
  positiveIntegerRule,
  positiveNumberRule,
  queueNameRule,
  type Rule,
} from './contract';
import { badInput } from './errors';

export type Environment = Record<string, string | undefined>;

/** Where the broker is, with credentials already URL-decoded. */
export interface BrokerConfig {
  readonly scheme: BrokerScheme;
  readonly hostname: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  /** AMQP virtual host (`/` by default) or Redis database number as text (`0` by default). */
  readonly path: string;
  /** The URL with its password masked, for messages. */
  readonly display: string;
}

export interface WorkConfig {
  readonly mode: WorkerMode;
  readonly workSeconds: number;
  readonly leaseSeconds: number;
  readonly maxAttempts: number;
  readonly workCommand?: string;
}

/** Collects one line per problem so that a run reports every bad variable at once. */
class Problems {
  readonly lines: string[] = [];
  add(field: string, value: unknown, expected: string): void {
    this.lines.push(describeProblem(field, value, expected));
  }
  throwIfAny(): void {
    if (this.lines.length > 0) throw badInput(this.lines);
  }
}

const BROKER_URL_EXPECTED = `a URL such as amqp://user:password@host:${Defaults.amqpPort}/vhost or redis://:password@host:${Defaults.redisPort}/0 (scheme ${BROKER_SCHEMES.join(' or ')})`;

export function readBroker(env: Environment): BrokerConfig {
  const problems = new Problems();
  const broker = parseBroker(env, problems);
  problems.throwIfAny();
  return broker!;
}

export function readQueue(env: Environment): string {
  const problems = new Problems();
  const queue = parseQueue(env, problems);
  problems.throwIfAny();
  return queue!;
}

/** Reads everything `work` needs, reporting every problem before anything is touched. */
export function readWork(env: Environment): { broker: BrokerConfig; queue: string; work: WorkConfig } {
  const problems = new Problems();
  const broker = parseBroker(env, problems);
  const queue = parseQueue(env, problems);
  const modeText = env[Env.workerMode]?.trim() || Defaults.workerMode;
  if (!(WORKER_MODES as readonly string[]).includes(modeText)) problems.add(Env.workerMode, env[Env.workerMode], `one of ${WORKER_MODES.join(', ')}`);
  const workSeconds = parseNumberVariable(env, Env.workSeconds, Defaults.workSeconds, nonNegativeNumberRule, problems);
  const leaseSeconds = parseNumberVariable(env, Env.leaseSeconds, Defaults.leaseSeconds, positiveNumberRule, problems);
  const maxAttempts = parseNumberVariable(env, Env.maxAttempts, Defaults.maxAttempts, positiveIntegerRule, problems);
  problems.throwIfAny();
  const workCommand = env[Env.workCommand]?.trim() ? env[Env.workCommand] : undefined;
  return { broker: broker!, queue: queue!, work: { mode: modeText as WorkerMode, workSeconds, leaseSeconds, maxAttempts, workCommand } };
}

/** Reads BROKER_URL and QUEUE together (seed, status). */
export function readTarget(env: Environment): { broker: BrokerConfig; queue: string } {
  const problems = new Problems();
  const broker = parseBroker(env, problems);
  const queue = parseQueue(env, problems);
  problems.throwIfAny();
  return { broker: broker!, queue: queue! };
}

function parseNumberVariable(env: Environment, name: string, fallback: number, rule: Rule, problems: Problems): number {
  const text = env[name];
  const value = parseNumber(text);
  if (value === undefined) return fallback;
  const expected = rule(value);
  if (expected) problems.add(name, text, expected);
  return value;
}

function parseQueue(env: Environment, problems: Problems): string | undefined {
  const queue = env[Env.queue];
  const expected = queueNameRule(queue);
  if (expected) {
    problems.add(Env.queue, queue, expected);
    return undefined;
  }
  return queue;
}

function parseBroker(env: Environment, problems: Problems): BrokerConfig | undefined {
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
  const scheme = url.protocol.replace(/:$/, '');
  if (!(BROKER_SCHEMES as readonly string[]).includes(scheme)) {
    problems.add(Env.brokerUrl, maskUrl(url), `a URL whose scheme is ${BROKER_SCHEMES.map((s) => `${s}://`).join(' or ')}`);
    return undefined;
  }
  if (!url.hostname) {
    problems.add(Env.brokerUrl, maskUrl(url), `a URL with a host name, ${BROKER_URL_EXPECTED}`);
    return undefined;
  }
  const brokerScheme = scheme as BrokerScheme;
  const port = url.port ? Number(url.port) : brokerScheme === 'amqp' ? Defaults.amqpPort : Defaults.redisPort;
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
      problems.add(Env.brokerUrl, maskUrl(url), 'a Redis URL whose path is a database number, such as redis://host:6379/0');
      return undefined;
    }
  }
  return {
    scheme: brokerScheme,
    hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    path,
    display: maskUrl(url),
  };
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
