import { IConstruct } from 'constructs';
import { describeProblem, Rule } from '../worker/contract';

/** Throws the construct-side form of a validation failure: `<construct path>: <field>: got <value>, expected <what>`. */
export function fail(scope: IConstruct, field: string, value: unknown, expected: string): never {
  throw new Error(`${scope.node.path}: ${describeProblem(field, value, expected)}`);
}

/** Applies a contract rule to a prop; `undefined` passes, so optional props can be checked unconditionally. */
export function check(scope: IConstruct, field: string, value: unknown, rule: Rule): void {
  if (value === undefined) return;
  const expected = rule(value);
  if (expected !== undefined) fail(scope, field, value, expected);
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A Kubernetes object name that must be a DNS-1123 label (Services, and Jobs whose name becomes a pod label). */
export const dnsLabelRule: Rule = (value) =>
  typeof value === 'string' && value.length <= 63 && DNS_LABEL.test(value)
    ? undefined
    : 'a DNS-1123 label: at most 63 characters of a-z, 0-9 and "-", starting and ending with a letter or digit';

const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(([KMGTPE]i)|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** A Kubernetes resource quantity that is a positive size, such as `1Gi` or `500M`. */
export const storageQuantityRule: Rule = (value) =>
  typeof value === 'string' && QUANTITY.test(value) && !value.startsWith('-') && parseFloat(value) > 0
    ? undefined
    : 'a positive Kubernetes quantity such as "1Gi", "512Mi" or "10G"';

export const nonNegativeIntegerRule: Rule = (value) =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 ? undefined : 'a whole number of at least 0';

const URL_SAFE = /^[A-Za-z0-9._~-]+$/;

/**
 * Broker credentials are expanded into `BROKER_URL` by Kubernetes as they are, without URL-encoding,
 * so they must consist of URL-unreserved characters.
 */
export const credentialRule: Rule = (value) =>
  typeof value === 'string' && URL_SAFE.test(value)
    ? undefined
    : 'a non-empty string of A-Z a-z 0-9 . _ ~ - (it is placed into BROKER_URL without encoding)';
