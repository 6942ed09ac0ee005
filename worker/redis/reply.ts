/**
 * Replies as node-redis decodes RESP2 (strings, integers, nil, arrays; error replies reject), and
 * the checks that give each script's reply its documented shape before anything uses it: a peer
 * that answers `+OK` to EVALSHA is not a Redis running the worker's scripts, and its answer must
 * end as a lost connection, not as an item called `undefined`.
 */
export type RedisReply = string | number | null | RedisReply[];

/** A reply of the wrong shape: the peer misbehaves, and the connection is given up. */
export class UnexpectedReplyError extends Error {}

/** Checks one reply (or a part of one, named by `at`) and returns it typed; throws UnexpectedReplyError. */
export type ReplyShape<T> = (reply: RedisReply, at: string) => T;

export const integer: ReplyShape<number> = (reply, at) =>
  typeof reply === 'number' ? reply : unexpected(reply, at, 'an integer');

export const text: ReplyShape<string> = (reply, at) =>
  typeof reply === 'string' ? reply : unexpected(reply, at, 'a string');

/** A string, or nil (what a Lua `false` becomes). */
export const optionalText: ReplyShape<string | null> = (reply, at) =>
  reply === null || typeof reply === 'string' ? reply : unexpected(reply, at, 'a string or nil');

/** One of the given strings. */
export function oneOf<const W extends string>(...words: readonly W[]): ReplyShape<W> {
  return (reply, at) =>
    typeof reply === 'string' && (words as readonly string[]).includes(reply)
      ? (reply as W)
      : unexpected(reply, at, words.join(' or '));
}

/** An array of any length, each element of one shape. */
export function arrayOf<T>(element: ReplyShape<T>): ReplyShape<T[]> {
  return (reply, at) =>
    Array.isArray(reply) ? reply.map((value, i) => element(value, `${at}[${i}]`)) : unexpected(reply, at, 'an array');
}

/** An array of exactly as many elements as shapes given, each of its own shape. */
export function tuple<const T extends unknown[]>(...elements: { [I in keyof T]: ReplyShape<T[I]> }): ReplyShape<T> {
  return (reply, at) => {
    if (!Array.isArray(reply) || reply.length !== elements.length)
      return unexpected(reply, at, `an array of ${elements.length}`);
    return elements.map((element, i) => element(reply[i], `${at}[${i}]`)) as T;
  };
}

/** A flat array of groups of `shapes.length` elements (`token, item, attempt, token, ...`), returned as tuples. */
export function groupsOf<const T extends unknown[]>(...shapes: { [I in keyof T]: ReplyShape<T[I]> }): ReplyShape<T[]> {
  return (reply, at) => {
    if (!Array.isArray(reply) || reply.length % shapes.length !== 0)
      return unexpected(reply, at, `an array of groups of ${shapes.length}`);
    const groups: T[] = [];
    for (let i = 0; i < reply.length; i += shapes.length)
      groups.push(shapes.map((shape, j) => shape(reply[i + j], `${at}[${i + j}]`)) as T);
    return groups;
  };
}

/** The first of several shapes that fits (a reply whose first element says which it is); the last one's error otherwise. */
export function either<T>(...shapes: ReplyShape<T>[]): ReplyShape<T> {
  return (reply, at) => {
    for (const shape of shapes.slice(0, -1)) {
      try {
        return shape(reply, at);
      } catch (error) {
        if (!(error instanceof UnexpectedReplyError)) throw error;
      }
    }
    return shapes[shapes.length - 1](reply, at);
  };
}

/** At most this many characters of a reply go into a message: a peer may send megabytes. */
const SHOWN = 60;

/** A reply as a message shows it: JSON, cut short after SHOWN characters. */
export function shownReply(reply: RedisReply): string {
  const shown = JSON.stringify(reply);
  return shown.length > SHOWN ? `${shown.slice(0, SHOWN)}…` : shown;
}

function unexpected(reply: RedisReply, at: string, expected: string): never {
  throw new UnexpectedReplyError(
    `${at} was ${shownReply(reply)}, expected ${expected}: not a Redis running the worker's scripts`,
  );
}
