import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { checkItems, describeProblem } from '../contract';
import { badInput } from './errors';

/** A JSON file of items, and how its problems are worded: `<field>: got "<path>", expected ...`. */
export interface JsonFile {
  /** The variable that names the file (or its directory). */
  readonly field: string;
  readonly path: string;
  /** What the file should hold, as a problem line says it: "a JSON array of strings". */
  readonly holds: string;
  /** Its largest size. */
  readonly maxBytes: number;
  /** What is expected of a file larger than `maxBytes`, given its size ("1234 bytes", "more than 1024 bytes"). */
  readonly tooLarge: (size: string) => string;
}

/**
 * The file's JSON value, read as bytes (at most `maxBytes`) and decoded keeping any byte that is
 * not UTF-8 (decodeKeepingInvalidBytes), so that the item holding it fails the item rule
 * (describeItemProblem names the bytes).
 */
export function readJsonFile(file: JsonFile): unknown {
  const bytes = readBounded(file);
  try {
    return JSON.parse(decodeKeepingInvalidBytes(bytes));
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0];
    throw badInput([
      describeProblem(file.field, file.path, `a file holding ${file.holds}, but it is not JSON (${reason})`),
    ]);
  }
}

/**
 * The file's bytes, at most `maxBytes`: a larger regular file fails before it is read, anything
 * else (a pipe, a file that grows) once it has given more than that.
 */
function readBounded(file: JsonFile): Buffer {
  const { path, maxBytes } = file;
  const unreadable = (error: unknown) =>
    badInput([
      describeProblem(
        file.field,
        path,
        `a readable file holding ${file.holds} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      ),
    ]);
  const tooLarge = (size: string) => badInput([describeProblem(file.field, path, file.tooLarge(size))]);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw unreadable(error);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isFile() && stat.size > maxBytes) throw tooLarge(`${stat.size} bytes`);
    const chunks: Buffer[] = [];
    let total = 0;
    // A regular file in one read of its size (and a byte more, to see that it grew); anything else in chunks.
    for (let next = stat.isFile() ? stat.size + 1 : READ_CHUNK_BYTES; ; next = READ_CHUNK_BYTES) {
      const chunk = Buffer.allocUnsafe(Math.min(next, maxBytes + 1 - total));
      let read: number;
      try {
        read = readSync(fd, chunk, 0, chunk.length, null);
      } catch (error) {
        // A directory (EISDIR), or a read that failed.
        throw unreadable(error);
      }
      if (read === 0) break;
      total += read;
      if (total > maxBytes) throw tooLarge(`more than ${maxBytes} bytes`);
      chunks.push(chunk.subarray(0, read));
    }
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}

const READ_CHUNK_BYTES = 16 * 1024 * 1024;

/** The items of `value`, or bad input naming the first problem: `<field>[3]: got ..., expected ...`. */
export function checkItemList(field: string, value: unknown): string[] {
  const problem = checkItems(value);
  if (!problem) return value as string[];
  const { where, expected } = problem;
  throw badInput([describeItemProblem(`${field}${where}`, problem.value, expected)]);
}

/**
 * The problem line of an item that fails the item rule. An item holding bytes that are not UTF-8
 * is shown as a reader of the file sees it, with the offending bytes named.
 */
export function describeItemProblem(field: string, value: unknown, expected: string): string {
  if (typeof value !== 'string' || !ESCAPED_BYTE.test(value)) return describeProblem(field, value, expected);
  const bytes = [...value.matchAll(ESCAPED_BYTES)].map(([escaped]) =>
    (escaped.charCodeAt(0) - ESCAPE_BASE).toString(16).padStart(2, '0'),
  );
  return describeProblem(
    field,
    value.replace(ESCAPED_BYTES, '\ufffd'),
    `valid UTF-8 text, but the file holds bytes there that are not UTF-8 (${bytes.join(' ')})`,
  );
}

/**
 * A byte that is not part of valid UTF-8 becomes the unpaired surrogate U+DC00 + byte (Python's
 * "surrogateescape"), which no valid UTF-8 decodes to: the item rule then rejects that very item,
 * where plain decoding would have turned the byte into U+FFFD silently.
 */
const ESCAPE_BASE = 0xdc00;
const ESCAPED_BYTE = /[\udc80-\udcff]/;
const ESCAPED_BYTES = /[\udc80-\udcff]/g;

export function decodeKeepingInvalidBytes(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    // Decoded piecewise below.
  }
  let text = '';
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    const length = utf8SequenceLength(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    text += bytes.toString('utf8', runStart, i) + String.fromCharCode(ESCAPE_BASE + bytes[i]);
    i += 1;
    runStart = i;
  }
  return text + bytes.toString('utf8', runStart, i);
}

/** Length of the valid UTF-8 sequence at `i` (RFC 3629: no overlongs, no surrogates, at most U+10FFFF), or 0. */
function utf8SequenceLength(bytes: Buffer, i: number): number {
  const lead = bytes[i];
  if (lead < 0x80) return 1;
  let length: number;
  let low = 0x80;
  let high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) length = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead === 0xe0) low = 0xa0;
    if (lead === 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead === 0xf0) low = 0x90;
    if (lead === 0xf4) high = 0x8f;
  } else return 0;
  if (i + length > bytes.length) return 0;
  if (bytes[i + 1] < low || bytes[i + 1] > high) return 0;
  for (let k = 2; k < length; k++) if (bytes[k + i] < 0x80 || bytes[k + i] > 0xbf) return 0;
  return length;
}
