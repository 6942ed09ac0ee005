import { Env, ExitCode } from '../contract';
import type { SeedMarker } from './queue';
import { sleep } from './sleep';

/** First pause between looks at an empty queue whose seed is not complete, doubled up to MAX_POLL_MS. */
const FIRST_POLL_MS = 100;
/** Items that arrive are taken within a second; a waiting worker costs the broker one claim a second. */
const MAX_POLL_MS = 1000;
/**
 * A wait that follows progress (this worker took items, then found the queue empty again) is logged
 * only once it has lasted this long: a seeder between two chunks is no news.
 */
const QUIET_WAIT_MS = 5000;

export interface SeedWaitOptions {
  /**
   * The seed whose completion makes an empty queue done (SEED_ID).
   * @default - none: an empty queue is done
   */
  readonly seedId?: string;
  /** How long one wait may last (SEED_WAIT_SECONDS). */
  readonly waitSeconds: number;
  readonly queueName: string;
  /** Aborts the wait (SIGTERM): exit 143. */
  readonly signal: AbortSignal;
  readonly log: (line: string) => void;
}

/**
 * A worker's wait for its seed. With SEED_ID, an empty queue is done only when its seed marker
 * names that seed and counts all of its items; until then the worker looks again with a growing
 * pause, for at most SEED_WAIT_SECONDS from the moment the queue was found empty. Progress (items
 * to take) ends a wait, and a later empty queue starts a new one. Without SEED_ID every empty queue
 * is done, as for a queue that another producer fills.
 */
export class SeedWait {
  /** When the current wait began; undefined while the worker is not waiting. */
  private since?: number;
  private pollMs = FIRST_POLL_MS;
  private waitsBegun = 0;
  private logged = false;

  constructor(private readonly options: SeedWaitOptions) {}

  /** Whether an empty queue with this marker (as the claim that found it empty read it) is done. */
  complete(marker: SeedMarker | undefined): boolean {
    const { seedId } = this.options;
    return seedId === undefined || (marker !== undefined && marker.id === seedId && marker.pushed === marker.total);
  }

  /** The queue was not empty, or others hold its items: a wait in progress ends. */
  progress(): void {
    this.since = undefined;
  }

  /**
   * Waits a little before the next look at the queue, whose seed is not complete yet. Resolves
   * with the exit code when the wait is over (4: SEED_WAIT_SECONDS passed, 143: SIGTERM), or
   * with undefined to look again.
   */
  async pause(marker: SeedMarker | undefined): Promise<number | undefined> {
    const { seedId, waitSeconds, log, signal, queueName } = this.options;
    // `complete` is true for every marker without SEED_ID, so a worker never waits then.
    if (seedId === undefined) throw new Error('SeedWait.pause: there is no seed to wait for without SEED_ID');
    const now = Date.now();
    if (this.since === undefined) {
      this.since = now;
      this.pollMs = FIRST_POLL_MS;
      this.logged = false;
      if (this.waitsBegun++ === 0) this.logStart(seedId, marker);
    } else if (!this.logged && now - this.since >= QUIET_WAIT_MS) this.logStart(seedId, marker);
    const left = this.since + waitSeconds * 1000 - now;
    if (left <= 0) {
      log(
        `queue ${queueName} stayed empty for ${waitSeconds} s (${Env.seedWaitSeconds}) without seed ${seedId} complete, showing ${this.shows(marker)}: giving up (exit ${ExitCode.seedIncomplete})`,
      );
      return ExitCode.seedIncomplete;
    }
    if (!(await sleep(Math.min(this.pollMs, left), signal))) return ExitCode.interrupted;
    this.pollMs = Math.min(this.pollMs * 2, MAX_POLL_MS);
    return undefined;
  }

  private logStart(seedId: string, marker: SeedMarker | undefined): void {
    this.logged = true;
    const { queueName, waitSeconds } = this.options;
    this.options.log(
      `queue ${queueName} is empty, showing ${this.shows(marker)}: waiting up to ${waitSeconds} s for seed ${seedId} to complete`,
    );
  }

  /** What the queue's seed marker shows, in words. */
  private shows(marker: SeedMarker | undefined): string {
    if (!marker) return 'no seed marker (no seed has begun)';
    if (marker.id !== this.options.seedId)
      return `the seed marker of another seed, ${marker.id} (${marker.pushed} of ${marker.total} items)`;
    return `its seed at ${marker.pushed} of ${marker.total} items`;
  }
}
