import { Duration, Size } from 'cdk8s';
import { type IConstruct } from 'constructs';
import { describeProblem, type Rule, SECRET_SHOWN_AS } from '../contract';
import { inSeconds, secondsOf } from './seconds';

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

/**
 * As `check`, for a Duration prop: the rule applies to its seconds (fractions kept), which the error
 * shows under `<field> in seconds`.
 */
export function checkDuration(scope: IConstruct, field: string, value: Duration | undefined, rule: Rule): void {
  if (value === undefined) return;
  if (!(value instanceof Duration)) fail(scope, field, value, 'a Duration, such as Duration.minutes(5)');
  check(scope, inSeconds(field), secondsOf(value), rule);
}

/** As `check`, for a Size prop: the rule applies to its Kubernetes quantity (`1Gi`), which the error shows under `<field> as a quantity`. */
export function checkSize(scope: IConstruct, field: string, value: Size | undefined, rule: Rule): void {
  if (value === undefined) return;
  if (!(value instanceof Size)) fail(scope, field, value, 'a Size, such as Size.gibibytes(1)');
  check(scope, `${field} as a quantity`, value.asString(), rule);
}

/** As `check`, for a secret (a password, a cookie): the message never shows its value. */
export function checkSecret(scope: IConstruct, field: string, value: unknown, rule: Rule): void {
  if (value === undefined) return;
  const expected = rule(value);
  if (expected !== undefined) fail(scope, field, SECRET_SHOWN_AS, expected);
}

/** As `check`, for a prop that must be given: `undefined` fails too. */
export function checkRequired(scope: IConstruct, field: string, value: unknown, rule: Rule): void {
  const expected = rule(value);
  if (expected !== undefined) fail(scope, field, value, expected);
}
