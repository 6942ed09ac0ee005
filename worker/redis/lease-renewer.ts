import { queueKeys } from '../../contract';
import type { RedisConnection } from './connection';
import { RENEW } from './scripts/renew';

/** A claimed item as Redis knows it: its token names the worker that holds it. */
export interface HeldToken {
  readonly token: string;
  readonly item: string;
  /**
   * When its lease ends at the earliest, by this worker's clock: the lease length after the claim
   * or the last renewal that found it was sent (Redis counts from when it ran the call, later).
   */
  leaseEnds: number;
  /** Set when a renewal found the token gone while its lease had not ended: Redis lost it. */
  vanished?: boolean;
}

/**
 * Keeps the leases of the tokens a worker holds: renews them all in one call every third of the
 * lease length. A token another worker took over (its lease had expired) is no longer renewed;
 * its completion reports it.
 */
export class LeaseRenewer {
  private readonly held = new Map<string, HeldToken>();
  private timer?: NodeJS.Timeout;
  private renewing = false;

  constructor(
    private readonly connection: RedisConnection,
    private readonly queue: string,
    private readonly leaseMs: number,
  ) {}

  hold(tokens: readonly HeldToken[]): void {
    for (const held of tokens) this.held.set(held.token, held);
    if (this.held.size > 0 && !this.timer) {
      this.timer = setInterval(() => void this.renew(), Math.max(50, this.leaseMs / 3));
      this.timer.unref();
    }
  }

  /** Stops renewing these tokens; returns them in order. */
  forget(tokens: readonly HeldToken[]): string[] {
    return tokens.map(({ token }) => {
      this.held.delete(token);
      return token;
    });
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /**
   * Whether a token found gone at `at` (when the call that found it was sent) was still leased to
   * this worker then, with a third of the lease to spare: no other worker can have taken it over,
   * so Redis itself lost it (a restart or failover without its last writes).
   */
  leasedAt(held: HeldToken, at: number): boolean {
    return held.vanished === true || at < held.leaseEnds - this.leaseMs / 3;
  }

  private async renew(): Promise<void> {
    if (this.held.size === 0 || this.renewing) return;
    this.renewing = true;
    try {
      let sentAt = Date.now();
      const renewing = [...this.held.values()];
      const lost = new Set(
        await this.connection.run(RENEW, () => {
          sentAt = Date.now();
          return {
            keys: { leases: queueKeys(this.queue).leases },
            args: { leaseMs: this.leaseMs, tokenList: renewing.map((h) => h.token).join('\n') },
          };
        }),
      );
      for (const held of renewing) {
        if (!lost.has(held.token)) held.leaseEnds = sentAt + this.leaseMs;
        else {
          if (this.leasedAt(held, sentAt)) held.vanished = true;
          this.held.delete(held.token);
        }
      }
    } catch {
      // A lost connection is re-established (or given up) for every operation that needs it.
    } finally {
      this.renewing = false;
    }
  }
}
