import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ItemFiles as ItemFileLayout } from '../../contract';

/** Item files by first index: `{ 0: ['a', 'b'], 2: ['c'] }` for items-0.json and items-2.json. */
export type ItemFiles = Record<number, readonly string[]>;

/**
 * Directories laid out as the kubelet writes a ConfigMap volume: the files in a timestamped
 * directory, a `..data` link to it, and each file a link through `..data`.
 */
export class ItemsVolumes {
  private readonly root = mkdtempSync(path.join(tmpdir(), 'work-queue-indexed-'));
  private count = 0;

  /** A volume of item files (JSON arrays), and of any other files given by name (raw contents). */
  volume(items: ItemFiles, others: Record<string, string | Buffer> = {}): string {
    const contents: Record<string, string | Buffer> = { ...others };
    for (const [first, list] of Object.entries(items))
      contents[ItemFileLayout.fileName(Number(first))] = JSON.stringify(list);
    const directory = path.join(this.root, `volume-${++this.count}`);
    const data = '..2024_06_01_12_00_00.123456789';
    mkdirSync(path.join(directory, data), { recursive: true });
    for (const [name, content] of Object.entries(contents)) {
      writeFileSync(path.join(directory, data, name), content);
      symlinkSync(path.join('..data', name), path.join(directory, name));
    }
    symlinkSync(data, path.join(directory, '..data'));
    return directory;
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
