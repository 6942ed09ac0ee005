import type { QueueStatus } from './queue';

/**
 * How far back the rate looks: long enough to smooth the steps of items that take seconds each,
 * short enough to follow a change of pace (workers added or lost).
 */
export const RATE_WINDOW_MS = 20_000;

/** What the rate counts: `finished` = done + dead (Redis), `taken` = items off the queue, seeded - pending (RabbitMQ). */
export type RateBasis = 'finished' | 'taken';

/** One read of the queue, reduced to what the rate needs. */
export interface ProgressSample {
  /** A monotonic clock's milliseconds. */
  readonly atMs: number;
  /** Items through so far (by the basis); undefined when the broker cannot tell. */
  readonly through: number | undefined;
  /** Items still to go through: pending + in progress (Redis), pending (RabbitMQ). */
  readonly remaining: number;
}

export interface RateEstimate {
  /** Undefined with fewer than two comparable reads. */
  readonly itemsPerSecond: number | undefined;
  /** Seconds between the first and the last read measured over; 0 with one. */
  readonly windowSeconds: number;
  /** Rounded up; 0 when nothing remains, undefined when the rate is unknown or 0. */
  readonly etaSeconds: number | undefined;
}

/** Counts of a broker that tells done from in progress (Redis). */
type FinishedCounts = QueueStatus & { readonly done: number; readonly inProgress: number };

function countsFinished(s: QueueStatus): s is FinishedCounts {
  return s.inProgress !== undefined && s.done !== undefined;
}

/** Redis knows done and in progress; RabbitMQ only how many items left the queue. */
export function rateBasis(s: QueueStatus): RateBasis {
  return countsFinished(s) ? 'finished' : 'taken';
}

export function progressSample(s: QueueStatus, atMs: number): ProgressSample {
  if (countsFinished(s)) return { atMs, through: s.done + s.dead, remaining: s.pending + s.inProgress };
  return { atMs, through: s.taken === undefined ? undefined : s.taken + s.dead, remaining: s.pending };
}

/**
 * Items per second over the reads of the last `windowMs`, and the time the remaining items take at
 * that rate. A read whose count went back (dead items redriven, the queue seeded again with
 * --force) or is unknown starts the window afresh: the reads before it no longer compare.
 */
export class CompletionRate {
  /** The reads in the window, each with a known count. */
  private samples: { readonly atMs: number; readonly through: number }[] = [];

  /** @param windowMs @default RATE_WINDOW_MS */
  constructor(private readonly windowMs: number = RATE_WINDOW_MS) {}

  add(sample: ProgressSample): RateEstimate {
    const { atMs, through } = sample;
    const last = this.samples.at(-1);
    if (through === undefined || (last && (through < last.through || atMs < last.atMs))) this.samples = [];
    if (through !== undefined) this.samples.push({ atMs, through });
    // The oldest read goes once the next one alone spans the window.
    while (this.samples.length > 2 && atMs - this.samples[1].atMs >= this.windowMs) this.samples.shift();
    return this.estimate(sample.remaining);
  }

  private estimate(remaining: number): RateEstimate {
    const first = this.samples.at(0);
    const last = this.samples.at(-1);
    const spanMs = first && last ? last.atMs - first.atMs : 0;
    const itemsPerSecond = first && last && spanMs > 0 ? ((last.through - first.through) * 1000) / spanMs : undefined;
    let etaSeconds: number | undefined;
    if (remaining === 0) etaSeconds = 0;
    else if (itemsPerSecond) etaSeconds = Math.ceil(remaining / itemsPerSecond);
    return { itemsPerSecond, windowSeconds: spanMs / 1000, etaSeconds };
  }
}
