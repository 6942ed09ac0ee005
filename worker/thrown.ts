/** Reading what a `catch` caught: an Error as a rule, but a string, null or any other value as well. */

/** A field of a caught value; undefined when the value is null or undefined, or has no such field. */
export function thrownField(thrown: unknown, name: 'cause' | 'code' | 'message' | 'name' | 'stack'): unknown {
  return thrown === null || thrown === undefined ? undefined : (thrown as Record<string, unknown>)[name];
}

/** The message of a caught value, or the value itself as text when it has none. */
export function thrownMessage(thrown: unknown): string {
  return String(thrownField(thrown, 'message') ?? thrown);
}

/** The first line of a caught value's message. */
export function firstLine(thrown: unknown): string {
  return thrownMessage(thrown).split('\n')[0];
}
