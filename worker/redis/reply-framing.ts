import { ReplyTooLargeError } from '../broker-limits';

/** Bytes that are not a RESP2 reply Redis could send: the peer is not Redis (or breaks its protocol). */
export class MalformedReplyError extends Error {}

const CR = 0x0d;
const LF = 0x0a;
/** RESP2's reply types: `+` status, `-` error, `:` integer, `$` bulk string, `*` array. */
const SIMPLE = new Set([0x2b, 0x2d]);
const INTEGER = 0x3a;
const BULK = 0x24;
const ARRAY = 0x2a;
/** The longest header line a number fits in (`:-9223372036854775808`). */
const MAX_NUMBER_LENGTH = 20;
/** The fewest bytes an array element takes (`:0\r\n`), to bound what an array's count promises. */
const MIN_ELEMENT_BYTES = 4;

/**
 * Follows where each RESP2 reply begins and ends, without decoding it (node-redis does that), so
 * that a peer fails as soon as its bytes cannot be Redis' instead of when the reply timeout ends:
 * a type byte Redis does not send (HTTP, AMQP, random bytes), a length that is not a number
 * (`$abc`, which node-redis' decoder reads as a length all the same and then waits for), a length
 * or a reply past `maxBytes` (`$2000000000`, an endless line). Bulk payloads are skipped by their
 * length, not scanned.
 */
export class ReplyFraming {
  /** Elements still due in each array being received, innermost last. */
  private readonly due: number[] = [];
  private state: 'type' | 'line' | 'payload' = 'type';
  private type = 0;
  /** The header line so far, for the types whose line is a number. */
  private line = '';
  /** Bytes of the bulk payload still to come, its CRLF included. */
  private payloadLeft = 0;
  /** Bytes of the reply being received. */
  private replyBytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Follows one chunk; throws MalformedReplyError or ReplyTooLargeError. */
  scan(chunk: Buffer): void {
    this.replyBytes += chunk.length;
    let at = 0;
    while (at < chunk.length) {
      if (this.state === 'payload') {
        const taken = Math.min(this.payloadLeft, chunk.length - at);
        at += taken;
        this.payloadLeft -= taken;
        if (this.payloadLeft === 0) this.valueDone(chunk.length - at);
      } else if (this.state === 'type') {
        this.type = chunk[at++];
        if (!SIMPLE.has(this.type) && this.type !== INTEGER && this.type !== BULK && this.type !== ARRAY) {
          throw new MalformedReplyError(`a reply that begins with byte 0x${this.type.toString(16).padStart(2, '0')}, which no Redis reply does`);
        }
        this.state = 'line';
        this.line = '';
      } else {
        const end = chunk.indexOf(LF, at);
        const stop = end < 0 ? chunk.length : end + 1;
        if (!SIMPLE.has(this.type)) {
          this.line += chunk.toString('latin1', at, stop);
          if (this.line.length > MAX_NUMBER_LENGTH + 2) throw this.notANumber();
        }
        at = stop;
        if (end >= 0) this.lineDone(chunk.length - at);
      }
    }
    if (this.replyBytes > this.maxBytes) throw new ReplyTooLargeError(this.replyBytes);
  }

  /** A header line ended; `rest`: bytes of the chunk after it. */
  private lineDone(rest: number): void {
    if (SIMPLE.has(this.type)) return this.valueDone(rest);
    if (this.line.charCodeAt(this.line.length - 2) !== CR) throw this.notANumber();
    const text = this.line.slice(0, -2);
    if (!/^(0|-1|-?[1-9]\d*)$/.test(text)) throw this.notANumber();
    const value = Number(text);
    if (this.type === INTEGER || value < 0) return this.valueDone(rest);
    const promised = this.type === BULK ? value : value * MIN_ELEMENT_BYTES;
    if (promised > this.maxBytes) throw new ReplyTooLargeError(promised);
    if (this.type === BULK) {
      this.state = 'payload';
      this.payloadLeft = value + 2;
    } else if (value === 0) {
      this.valueDone(rest);
    } else {
      this.due.push(value);
      this.state = 'type';
    }
  }

  /** A value ended: it completes its array, and perhaps the arrays around it, and perhaps the reply. */
  private valueDone(rest: number): void {
    this.state = 'type';
    while (this.due.length > 0) {
      const left = this.due.pop()! - 1;
      if (left > 0) return void this.due.push(left);
    }
    // The reply is complete: the next one counts from the rest of this chunk.
    const size = this.replyBytes - rest;
    if (size > this.maxBytes) throw new ReplyTooLargeError(size);
    this.replyBytes = rest;
  }

  private notANumber(): MalformedReplyError {
    const shown = JSON.stringify(this.line.replace(/\r?\n$/, '').slice(0, MAX_NUMBER_LENGTH));
    return new MalformedReplyError(
      `a reply whose ${this.type === ARRAY ? 'element count' : this.type === BULK ? 'length' : 'integer'} is not a number: ${shown}`,
    );
  }
}
