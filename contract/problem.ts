/**
 * The one error format of the product: construct props, stack config and the worker's start-up
 * checks all word a failure as `<field>: got <value>, expected <what>`.
 */

/** A validation rule: undefined when the value is fine, or the text of what is expected. */
export type Rule<T = unknown> = (value: T) => string | undefined;

/** One place that words every validation failure: the field, the bad value, what is expected. */
export function describeProblem(field: string, value: unknown, expected: string): string {
  return `${field}: got ${showValue(value)}, expected ${expected}`;
}

function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  // JSON would show them as null.
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value === 'string') {
    return value.length > 80
      ? `${JSON.stringify(value.slice(0, 80))}... (${value.length} characters)`
      : JSON.stringify(value);
  }
  if (Array.isArray(value)) return value.length > 5 ? `an array of ${value.length}` : JSON.stringify(value);
  if (typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    // A circular object: named by its kind.
    return Object.prototype.toString.call(value);
  }
}

/** What an error message shows in place of a secret's value. */
export const SECRET_SHOWN_AS = '[secret]';
