import { ReplyTooLargeError } from '../broker-limits';
import { thrownMessage } from '../thrown';

/** A reply Redis could not have sent: node-redis' decoder refused its bytes (an HTTP or AMQP peer, random bytes). */
export class MalformedReplyError extends Error {}

/**
 * Bounds what a peer can make node-redis buffer: its decoder keeps the parts of a reply until it
 * is complete and has no bound of its own (an endless line grows memory until the process dies).
 * The guard counts the bytes that reach the decoder, after TLS, for `redis://` and `rediss://`
 * alike (Node.js announces the sockets a library creates only for TCP, and node-redis does not
 * hand out its socket); past `maxBytes` since the last answered command (`replied`), the chunk is
 * refused with ReplyTooLargeError. What the guard or the decoder throws, node-redis catches and
 * emits as the client's 'error' event, where the connection is destroyed; an exception of the
 * decoder becomes a MalformedReplyError. A length that never arrives (`$2000000000` and a
 * trickle, `$abc`) is ended by the command's deadline.
 */
export class ReplyGuard {
  private received = 0;

  constructor(client: { _getQueue(): { decoder: { write(chunk: Buffer): void } } }, maxBytes: number) {
    // The queue and its decoder are node-redis internals (`_getQueue` is marked internal): the
    // decoder is the one place every reply byte passes. The RedisLink and peer tests (an endless
    // line, random bytes) fail if it moves.
    const decoder = client._getQueue().decoder;
    const decode = decoder.write.bind(decoder);
    decoder.write = (chunk: Buffer) => {
      this.received += chunk.length;
      if (this.received > maxBytes) throw new ReplyTooLargeError(this.received);
      try {
        decode(chunk);
      } catch (error) {
        throw new MalformedReplyError(`a reply Redis could not have sent (${describeDecoderError(error)})`, {
          cause: error,
        });
      }
    };
  }

  /** A command was answered: the bytes of the next reply are counted from here. */
  replied(): void {
    this.received = 0;
  }
}

/** The decoder's own message, except where it fails on a reply that no command waits for. */
function describeDecoderError(error: unknown): string {
  // node-redis hands a complete reply to the oldest waiting command; with none waiting it fails
  // reading that command (a TypeError): the peer sent more replies than it was sent commands.
  if (error instanceof TypeError) return 'more replies than commands';
  // The message may quote a byte it stumbled on, which may be a control character.
  return thrownMessage(error).replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
