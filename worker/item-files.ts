import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Env, ItemFiles, Rules, describeProblem } from '../contract';
import { badInput } from './errors';
import { checkItemList, describeItemProblem, readJsonFile } from './items';

/** An item file of ITEMS_DIRECTORY: its name and the index of its first item. */
interface ItemFile {
  readonly name: string;
  readonly first: number;
}

/**
 * Item `index` of the item files in `directory` (ItemFiles): taken from the file with the
 * largest first index not above it, the only file read. Anything that keeps the pod from its item
 * (no directory, no such file, a malformed file or item, an index past the last item) is bad input.
 */
export function readIndexedItem(directory: string, index: number): string {
  const files = itemFiles(directory);
  const at = files.filter(({ first }) => first <= index).length - 1;
  if (at < 0) {
    throw badInput([
      describeProblem(
        Env.itemsDirectory,
        directory,
        `item files from ${ItemFiles.fileName(0)} on, but the first is ${files[0].name}`,
      ),
    ]);
  }
  const file = files[at];
  const filePath = path.join(directory, file.name);
  const items = readJsonFile({
    field: Env.itemsDirectory,
    path: filePath,
    holds: 'a JSON array of strings',
    maxBytes: ItemFiles.maxFileBytes,
    tooLarge: (size) =>
      `a file of at most ${ItemFiles.maxFileBytes / 1024 / 1024} MiB (what a ConfigMap holds), but it has ${size}`,
  });
  if (!Array.isArray(items) || items.length === 0) {
    throw badInput([
      describeProblem(Env.itemsDirectory, filePath, 'a file holding a JSON array of at least one string'),
    ]);
  }
  const offset = index - file.first;
  if (offset >= items.length) throw badInput([pastItems(directory, index, file, items.length, files[at + 1])]);
  const item: unknown = items[offset];
  const expected = Rules.item(item);
  if (expected) throw badInput([describeItemProblem(`${Env.itemsDirectory}/${file.name}[${offset}]`, item, expected)]);
  return item as string;
}

/**
 * Every item of the item files in `directory`, in index order (what `seed` reads from
 * ITEMS_DIRECTORY): the files must continue one another, and hold at most `maxBytes` in all,
 * checked before any is read; `tooLarge` words the problem, given the size found.
 */
export function readAllItems(directory: string, maxBytes: number, tooLarge: (size: string) => string): string[] {
  const files = itemFiles(directory).map((file) => ({ ...file, path: path.join(directory, file.name) }));
  const total = files.reduce((sum, file) => sum + sizeOf(file.path), 0);
  if (total > maxBytes) throw badInput([describeProblem(Env.itemsDirectory, directory, tooLarge(`${total} bytes`))]);
  const items: string[] = [];
  for (const file of files) {
    if (file.first !== items.length) {
      throw badInput([
        describeProblem(
          Env.itemsDirectory,
          directory,
          `item files that continue one another, but ${file.name} follows ${items.length} items`,
        ),
      ]);
    }
    const field = `${Env.itemsDirectory}/${file.name}`;
    const value = readJsonFile({
      field: Env.itemsDirectory,
      path: file.path,
      holds: 'a JSON array of strings',
      maxBytes,
      tooLarge,
    });
    items.push(...checkItemList(field, value));
  }
  return items;
}

/** A file's size (following links, as the kubelet's item files are), or 0 when it cannot be read: reading it then says why. */
function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * The item files, by first index. Only names that match count: a ConfigMap volume also holds the
 * kubelet's `..data` link and timestamped directory (the item files are links into them).
 */
function itemFiles(directory: string): ItemFile[] {
  let names: string[];
  try {
    names = readdirSync(directory);
  } catch (error) {
    throw badInput([
      describeProblem(
        Env.itemsDirectory,
        directory,
        `a readable directory of item files ${ItemFiles.fileName(0)} and on (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      ),
    ]);
  }
  const files = names.flatMap((name) => {
    const match = ItemFiles.fileNamePattern.exec(name);
    return match ? [{ name, first: Number(match[1]) }] : [];
  });
  if (files.length === 0) {
    throw badInput([
      describeProblem(
        Env.itemsDirectory,
        directory,
        `a directory holding item files ${ItemFiles.fileName(0)} and on, but it holds none`,
      ),
    ]);
  }
  return files.sort((a, b) => a.first - b.first);
}

/** The problem of an index past the items of its file: past the last item, or in a gap before the next file. */
function pastItems(
  directory: string,
  index: number,
  file: ItemFile,
  count: number,
  next: ItemFile | undefined,
): string {
  if (!next)
    return describeProblem(
      Env.jobCompletionIndex,
      String(index),
      `an index below ${file.first + count}, the number of items in ${directory}`,
    );
  return describeProblem(
    Env.jobCompletionIndex,
    String(index),
    `an index of an item in ${directory}, but ${file.name} holds indexes ${file.first} to ${file.first + count - 1} and ${next.name} begins at ${next.first}`,
  );
}
