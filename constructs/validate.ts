import { IConstruct } from 'constructs';
import { describeProblem, Rule, SECRET_SHOWN_AS } from '../contract';

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
