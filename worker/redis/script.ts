import { createHash } from 'node:crypto';
import { ErrorReply } from './node-redis';
import type { RedisLink } from './client';
import { type ReplyShape, UnexpectedReplyError } from './reply';

/**
 * A Lua script whose keys and arguments have names. The source begins with `local <name> =
 * KEYS[i]` and `local <name> = ARGV[i]` in the declared order, and a call passes them by name, so
 * no call site can put them in the wrong order. Its reply is checked against the shape the script
 * documents before anyone uses it.
 */
export interface LuaScript<K extends string, A extends string, R> {
  /** For messages: `the <name> script`. */
  readonly name: string;
  readonly keys: readonly K[];
  readonly args: readonly A[];
  /** Name of a Lua table that receives the arguments after the named ones, if the script takes any. */
  readonly rest?: string;
  readonly source: string;
  readonly sha: string;
  readonly reply: ReplyShape<R>;
}

export interface ScriptCall<K extends string, A extends string> {
  readonly keys: Readonly<Record<K, string>>;
  readonly args: Readonly<Record<A, string | number>>;
  readonly rest?: readonly string[];
}

export function luaScript<const K extends string, const A extends string, R>(definition: {
  name: string;
  keys: readonly K[];
  args: readonly A[];
  rest?: string;
  body: string;
  reply: ReplyShape<R>;
}): LuaScript<K, A, R> {
  const { name, keys, args, rest, body, reply } = definition;
  for (const name of [...keys, ...args, ...(rest ? [rest] : [])]) {
    // A local of the same name in the body would hide the key or argument.
    if (new RegExp(`\\blocal\\s+(function\\s+)?[\\w\\s,]*\\b${name}\\b\\s*[=(,\\n]`).test(body))
      throw new Error(`Lua script: the body redeclares ${name}`);
  }
  const locals = (names: readonly string[], table: string) =>
    names.length === 0 ? '' : `local ${names.join(', ')} = ${names.map((_, i) => `${table}[${i + 1}]`).join(', ')}\n`;
  const restTable = rest
    ? `local ${rest} = {}\nfor i = ${args.length + 1}, #ARGV do ${rest}[#${rest} + 1] = ARGV[i] end\n`
    : '';
  const source = `${locals(keys, 'KEYS')}${locals(args, 'ARGV')}${restTable}${body}`;
  return { name, keys, args, rest, source, sha: createHash('sha1').update(source).digest('hex'), reply };
}

/**
 * Runs a script by its SHA1 (EVALSHA), sending its source once when the server does not know it
 * yet, and returns its reply checked. A reply of the wrong shape gives the connection up: what
 * answers is not a Redis running the worker's scripts.
 */
export async function evalScript<K extends string, A extends string, R>(
  link: RedisLink,
  script: LuaScript<K, A, R>,
  call: ScriptCall<K, A>,
): Promise<R> {
  const operands = [
    script.keys.length,
    ...script.keys.map((name) => call.keys[name]),
    ...script.args.map((name) => call.args[name]),
    ...(call.rest ?? []),
  ];
  const what = `the ${script.name} script`;
  let reply;
  try {
    reply = await link.send(['EVALSHA', script.sha, ...operands], what);
  } catch (error) {
    if (!(error instanceof ErrorReply && error.message.startsWith('NOSCRIPT'))) throw error;
    reply = await link.send(['EVAL', script.source, ...operands], what);
  }
  try {
    return script.reply(reply, `${what}'s reply`);
  } catch (error) {
    if (error instanceof UnexpectedReplyError) link.fail(error);
    throw error;
  }
}
