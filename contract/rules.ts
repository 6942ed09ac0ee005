import { type Rule } from './problem';

/** Longest queue name: leaves room for suffixes such as `.dead` under AMQP's 255-byte limit. */
export const MAX_QUEUE_NAME_LENGTH = 200;
const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

/** A name both brokers accept unchanged: AMQP forbids the `amq.` prefix and names over 255 bytes. */
const queueNameRule: Rule = (value) => {
  const expected = `a queue name of 1 to ${MAX_QUEUE_NAME_LENGTH} characters from A-Z a-z 0-9 . _ : - starting with a letter or digit, not beginning with "amq."`;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_QUEUE_NAME_LENGTH) return expected;
  if (!QUEUE_NAME.test(value) || value.startsWith('amq.')) return expected;
  return undefined;
};

/** Largest item: larger payloads belong in object storage, with their key as the item. */
export const MAX_ITEM_BYTES = 512 * 1024;

/**
 * Largest ITEMS_FILE (or ITEMS_DIRECTORY in all) `seed` reads, checked before reading it: seeding holds the items in memory,
 * and its peak resident memory was measured at up to SEED_MEMORY_PER_FILE_BYTE times the file
 * over SEED_BASE_MEMORY_MIB (the worst case: RabbitMQ, many items of a few bytes; Redis about a
 * third of that). The seeder Job's default memory limit is derived from them.
 */
export const MAX_ITEMS_FILE_BYTES = 8 * 1024 * 1024;
export const SEED_MEMORY_PER_FILE_BYTE = 40;
export const SEED_BASE_MEMORY_MIB = 64;

/** A UTF-16 surrogate without its partner: what invalid UTF-8 becomes once read into a string (see `items.ts`). */
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * An item is any string that is valid UTF-8, the empty string included (items are opaque: the
 * broker carries it, the command gets empty input), of at most MAX_ITEM_BYTES.
 */
const itemRule: Rule = (value) => {
  if (typeof value !== 'string') return 'a string';
  if (UNPAIRED_SURROGATE.test(value))
    return 'valid UTF-8 text (it holds bytes that are not UTF-8, or an unpaired UTF-16 surrogate)';
  if (Buffer.byteLength(value, 'utf8') > MAX_ITEM_BYTES)
    return `a string of at most ${MAX_ITEM_BYTES} bytes (512 KiB) in UTF-8`;
  return undefined;
};

/**
 * Checks a list of items. Returns the field suffix (`[3]`) and what is expected for the first bad
 * one, or undefined when all are fine.
 */
export function checkItems(items: unknown): { where: string; value: unknown; expected: string } | undefined {
  if (!Array.isArray(items)) return { where: '', value: items, expected: 'a JSON array of strings' };
  if (items.length === 0) return { where: '', value: items, expected: 'at least one item' };
  for (let i = 0; i < items.length; i++) {
    const expected = itemRule(items[i]);
    if (expected) return { where: `[${i}]`, value: items[i], expected };
  }
  return undefined;
}

/** Longest run label (SEED_RUN): a date or a ticket, as long as a Kubernetes label value may be. */
export const MAX_SEED_RUN_LENGTH = 63;

/**
 * A run label goes into the seed id exactly as given (the constructs hash it at synth, the seeder
 * in its pod), so it is checked rather than trimmed: printable ASCII, no space at either end.
 */
const seedRunRule: Rule = (value) =>
  typeof value === 'string' && value.length <= MAX_SEED_RUN_LENGTH && /^[!-~]([ -~]*[!-~])?$/.test(value)
    ? undefined
    : `a run label of 1 to ${MAX_SEED_RUN_LENGTH} printable ASCII characters (letters, digits, punctuation, inner spaces), such as 2024-06-01 or rerun-2; unset for the items' first run`;

/** What `Rules.nonNegativeInteger` expects, for a message about a value that is missing. */
export const NON_NEGATIVE_INTEGER = 'a whole number of at least 0';

const nonNegativeIntegerRule: Rule = (value) =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 ? undefined : NON_NEGATIVE_INTEGER;

const positiveIntegerRule: Rule = (value) =>
  typeof value === 'number' && Number.isInteger(value) && value >= 1 ? undefined : 'a whole number of at least 1';

const nonNegativeNumberRule: Rule = (value) =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? undefined : 'a finite number of at least 0';

const positiveNumberRule: Rule = (value) =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? undefined : 'a finite number greater than 0';

/** Longest work timeout: Node.js timers hold at most 2^31 - 1 ms (24.8 days). */
export const MAX_WORK_TIMEOUT_SECONDS = 2_147_483;

const workTimeoutRule: Rule = (value) =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= MAX_WORK_TIMEOUT_SECONDS
    ? undefined
    : `a number of seconds greater than 0 and at most ${MAX_WORK_TIMEOUT_SECONDS} (24.8 days)`;

/** The name Sentinels know a replicated Redis' primary by, as a `redis+sentinel://` URL's path carries it. */
const sentinelMasterRule: Rule = (value) =>
  typeof value === 'string' && /^[A-Za-z0-9._-]{1,200}$/.test(value)
    ? undefined
    : 'a Sentinel master name of 1 to 200 letters, digits, ".", "_" or "-"';

/**
 * The rules that construct props, stack config and the worker's start-up checks share; the rules
 * only props and stack config have are `PropRules` (kubernetes-rules.ts).
 */
export const Rules = {
  queueName: queueNameRule,
  item: itemRule,
  seedRun: seedRunRule,
  positiveInteger: positiveIntegerRule,
  nonNegativeInteger: nonNegativeIntegerRule,
  positiveNumber: positiveNumberRule,
  nonNegativeNumber: nonNegativeNumberRule,
  workTimeout: workTimeoutRule,
  sentinelMaster: sentinelMasterRule,
} as const satisfies Record<string, Rule>;

/** Parses a numeric environment variable as the worker does; '' and unset give undefined. */
export function parseNumber(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  return /^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*$/.test(text) ? Number(text) : NaN;
}
