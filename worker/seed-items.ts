import { Env, MAX_ITEMS_FILE_BYTES, describeProblem } from '../contract';
import type { Environment } from './config';
import { badInput } from './errors';
import { readAllItems } from './item-files';
import { checkItemList, readJsonFile } from './items';

/** What is expected of items over MAX_ITEMS_FILE_BYTES: `what` is "a file" or "item files". */
const tooLarge = (what: string) => (size: string) =>
  `${what} of at most ${MAX_ITEMS_FILE_BYTES / 1024 / 1024} MiB (seed holds the items in memory), but it has ${size}; seed its items in several runs of smaller files`;

/**
 * The items to seed, from exactly one source: the command's arguments, the JSON array of strings
 * in ITEMS_FILE, or the item files in ITEMS_DIRECTORY (where the seeding Job mounts its ConfigMaps).
 */
export function readItems(args: readonly string[], env: Environment): string[] {
  const file = given(env, Env.itemsFile);
  const directory = given(env, Env.itemsDirectory);
  const sources = [
    args.length > 0 && 'arguments',
    file !== undefined && Env.itemsFile,
    directory !== undefined && Env.itemsDirectory,
  ].filter(Boolean);
  if (sources.length > 1) {
    const [field, value] = file !== undefined ? [Env.itemsFile, file] : [Env.itemsDirectory, directory];
    throw badInput([
      describeProblem(
        field,
        value,
        `one source of items, not ${sources.join(' and ')} (give the items as arguments, ${Env.itemsFile} or ${Env.itemsDirectory})`,
      ),
    ]);
  }
  if (args.length > 0) return checkItemList('items', [...args]);
  if (directory !== undefined) return readAllItems(directory, MAX_ITEMS_FILE_BYTES, tooLarge('item files'));
  if (file === undefined) {
    throw badInput([
      describeProblem(
        Env.itemsFile,
        env[Env.itemsFile],
        `the path of a JSON array of strings, a directory of item files in ${Env.itemsDirectory}, or items as arguments to seed`,
      ),
    ]);
  }
  const items = readJsonFile({
    field: Env.itemsFile,
    path: file,
    holds: 'a JSON array of strings',
    maxBytes: MAX_ITEMS_FILE_BYTES,
    tooLarge: tooLarge('a file'),
  });
  return checkItemList(Env.itemsFile, items);
}

/** A variable that names a path: unset and blank give undefined. */
function given(env: Environment, name: string): string | undefined {
  return env[name]?.trim() ? env[name] : undefined;
}
