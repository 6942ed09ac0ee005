import { createHash } from 'node:crypto';
import { RedisReplyError, type RespClient } from './resp-client';

/**
 * A Lua script whose keys and arguments have names. The source begins with `local <name> =
 * KEYS[i]` and `local <name> = ARGV[i]` in the declared order, and a call passes them by name, so
 * no call site can put them in the wrong order.
 */
export interface LuaScript<K extends string, A extends string> {
  readonly keys: readonly K[];
  readonly args: readonly A[];
  /** Name of a Lua table that receives the arguments after the named ones, if the script takes any. */
  readonly rest?: string;
  readonly source: string;
  readonly sha: string;
}

export interface ScriptCall<K extends string, A extends string> {
  readonly keys: Readonly<Record<K, string>>;
  readonly args: Readonly<Record<A, string | number>>;
  readonly rest?: readonly string[];
}

export function luaScript<const K extends string, const A extends string>(definition: {
  keys: readonly K[];
  args: readonly A[];
  rest?: string;
  body: string;
}): LuaScript<K, A> {
  const { keys, args, rest, body } = definition;
  for (const name of [...keys, ...args, ...(rest ? [rest] : [])]) {
    // A local of the same name in the body would hide the key or argument.
    if (new RegExp(`\\blocal\\s+(function\\s+)?[\\w\\s,]*\\b${name}\\b\\s*[=(,\\n]`).test(body)) throw new Error(`Lua script: the body redeclares ${name}`);
  }
  const locals = (names: readonly string[], table: string) =>
    names.length === 0 ? '' : `local ${names.join(', ')} = ${names.map((_, i) => `${table}[${i + 1}]`).join(', ')}\n`;
  const restTable = rest ? `local ${rest} = {}\nfor i = ${args.length + 1}, #ARGV do ${rest}[#${rest} + 1] = ARGV[i] end\n` : '';
  const source = `${locals(keys, 'KEYS')}${locals(args, 'ARGV')}${restTable}${body}`;
  return { keys, args, rest, source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Runs a script by its SHA1 (EVALSHA), sending its source once when the server does not know it yet. */
export async function evalScript<K extends string, A extends string>(client: RespClient, script: LuaScript<K, A>, call: ScriptCall<K, A>): Promise<unknown> {
  const operands = [script.keys.length, ...script.keys.map((name) => call.keys[name]), ...script.args.map((name) => call.args[name]), ...(call.rest ?? [])];
  try {
    return await client.send(['EVALSHA', script.sha, ...operands]);
  } catch (error) {
    if (!(error instanceof RedisReplyError && error.message.startsWith('NOSCRIPT'))) throw error;
    return client.send(['EVAL', script.source, ...operands]);
  }
}
