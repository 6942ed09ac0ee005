/**
 * The order in which `kubectl apply -f dir/` (or a GitOps sync) hands objects to the API server:
 * `forward` as kubectl does (files in lexical order, objects in file order), `reverse`, or
 * `random` from a seed (a small seeded generator, so a failing order can be replayed).
 */
export type ApplyOrder = 'forward' | 'reverse' | { readonly random: number };

export function ordered<T>(objects: readonly T[], order: ApplyOrder): T[] {
  if (order === 'forward') return [...objects];
  if (order === 'reverse') return [...objects].reverse();
  const next = mulberry32(order.random);
  const shuffled = [...objects];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
  }
  return shuffled;
}

/** A seed for a random order: APPLY_SEED when set (to replay a run), else a fresh one. */
export function randomSeed(): number {
  const given = process.env.APPLY_SEED;
  return given !== undefined && /^\d+$/.test(given) ? Number(given) : Math.floor(Math.random() * 2 ** 32);
}

export function describeOrder(order: ApplyOrder): string {
  return typeof order === 'string' ? order : `random (seed ${order.random}; APPLY_SEED=${order.random} replays it)`;
}

/** Mulberry32: 32 bits of state, enough to shuffle a few dozen objects reproducibly. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
