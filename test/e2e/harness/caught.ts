/** What a rejected promise or a throw gave, as an Error: an Error as it is, anything else as its String(). */
export function asError(caught: unknown): Error {
  return caught instanceof Error ? caught : new Error(String(caught));
}
