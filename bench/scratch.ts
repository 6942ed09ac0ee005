import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

/** The bench's own temporary directory: the worker bundle, item files, the private Redis. */
export const scratch = mkdtempSync(join(tmpdir(), 'work-queue-bench-'));

export function removeScratch(): void {
  rmSync(scratch, { recursive: true, force: true });
}

/** `count` distinct items: `item-0`, `item-1`, … */
export function items(count: number, prefix = 'item'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

let files = 0;
/** Writes the items as the JSON file ITEMS_FILE names; returns its path. */
export function itemsFile(list: readonly string[]): string {
  const file = join(scratch, `items-${list.length}-${files++}.json`);
  writeFileSync(file, JSON.stringify(list));
  return file;
}
