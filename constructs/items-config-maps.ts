import { IndexedItems } from '../worker/contract';

/** One file of an Indexed Job's items: the items from index `first` on, as the JSON array its ConfigMap holds. */
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

const QUEUE_PATTERNS =
  'use the coarse or fine pattern, whose seeder puts the items on a queue, or keep large payloads in object storage with their keys as the items';

/**
 * Splits the items into files that each fit one ConfigMap applied by `kubectl apply`
 * (CHUNK_ANNOTATION_BYTES), in order; or names the first limit the list passes: an item too large
 * for a file, more than `IndexedItems.maxItems` items or `IndexedItems.maxTotalBytes` in all.
 */
export function splitItems(items: readonly string[]): ItemsChunk[] | ItemsProblem {
  if (items.length > IndexedItems.maxItems) {
    return { where: '', value: items, expected: `at most ${IndexedItems.maxItems} items in an Indexed Job, not ${items.length}: ${QUEUE_PATTERNS}` };
  }
  const totalBytes = Buffer.byteLength(JSON.stringify(items));
  if (totalBytes > IndexedItems.maxTotalBytes) {
    return {
      where: '',
      value: items,
      expected: `at most ${IndexedItems.maxTotalBytes / (1024 * 1024)} MiB of items in all as JSON (every pod of an Indexed Job mounts them all), not ${totalBytes} bytes: ${QUEUE_PATTERNS}`,
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
        expected: `an item that fits one ConfigMap as kubectl apply stores it (about ${Math.floor(CHUNK_ANNOTATION_BYTES / 1024)} KiB once escaped), not ${cost} bytes: ${QUEUE_PATTERNS}`,
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
    const code = character.codePointAt(0)!;
    if (character === '"' || character === '\\' || character === '\n' || character === '\r' || character === '\t') bytes += 1;
    else if (code < 0x20 || character === '<' || character === '>' || character === '&') bytes += 5;
    else if (code === 0x2028 || code === 0x2029) bytes += 3;
  }
  return bytes;
}
