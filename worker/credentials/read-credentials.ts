import { type Environment, parseBrokerRetrySeconds, Problems } from '../config';
import { describeProblem, Env, type GeneratedSecret } from '../../contract';
import { labelKeyRule, labelValueRule, secretKeyRule, secretNameRule } from './kubernetes-names';
import { thrownMessage } from '../thrown';

/** What `credentials` reads from its environment. */
export interface CredentialsInput {
  readonly secrets: readonly GeneratedSecret[];
  /** How long an unreachable or overloaded Kubernetes API is retried before exit 3. */
  readonly retrySeconds: number;
}

const FIELDS = ['name', 'values', 'generate', 'labels'];
const EXPECTED_LIST = 'a JSON array of {"name", "values"?, "generate", "labels"?}, at least one Secret';

/** Reads CREDENTIALS and BROKER_RETRY_SECONDS, reporting every problem at once (exit 2) before anything is touched. */
export function readCredentials(env: Environment): CredentialsInput {
  const problems = new Problems();
  const retrySeconds = parseBrokerRetrySeconds(env, problems);
  const secrets = parseSecrets(env[Env.credentials], problems.lines);
  problems.throwIfAny();
  return { secrets, retrySeconds };
}

function parseSecrets(text: string | undefined, problems: string[]): GeneratedSecret[] {
  if (text === undefined || text.trim() === '') {
    problems.push(describeProblem(Env.credentials, text, EXPECTED_LIST));
    return [];
  }
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch (error) {
    problems.push(describeProblem(Env.credentials, text, `${EXPECTED_LIST} (it is not JSON: ${thrownMessage(error)})`));
    return [];
  }
  if (!Array.isArray(list) || list.length === 0) {
    problems.push(describeProblem(Env.credentials, list, EXPECTED_LIST));
    return [];
  }
  const secrets = list.map((entry, i) => parseSecret(entry, `${Env.credentials}[${i}]`, problems));
  const seen = new Set<string>();
  secrets.forEach((secret, i) => {
    if (secret === undefined) return;
    if (seen.has(secret.name))
      problems.push(
        describeProblem(`${Env.credentials}[${i}].name`, secret.name, 'a name no other Secret of the list has'),
      );
    seen.add(secret.name);
  });
  return secrets.filter((secret) => secret !== undefined);
}

function parseSecret(entry: unknown, at: string, problems: string[]): GeneratedSecret | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    problems.push(describeProblem(at, entry, 'an object {"name", "values"?, "generate", "labels"?}'));
    return undefined;
  }
  const fields = entry as Record<string, unknown>;
  const before = problems.length;
  for (const field of Object.keys(fields).filter((f) => !FIELDS.includes(f))) {
    problems.push(
      describeProblem(`${at}.${field}`, fields[field], `no such field (the fields are ${FIELDS.join(', ')})`),
    );
  }
  const nameProblem = secretNameRule(fields.name);
  if (nameProblem) problems.push(describeProblem(`${at}.name`, fields.name, nameProblem));
  const values = parseStringMap(fields.values, `${at}.values`, problems, secretKeyRule, () => undefined);
  const generate = parseGenerate(fields.generate, `${at}.generate`, problems);
  const labels = parseStringMap(fields.labels, `${at}.labels`, problems, labelKeyRule, labelValueRule);
  generate.forEach((key, i) => {
    if (Object.hasOwn(values, key))
      problems.push(
        describeProblem(
          `${at}.generate[${i}]`,
          key,
          `a key that is not also in ${at}.values (a key is given or generated)`,
        ),
      );
  });
  if (Array.isArray(fields.generate) && Object.keys(values).length === 0 && generate.length === 0) {
    problems.push(describeProblem(at, entry, 'a Secret with at least one key in "values" or "generate"'));
  }
  if (problems.length > before) return undefined;
  return { name: fields.name as string, values, generate, labels };
}

/** An optional object of strings whose keys and values pass the rules ({} when absent); what it holds, good or bad, for further checks. */
function parseStringMap(
  map: unknown,
  at: string,
  problems: string[],
  keyRule: (key: string) => string | undefined,
  valueRule: (value: string) => string | undefined,
): Record<string, string> {
  if (map === undefined) return {};
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    problems.push(describeProblem(at, map, 'an object of strings'));
    return {};
  }
  for (const [key, value] of Object.entries(map)) {
    const keyProblem = keyRule(key);
    if (keyProblem) problems.push(describeProblem(`${at} key`, key, keyProblem));
    const valueProblem = typeof value === 'string' ? valueRule(value) : 'a string';
    if (valueProblem) problems.push(describeProblem(`${at}[${JSON.stringify(key)}]`, value, valueProblem));
  }
  return map as Record<string, string>;
}

/** The keys to generate; what it holds, good or bad, for further checks. */
function parseGenerate(generate: unknown, at: string, problems: string[]): string[] {
  if (!Array.isArray(generate)) {
    problems.push(describeProblem(at, generate, 'an array of Secret keys to fill with random values ([] for none)'));
    return [];
  }
  generate.forEach((key: unknown, i) => {
    const keyProblem = typeof key === 'string' ? secretKeyRule(key) : 'a Secret key (a string)';
    if (keyProblem) problems.push(describeProblem(`${at}[${i}]`, key, keyProblem));
    else if (generate.indexOf(key) < i) problems.push(describeProblem(`${at}[${i}]`, key, 'a key listed once'));
  });
  return generate.map((key: unknown) => (typeof key === 'string' ? key : JSON.stringify(key)));
}
