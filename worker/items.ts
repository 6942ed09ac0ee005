import { readFileSync } from 'node:fs';
import { Env, checkItems, describeProblem } from './contract';
import { badInput } from './errors';
import type { Environment } from './config';

/** The items to seed: the command's arguments, or the JSON array of strings in ITEMS_FILE. */
export function readItems(args: readonly string[], env: Environment): string[] {
  const file = env[Env.itemsFile]?.trim() ? env[Env.itemsFile] : undefined;
  if (args.length > 0 && file !== undefined) {
    throw badInput([describeProblem(Env.itemsFile, file, 'no ITEMS_FILE when items are given as arguments to seed (give one or the other)')]);
  }
  if (args.length > 0) return check('items', [...args]);
  if (file === undefined) {
    throw badInput([describeProblem(Env.itemsFile, env[Env.itemsFile], 'the path of a JSON array of strings, or items as arguments to seed')]);
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw badInput([describeProblem(Env.itemsFile, file, `a readable file holding a JSON array of strings (${(error as NodeJS.ErrnoException).code ?? String(error)})`)]);
  }
  let items: unknown;
  try {
    items = JSON.parse(text);
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    throw badInput([describeProblem(Env.itemsFile, file, `a file holding a JSON array of strings, but it is not JSON (${reason})`)]);
  }
  return check(Env.itemsFile, items);
}

function check(field: string, items: unknown): string[] {
  const problem = checkItems(items);
  if (problem) throw badInput([describeProblem(`${field}${problem.where}`, problem.value, problem.expected)]);
  return items as string[];
}
