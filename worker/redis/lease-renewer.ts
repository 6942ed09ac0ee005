import { queueKeys } from '../contract';
import type { RedisConnection } from './connection';
import { RENEW } from './scripts/renew';

/** A claimed item as Redis knows it: its token names the worker that holds it. */
export interface HeldToken {
  readonly token: string;
  readonly item: string;
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

  private async renew(): Promise<void> {
    if (this.held.size === 0 || this.renewing) return;
    this.renewing = true;
    try {
      const lost = (await this.connection.run(RENEW, {
        keys: { leases: queueKeys(this.queue).leases },
        args: { leaseMs: this.leaseMs, tokenList: [...this.held.keys()].join('\n') },
      })) as string[];
      for (const token of lost) this.held.delete(token);
    } catch {
      // A lost connection is re-established (or given up) for every operation that needs it.
    } finally {
      this.renewing = false;
    }
  }
}
