/**
 * What a seed interrupted and resumed leaves on a RabbitMQ queue, checked against its items: the
 * items up to some point x, then the items again from the resume point r on, with r <= x <= r + bound
 * (the items the broker had not confirmed to the seeder when it stopped, at most SEED_WINDOW).
 * Nothing missing, nothing foreign, order kept. Returns how many items are on the queue twice.
 */
export function expectResumedInOrder(
  onQueue: readonly string[],
  items: readonly string[],
  bound: number,
  resumedAt?: number,
): number {
  let r = resumedAt;
  if (r === undefined) {
    let matching = 0;
    while (matching < onQueue.length && matching < items.length && onQueue[matching] === items[matching]) matching++;
    r = items.length - (onQueue.length - matching);
  }
  const x = onQueue.length - (items.length - r);
  expect(x).toBeGreaterThanOrEqual(r);
  expect(x - r).toBeLessThanOrEqual(bound);
  expect(onQueue).toEqual([...items.slice(0, x), ...items.slice(r)]);
  return x - r;
}

/** The same without order (items of a cluster's resumed seed): none missing, none foreign, at most `bound` twice and none three times. */
export function expectAllOnce(
  onQueue: readonly string[],
  items: readonly string[],
  bound: number,
): { duplicated: number; missing: number } {
  const counts = new Map<string, number>();
  for (const item of onQueue) counts.set(item, (counts.get(item) ?? 0) + 1);
  const missing = items.filter((item) => !counts.has(item));
  const wanted = new Set(items);
  const foreign = [...counts.keys()].filter((item) => !wanted.has(item));
  const duplicated = [...counts.values()].filter((count) => count > 1);
  const result = { duplicated: duplicated.length, missing: missing.length };
  expect({ missing: missing.slice(0, 5), foreign: foreign.slice(0, 5) }).toEqual({ missing: [], foreign: [] });
  expect(duplicated.every((count) => count === 2)).toBe(true);
  expect(result.duplicated).toBeLessThanOrEqual(bound);
  return result;
}
