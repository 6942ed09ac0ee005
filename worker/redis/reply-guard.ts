import { MalformedReplyError, ReplyFraming } from './reply-framing';

/**
 * Puts ReplyFraming in front of node-redis' decoder, where the bytes of the replies arrive after
 * TLS, for `redis://` and `rediss://` alike. node-redis' decoder keeps the parts of a reply until
 * it is complete and has no bound of its own (a `$2000000000` header, or an endless line, grows
 * memory until the process dies); Node.js announces the sockets a library creates only for TCP
 * ('net.client.socket'), not for TLS, and node-redis does not hand out its socket. What the guard
 * or the decoder throws, node-redis catches and emits as the client's 'error' event, where the
 * connection is destroyed; an exception of the decoder becomes a MalformedReplyError.
 */
export function guardReplies(client: { _getQueue(): { decoder: { write(chunk: Buffer): void } } }, maxBytes: number): void {
  // The queue and its decoder are node-redis internals (`_getQueue` is marked internal): the
  // decoder is the one place every reply byte passes. Pinned with the package; the RedisLink and
  // peer tests (`$2000000000`, an endless line, random bytes) fail if it moves.
  const decoder = client._getQueue().decoder;
  const decode = decoder.write.bind(decoder);
  const framing = new ReplyFraming(maxBytes);
  decoder.write = (chunk: Buffer) => {
    framing.scan(chunk);
    try {
      decode(chunk);
    } catch (error) {
      throw new MalformedReplyError(`a reply Redis could not have sent (${describeDecoderError(error)})`, { cause: error });
    }
  };
}

/** The decoder's own message, except where it fails on a reply that no command waits for. */
function describeDecoderError(error: unknown): string {
  // node-redis hands a complete reply to the oldest waiting command; with none waiting it fails
  // reading that command (a TypeError): the peer sent more replies than it was sent commands.
  if (error instanceof TypeError) return 'more replies than commands';
  // The message may quote a byte it stumbled on, which may be a control character.
  return (error as Error).message.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
