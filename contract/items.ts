import { createHash } from 'node:crypto';

/**
 * The id of a seed: a content hash of the item list (and of the run label, when there is one), so
 * that a re-run of the same list is recognised and a changed list, or another run, is a new seed.
 * The constructs compute it at synth for the workers' `SEED_ID`; `seed` computes it from its items.
 */
export function seedId(items: readonly string[], run?: string): string {
  const content = run === undefined || run === '' ? JSON.stringify(items) : JSON.stringify({ items, run });
  return createHash('sha256').update(content).digest('hex').slice(0, 32);
}

/** Where the seeding Job and the Indexed Job mount their items ConfigMaps (ITEMS_DIRECTORY). */
export const ItemsMount = {
  directory: '/etc/work-queue',
} as const;

/**
 * How a Job's items reach its pods (ITEMS_DIRECTORY): split over files named `items-<first>.json`
 * (one per ConfigMap, all projected into one volume), each a JSON array of strings whose first item
 * has index `<first>`. `seed` reads them all, in order; a pod of an Indexed Job only the file that
 * holds its index: the one with the largest `first` not above it.
 */
export const ItemFiles = {
  fileName: (first: number): string => `items-${first}.json`,
  /** Matches a file name of `fileName`; group 1 is `first`. Other entries (the kubelet's `..data`) are not item files. */
  fileNamePattern: /^items-(0|[1-9][0-9]*)\.json$/,
  /** Largest file read: a ConfigMap holds at most 1 MiB. */
  maxFileBytes: 1024 * 1024,
} as const;

/** The limits of an Indexed Job's items (WORKER_MODE=indexed). */
export const IndexedItems = {
  /**
   * Most items of an Indexed Job: Kubernetes tracks at most 10^5 indexes of a Job with
   * `backoffLimitPerIndex` unless `maxFailedIndexes` is set, and a pod per item is a lot of pods.
   */
  maxItems: 100_000,
  /** Most bytes of items in all (JSON): every pod mounts every file, and the kubelet writes them into each pod's volume. */
  maxTotalBytes: 8 * 1024 * 1024,
} as const;
