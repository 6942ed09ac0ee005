import { ReplyTooLargeError } from '../broker-limits';

/** A reply Redis could not have sent: the bytes are not RESP (an HTTP or AMQP peer, random bytes). */
export class MalformedReplyError extends Error {}

/**
 * Bounds what a peer can make the client buffer: node-redis' decoder keeps the parts of a reply
 * until it is complete (a `$2000000000` header, or an endless line, grows memory until the process
 * dies) and has no limit of its own. The guard sits in front of the decoder, where the bytes of
 * the replies arrive after TLS, for `redis://` and `rediss://` alike: Node.js announces the
 * sockets a library creates only for TCP ('net.client.socket'), not for TLS, and node-redis does
 * not hand out its socket. Past `maxBytes` since the last complete reply (`replied()`), the chunk
 * is refused with ReplyTooLargeError; an exception of the decoder becomes a MalformedReplyError.
 * node-redis catches what its decoder throws and emits it as the client's 'error' event, where
 * the connection is destroyed.
 */
export class ReplyGuard {
  private received = 0;

  constructor(client: { _getQueue(): { decoder: { write(chunk: Buffer): void } } }, maxBytes: number) {
    // The queue and its decoder are node-redis internals (`_getQueue` is marked internal): the
    // decoder is the one place every reply byte passes. Pinned with the package; the peer tests
    // (`$2000000000`, an endless line, random bytes) fail if it moves.
    const decoder = client._getQueue().decoder;
    const decode = decoder.write.bind(decoder);
    decoder.write = (chunk: Buffer) => {
      this.received += chunk.length;
      if (this.received > maxBytes) throw new ReplyTooLargeError(this.received);
      try {
        decode(chunk);
      } catch (error) {
        throw new MalformedReplyError(`a reply Redis could not have sent (${describeDecoderError(error)})`, { cause: error });
      }
    };
  }

  /** A reply was complete: the next one is counted from here. */
  replied(): void {
    this.received = 0;
  }
}

/** The decoder's own message, except where it fails on a reply that no command waits for. */
function describeDecoderError(error: unknown): string {
  // node-redis hands a complete reply to the oldest waiting command; with none waiting it fails
  // reading that command (a TypeError): the peer sent more replies than it was sent commands.
  if (error instanceof TypeError) return 'more replies than commands';
  // The message quotes the byte it stumbled on, which may be a control character.
  return (error as Error).message.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
