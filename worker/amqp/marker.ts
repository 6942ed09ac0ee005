import type { Channel, ConfirmChannel, GetMessage, MessagePropertyHeaders } from 'amqplib';
import type { SeedMarker } from '../queue';
import { sleep } from '../sleep';

/**
 * Headers of the seed marker, the one message of the marker queue. Seeded items carry the seed's
 * id, total and their own index too, so that an item on the queue says where it came from.
 */
export const Header = {
  id: 'x-seed-id',
  total: 'x-seed-total',
  index: 'x-seed-index',
  pushed: 'x-seed-pushed',
  seededBefore: 'x-seeded-before',
  /** Counts the marker's writes: the newest marker wins when a reader's requeue left an older one beside it. */
  sequence: 'x-seed-marker',
} as const;

/** The seed marker: the seed run, and how many of its items the queue has confirmed. */
export interface MarkerState extends SeedMarker {
  /** Items seeded onto the queue by earlier seed runs. */
  readonly seededBefore: number;
  readonly sequence: number;
}

/** A marker held by another reader is back on the queue within a round trip; this is ample. */
const HELD_RETRY_MS = 20;
const HELD_RETRIES = 50;
/** More than the marker queue ever holds: one marker, plus one requeued by each concurrent reader. */
const MAX_MARKER_MESSAGES = 10;

/**
 * Peeks at the seed marker: takes what the marker queue holds and puts it straight back. Nothing
 * taken while another reader holds the marker (it counts as a consumer then), or while the queue
 * counts a message, is asked again.
 */
export async function readMarker(channel: Channel, markerQueue: string): Promise<MarkerState | undefined> {
  for (let attempt = 0; ; attempt++) {
    const messages: GetMessage[] = [];
    while (messages.length < MAX_MARKER_MESSAGES) {
      const message = await channel.get(markerQueue, { noAck: false });
      if (message === false) break;
      messages.push(message);
    }
    // Back at the head of the queue, for the next reader.
    for (const message of messages) channel.nack(message, false, true);
    if (messages.length > 0) {
      const markers = messages.map((message) => parseMarker(message.properties.headers ?? {}));
      return markers.reduce(
        (newest, marker) => (marker && (!newest || marker.sequence > newest.sequence) ? marker : newest),
        undefined,
      );
    }
    const { consumerCount, messageCount } = await channel.checkQueue(markerQueue);
    if (attempt === HELD_RETRIES || (consumerCount === 0 && messageCount === 0)) return undefined;
    await sleep(HELD_RETRY_MS);
  }
}

/** Writes a marker; resolves when the broker confirms it (for a quorum queue: a majority of its members has it). */
export function publishMarker(channel: ConfirmChannel, markerQueue: string, marker: MarkerState): Promise<void> {
  const headers: MessagePropertyHeaders = {
    [Header.id]: marker.id,
    [Header.total]: marker.total,
    [Header.pushed]: marker.pushed,
    [Header.seededBefore]: marker.seededBefore,
    [Header.sequence]: marker.sequence,
  };
  return new Promise((resolve, reject) => {
    // amqplib calls back with an Error (a nack, a closed channel) or nothing.
    channel.sendToQueue(markerQueue, Buffer.alloc(0), { persistent: true, headers }, (error: Error | null) =>
      error ? reject(error) : resolve(),
    );
  });
}

function parseMarker(headers: Readonly<Record<string, unknown>>): MarkerState | undefined {
  const id: unknown = headers[Header.id];
  const numbers = [Header.total, Header.pushed, Header.seededBefore, Header.sequence].map((name) =>
    Number(headers[name]),
  );
  if (typeof id !== 'string' || !numbers.every(Number.isSafeInteger)) return undefined;
  const [total, pushed, seededBefore, sequence] = numbers;
  return { id, total, pushed, seededBefore, sequence };
}
