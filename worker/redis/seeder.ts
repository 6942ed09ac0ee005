import { randomBytes } from 'node:crypto';
import type { BrokerConfig } from '../config';
import { ExitCode, TRACE_CONTEXT_TTL_MS, queueKeys, redisSeedRunKey } from '../../contract';
import { CliError, queueDataLost } from '../errors';
import type { ConnectOptions, SeedOptions, SeedStart, Seeder } from '../queue';
import { storedTraceContext } from '../trace-context';
import { brokerAt } from '../unreachable';
import { replyTimeoutMs } from '../broker-limits';
import type { RedisLink } from './client';
import { NotReplicatedError, RedisConnection } from './connection';
import { integer } from './reply';
import { evalScript } from './script';
import { SEED_BEGIN } from './scripts/seed-begin';
import { SEED_CHUNK } from './scripts/seed-chunk';
import { SEED_RUN_COUNT } from './scripts/seed-run-count';

/** Items per seeding chunk, and bytes, whichever is reached first. */
const SEED_CHUNK_ITEMS = 1000;
const SEED_CHUNK_BYTES = 1024 * 1024;
/** Chunks sent before the first reply is awaited. */
const SEED_WINDOW = 4;
/** How long a window waits for a replica to confirm it (WAIT), at most; half the reply deadline when that is shorter. */
const REPLICA_WAIT_MS = 5000;

export async function openRedisSeeder(broker: BrokerConfig, queue: string, options: ConnectOptions): Promise<Seeder> {
  return new RedisSeeder(await RedisConnection.open(broker, options), broker, queue, options);
}

/**
 * The Redis side of `seed`: the marker `{QUEUE}:seed` counts the items of the seed on the queue,
 * and each chunk is appended only at exactly that count, so a rerun, a second seeder or a window
 * repeated after a lost connection never adds a chunk twice.
 */
class RedisSeeder implements Seeder {
  private readonly keys: ReturnType<typeof queueKeys>;
  private readonly runKey: string;
  private readonly runTtlMs: number;
  private readonly replicaWaitMs: number;
  private readonly log: (line: string) => void;

  constructor(
    private readonly connection: RedisConnection,
    private readonly broker: BrokerConfig,
    private readonly queue: string,
    options: ConnectOptions,
  ) {
    this.keys = queueKeys(queue);
    this.runKey = redisSeedRunKey(queue, randomBytes(8).toString('hex'));
    this.runTtlMs = Math.round(options.retrySeconds * 1000) + 600_000;
    this.log = options.log;
    this.replicaWaitMs = Math.min(REPLICA_WAIT_MS, Math.floor(replyTimeoutMs(options.retrySeconds) / 2));
  }

  async begin(items: readonly string[], options: SeedOptions): Promise<SeedStart> {
    const reply = await this.connection.run(SEED_BEGIN, {
      keys: { seed: this.keys.seed },
      args: { id: options.id, total: items.length, force: options.force ? 1 : 0 },
    });
    if (reply[0] === 'fresh') return { kind: 'fresh', from: 0 };
    if (reply[0] === 'resume') return { kind: 'resume', from: reply[1] };
    return { kind: 'conflict', marker: { id: reply[1], total: reply[2], pushed: reply[3] } };
  }

  async seed(items: readonly string[], from: number, options: SeedOptions): Promise<number> {
    let next = from;
    let runCount: number;
    // Once more when every item is on the queue already, so that a replica is known to have them.
    do {
      const start = next;
      const window = await this.connection.use((link) => this.sendWindow(link, items, start, options));
      runCount = window.runCount;
      if (window.pushed.length === 0) break;
      for (const pushed of window.pushed) {
        if (pushed === -2)
          throw queueDataLost(
            this.queue,
            brokerAt(this.broker),
            `its seed marker ${this.keys.seed}, written by this seeder, is gone`,
          );
        if (pushed === -1) {
          throw new CliError(
            `queue ${this.queue}: another seed run (seed --force, or other items) replaced this one's marker ${this.keys.seed}; this run stopped adding items`,
            ExitCode.failed,
          );
        }
      }
      const marker = Math.max(...window.pushed);
      if (marker < start) {
        this.log(
          `queue ${this.queue}: ${brokerAt(this.broker)} holds ${marker} items of this seed, not the ${start} it had taken (a failover to a replica that missed them); adding them again`,
        );
      }
      next = marker < start ? marker : Math.max(next, marker);
      options.onProgress(next);
    } while (next < items.length);
    return runCount;
  }

  /**
   * One window of chunks in flight, each checking the marker's count so that order and exactness
   * hold, then this run's count; with replicas, WAIT until one has all of it.
   */
  private async sendWindow(
    link: RedisLink,
    items: readonly string[],
    start: number,
    options: SeedOptions,
  ): Promise<{ pushed: number[]; runCount: number }> {
    const sends: Promise<number>[] = [];
    const traceContext = options.traceContext ? storedTraceContext(options.traceContext) : '';
    for (let offset = start, w = 0; w < SEED_WINDOW && offset < items.length; w++) {
      const end = chunkEnd(items, offset);
      sends.push(
        evalScript(link, SEED_CHUNK, {
          keys: { pending: this.keys.pending, seed: this.keys.seed, run: this.runKey, traces: this.keys.traces },
          args: { id: options.id, offset, runTtl: this.runTtlMs, traceContext, traceTtl: TRACE_CONTEXT_TTL_MS },
          rest: items.slice(offset, end),
        }),
      );
      offset = end;
    }
    // Counted and waited for once the chunks answered: a chunk whose script the server did not know
    // yet (NOSCRIPT) goes again as EVAL after that answer, behind anything sent with it.
    const chunks = Promise.all(sends);
    const counting = chunks.then(() =>
      evalScript(link, SEED_RUN_COUNT, { keys: { run: this.runKey }, args: { runTtl: this.runTtlMs } }),
    );
    const confirming = this.broker.sentinel ? chunks.then(() => link.send(['WAIT', 1, this.replicaWaitMs])) : undefined;
    const [pushed, runCount, replicas] = await Promise.all([chunks, counting, confirming]);
    if (replicas !== undefined && integer(replicas, 'WAIT') < 1) {
      throw new NotReplicatedError(`no replica confirmed the seeded items within ${this.replicaWaitMs} ms (WAIT)`);
    }
    return { pushed, runCount };
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

function chunkEnd(items: readonly string[], start: number): number {
  let bytes = 0;
  let end = start;
  while (end < items.length && end - start < SEED_CHUNK_ITEMS) {
    bytes += Buffer.byteLength(items[end], 'utf8');
    if (bytes > SEED_CHUNK_BYTES && end > start) break;
    end++;
  }
  return end;
}
