import { createHash } from 'crypto';
import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { type Construct } from 'constructs';
import { checkItems, ItemFiles, ItemsMount } from '../contract';
import { fail } from './validate';

/** One file of a Job's items: the items from index `first` on, as the JSON array its ConfigMap holds. */
export interface ItemsChunk {
  readonly first: number;
  readonly json: string;
}

/**
 * Bytes a ConfigMap's items may take in `kubectl apply`'s last-applied annotation: client-side
 * apply stores the whole object there, and a Kubernetes object's annotations hold at most 256 KiB
 * in all (TotalAnnotationSizeLimitB); 4 KiB are left for the rest of the object (name, labels).
 * So every file fits `kubectl apply` and Argo CD's or Flux's client-side apply, not only
 * server-side apply and the ConfigMap's own 1 MiB.
 */
export const CHUNK_ANNOTATION_BYTES = 256 * 1024 - 4 * 1024;

/** Where items go over a limit, with what is expected instead. */
export interface ItemsProblem {
  readonly where: string;
  readonly value: unknown;
  readonly expected: string;
}

/** How many items a Job takes, and what a list over the limits is told to do instead. */
export interface ItemsLimits {
  /** @default - no limit of its own */
  readonly maxItems?: number;
  /** Bytes of the items in all, as one JSON array. */
  readonly maxTotalBytes: number;
  /** Why the Job has these limits, said after the limit: "in an Indexed Job (every pod mounts them all)". */
  readonly why: string;
  /** What to do with a list over them. */
  readonly instead: string;
}

/**
 * Splits the items into files that each fit one ConfigMap applied by `kubectl apply`
 * (CHUNK_ANNOTATION_BYTES), in order; or names the first limit the list passes: more items or
 * bytes than `limits` allow, or an item too large for a file.
 */
export function splitItems(items: readonly string[], limits: ItemsLimits): ItemsChunk[] | ItemsProblem {
  if (limits.maxItems !== undefined && items.length > limits.maxItems) {
    return {
      where: '',
      value: items,
      expected: `at most ${limits.maxItems} items ${limits.why}, not ${items.length}: ${limits.instead}`,
    };
  }
  const totalBytes = Buffer.byteLength(JSON.stringify(items));
  if (totalBytes > limits.maxTotalBytes) {
    return {
      where: '',
      value: items,
      expected: `at most ${limits.maxTotalBytes / (1024 * 1024)} MiB of items in all as JSON ${limits.why}, not ${totalBytes} bytes: ${limits.instead}`,
    };
  }
  const chunks: ItemsChunk[] = [];
  let first = 0;
  let used = 2; // the array's brackets
  for (let index = 0; index < items.length; index++) {
    const cost = annotationBytes(JSON.stringify(items[index])) + 1; // and its comma
    if (cost + 2 > CHUNK_ANNOTATION_BYTES) {
      return {
        where: `[${index}]`,
        value: items[index],
        expected: `an item that fits one ConfigMap as kubectl apply stores it (about ${Math.floor(CHUNK_ANNOTATION_BYTES / 1024)} KiB once escaped), not ${cost} bytes: ${limits.instead}`,
      };
    }
    if (used + cost > CHUNK_ANNOTATION_BYTES) {
      chunks.push({ first, json: JSON.stringify(items.slice(first, index)) });
      first = index;
      used = 2;
    }
    used += cost;
  }
  chunks.push({ first, json: JSON.stringify(items.slice(first)) });
  return chunks;
}

/**
 * The bytes `text` takes inside a JSON string as Go's encoding/json writes it, which is how kubectl
 * encodes the last-applied annotation: `"` and `\` escaped, control characters as `\n` or `\u00XX`,
 * and `<`, `>`, `&`, U+2028 and U+2029 as `\uXXXX` (its HTML-safe default).
 */
export function annotationBytes(text: string): number {
  let bytes = Buffer.byteLength(text);
  for (const character of text) {
    const code = character.codePointAt(0) ?? 0;
    if (character === '"' || character === '\\' || character === '\n' || character === '\r' || character === '\t')
      bytes += 1;
    else if (code < 0x20 || character === '<' || character === '>' || character === '&') bytes += 5;
    else if (code === 0x2028 || code === 0x2029) bytes += 3;
  }
  return bytes;
}

/** Pod annotation carrying the digest of the item list, so a changed list changes the Jobs' pod templates. */
export const ITEMS_DIGEST_ANNOTATION = 'work-queue-stack.io/items-sha256';

/** SHA-256 of the item list as its Jobs carry it (ITEMS_DIGEST_ANNOTATION). */
export function itemsDigest(items: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(items)).digest('hex');
}

/** Hex digits of a file's digest in its ConfigMap's name, as many as kustomize uses. */
const ITEMS_HASH_LENGTH = 10;

/**
 * The items, checked and split (`splitItems`), as content-named immutable ConfigMaps
 * `<name>-items-<hash>`, one file `ItemFiles.fileName(first)` each, in index order. Named by their
 * content as kustomize's configMapGenerator names them: a changed list is new ConfigMaps beside the
 * old ones, so a pod never mounts a list that is being replaced.
 */
export function itemsConfigMaps(
  scope: Construct,
  name: string,
  labels: Record<string, string>,
  items: string[],
  limits: ItemsLimits,
): kplus.ConfigMap[] {
  const problem = checkItems(items);
  if (problem) fail(scope, `items${problem.where}`, problem.value, problem.expected);
  const chunks = splitItems(items, limits);
  if (!Array.isArray(chunks)) fail(scope, `items${chunks.where}`, chunks.value, chunks.expected);
  return chunks.map(
    (chunk, k) =>
      new kplus.ConfigMap(scope, `Items${k}`, {
        metadata: { name: `${name}-items-${chunkHash(chunk)}`, labels },
        data: { [ItemFiles.fileName(chunk.first)]: chunk.json },
        immutable: true,
      }),
  );
}

/** A chunk's digest with its first index, so that equal chunks at other indexes differ. */
function chunkHash(chunk: ItemsChunk): string {
  return createHash('sha256').update(`${chunk.first}:${chunk.json}`).digest('hex').slice(0, ITEMS_HASH_LENGTH);
}

/**
 * Projects the items ConfigMaps into one read-only volume at ITEMS_DIRECTORY of the Job's
 * container (cdk8s-plus has no projected volumes, so it is patched in).
 */
export function mountItems(job: kplus.Job, configMaps: readonly kplus.ConfigMap[]): void {
  ApiObject.of(job).addJsonPatch(
    JsonPatch.add('/spec/template/spec/volumes/-', {
      name: 'items',
      projected: { sources: configMaps.map((configMap) => ({ configMap: { name: configMap.name } })) },
    }),
    JsonPatch.add('/spec/template/spec/containers/0/volumeMounts/-', {
      name: 'items',
      mountPath: ItemsMount.directory,
      readOnly: true,
    }),
  );
}
