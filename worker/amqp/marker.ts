import type { ConfirmChannel, MessagePropertyHeaders } from 'amqplib';
import type { SeedMarker } from '../queue';

/**
 * The seed marker: every seeded item carries these headers and is also published (CC) to the
 * marker queue, which keeps only the newest message; `started` and `complete` markers bracket a run.
 */
export const Header = {
  id: 'x-seed-id',
  total: 'x-seed-total',
  index: 'x-seed-index',
  state: 'x-seed-state',
  seededBefore: 'x-seeded-before',
} as const;

/** A marker read from the seed marker queue. */
export interface MarkerState extends SeedMarker {
  /** Items seeded onto the queue by earlier seed runs. */
  readonly seededBefore: number;
}

/** Peeks at the seed marker: takes it and puts it straight back. */
export async function readMarker(channel: ConfirmChannel, markerQueue: string): Promise<MarkerState | undefined> {
  const message = await channel.get(markerQueue, { noAck: false });
  if (message === false) return undefined;
  channel.nack(message, false, true);
  return parseMarker(message.properties.headers ?? {});
}

/** Publishes a `started` or `complete` marker and waits for the broker's confirm. */
export async function publishMarker(channel: ConfirmChannel, markerQueue: string, headers: MessagePropertyHeaders): Promise<void> {
  channel.sendToQueue(markerQueue, Buffer.alloc(0), { persistent: true, headers });
  await channel.waitForConfirms();
}

function parseMarker(headers: MessagePropertyHeaders): MarkerState | undefined {
  const id = headers[Header.id];
  if (typeof id !== 'string') return undefined;
  const total = Number(headers[Header.total] ?? 0);
  const state = headers[Header.state];
  const pushed = state === 'complete' ? total : state === 'started' ? 0 : Number(headers[Header.index] ?? -1) + 1;
  return { id, total, pushed, seededBefore: Number(headers[Header.seededBefore] ?? 0) };
}
