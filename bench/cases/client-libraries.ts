import { readFileSync } from 'fs';
import { join } from 'path';
import {
  AMQP_URL,
  declareClassicQueue,
  deleteAmqpQueues,
  expectAmqpMessages,
  expectListLength,
  freshQueue,
  publishAmqpMessages,
  pushRedisItems,
  REDIS_URL,
  withRedis,
} from '../brokers';
import { bundleProbe, type ProbeBundle } from '../client-bundles';
import { CPU_LINE_SOURCE } from '../client-probes/probe';
import { interleave, roundRatios, spread, timed, type Spread } from '../measure';
import { observeAgainstSilentPeer, SilentPeer, type SilentPeerOutcome } from '../silent-peer';

/** The maintained clients issue 20 names, one probe program (bench/client-probes/) each. */
interface Candidate {
  readonly library: string;
  /** How the library is used, when a second row uses it otherwise. */
  readonly usage?: string;
  readonly probe: string;
  /** The package the probe imports, replaced with the candidate's own (a fork with the same API). */
  readonly replaces?: string;
  readonly protocol: 'amqp' | 'redis';
  /** From the library's documentation; the Redis-protocol failover needs it. */
  readonly sentinel: string;
}

const CANDIDATES: readonly Candidate[] = [
  { library: 'amqplib', probe: 'amqplib', protocol: 'amqp', sentinel: 'n/a' },
  { library: '@cloudamqp/amqp-client', probe: 'cloudamqp-amqp-client', protocol: 'amqp', sentinel: 'n/a' },
  { library: 'rabbitmq-client', probe: 'rabbitmq-client', protocol: 'amqp', sentinel: 'n/a' },
  {
    library: '@redis/client',
    usage: '`createClient`',
    probe: 'node-redis',
    protocol: 'redis',
    sentinel: 'yes (`createSentinel`)',
  },
  {
    library: '@redis/client',
    usage: 'client module, `new RedisClient`, `sendCommand`',
    probe: 'node-redis-bare',
    protocol: 'redis',
    sentinel: 'yes (`createSentinel`)',
  },
  {
    library: 'iovalkey',
    probe: 'ioredis',
    replaces: 'ioredis',
    protocol: 'redis',
    sentinel: 'yes (`sentinels` option)',
  },
  { library: 'ioredis', probe: 'ioredis', protocol: 'redis', sentinel: 'yes (`sentinels` option)' },
];

/**
 * Small items per drain: one round trip each on AMQP (basic.get), 64 per round trip on Redis
 * (pipelined LMOVE). Every client runs with Nagle's algorithm off (the AMQP probes set noDelay; the
 * Redis clients default to it): with it on, a basic.get written right after a basic.ack waits for
 * the broker's delayed TCP ACK, about 40 ms per message.
 */
const DRAIN_ITEMS = { amqp: 5_000, redis: 20_000 };
const LARGE_ITEM_BYTES = 512 * 1024;
const LARGE_ITEMS = 128;
/** How long a client facing a silent peer is watched: 20 s, and some over it for rabbitmq-client, whose own acquire limit is 20 s. */
export const SILENT_PEER_CAP_SECONDS = 25;
const ITEM = 'item-0';

export interface ClientRow {
  readonly library: string;
  readonly usage?: string;
  readonly version: string;
  readonly protocol: 'amqp' | 'redis';
  /** One-item process, start to exit, seconds. */
  readonly startup: Spread;
  /** CPU seconds the one-item process used (user and system, all threads). */
  readonly startupCpu: Spread;
  /** CPU seconds of the same program started with nothing to do: Node.js and the library's load. */
  readonly loadCpu: Spread;
  /** `node -e ''` divided by the start-up, per round. */
  readonly floorRatio: Spread;
  readonly drainRate: Spread;
  /** MiB/s draining 512 KiB items. */
  readonly largeRate: Spread;
  readonly bundleBytes: number;
  readonly sentinel: string;
  readonly silentPeer: SilentPeerOutcome;
}

export interface ClientComparison {
  readonly rows: readonly ClientRow[];
  /** `node -e ''`, start to exit, and the CPU of `node -e` printing its CPU time. */
  readonly floor: Spread;
  readonly floorCpu: Spread;
}

/** A run's CPU time, from the `cpu-µs` line the probes (and CPU_LINE_SOURCE) print on stderr. */
function cpuSeconds(stderr: string): number {
  const match = /^cpu-µs (\d+)$/m.exec(stderr);
  if (!match) throw new Error(`no cpu-µs line in ${JSON.stringify(stderr.slice(-300))}`);
  return Number(match[1]) / 1e6;
}

function versionOf(library: string): string {
  // Read from the file: some packages' exports do not include package.json.
  const manifest = JSON.parse(
    readFileSync(join(__dirname, '..', '..', 'node_modules', library, 'package.json'), 'utf8'),
  ) as { version: string };
  return manifest.version;
}

/** A scratch AMQP queue or Redis list pair holding `count` copies of `item` (not timed). */
interface Scratch {
  readonly url: string;
  readonly source: string;
  readonly target: string;
  /** Fails unless `moved` items left the source and reached their destination. */
  check(moved: number): Promise<void>;
  remove(): Promise<void>;
}

async function fillScratch(protocol: 'amqp' | 'redis', item: string, count: number): Promise<Scratch> {
  const name = freshQueue(`clients-${protocol}`);
  if (protocol === 'amqp') {
    await declareClassicQueue(name);
    await publishAmqpMessages(name, Buffer.from(item), count);
    return {
      url: AMQP_URL,
      source: name,
      target: '',
      check: (moved) => expectAmqpMessages(name, count - moved),
      remove: () => deleteAmqpQueues(name),
    };
  }
  const source = `{${name}}:source`;
  const target = `{${name}}:target`;
  await pushRedisItems(source, item, count);
  return {
    url: REDIS_URL,
    source,
    target,
    check: (moved) =>
      withRedis(async (client) => {
        await expectListLength(client, source, count - moved);
        await expectListLength(client, target, moved);
      }),
    remove: () =>
      withRedis(async (client) => {
        await client.del([source, target]);
      }),
  };
}

/** The one-item program, spawn to exit; checks that it printed the item and took it. */
async function oneItem(candidate: Candidate, bundle: ProbeBundle): Promise<{ seconds: number; cpu: number }> {
  const scratch = await fillScratch(candidate.protocol, ITEM, 1);
  try {
    const run = await timed(process.execPath, [bundle.file, 'one', scratch.url, scratch.source, scratch.target]);
    if (run.stdout.trim() !== ITEM)
      throw new Error(`${candidate.library} printed ${JSON.stringify(run.stdout)}, expected ${ITEM}`);
    await scratch.check(1);
    return { seconds: run.seconds, cpu: cpuSeconds(run.stderr) };
  } finally {
    await scratch.remove();
  }
}

/** Drains `count` copies of `item`; returns the rate the probe timed, per second, in `perItem` units. */
async function drainRate(
  candidate: Candidate,
  bundle: ProbeBundle,
  item: string,
  count: number,
  perItem: number,
): Promise<number> {
  const scratch = await fillScratch(candidate.protocol, item, count);
  try {
    const run = await timed(process.execPath, [bundle.file, 'drain', scratch.url, scratch.source, scratch.target]);
    const { moved, seconds } = JSON.parse(run.stdout) as { moved: number; seconds: number };
    if (moved !== count) throw new Error(`${candidate.library} drained ${moved} of ${count} items`);
    await scratch.check(moved);
    return (moved * perItem) / seconds;
  } finally {
    await scratch.remove();
  }
}

/**
 * Every candidate client in the same rounds: the one-item process and the library's load alone
 * interleaved with `node -e ''`,
 * the drains interleaved within each protocol, then each client once against a silent peer (all at
 * once: they only wait).
 */
export async function compareClientLibraries(rounds: number, log: (line: string) => void): Promise<ClientComparison> {
  const bundles = await Promise.all(
    CANDIDATES.map(({ probe, library, replaces }) =>
      replaces ? bundleProbe(probe, library, { imported: replaces, with: library }) : bundleProbe(probe, probe),
    ),
  );
  log('clients: one-item start-up');
  const oneItemCpu: number[][] = CANDIDATES.map(() => []);
  const oneItemSeconds = (i: number) => async (round: number) => {
    const run = await oneItem(CANDIDATES[i], bundles[i]);
    oneItemCpu[i][round] = run.cpu;
    return run.seconds;
  };
  const loadCpu = (bundle: ProbeBundle) => async () =>
    cpuSeconds((await timed(process.execPath, [bundle.file, 'load'])).stderr);
  const nodeFloor = async () => (await timed(process.execPath, ['-e', ''])).seconds;
  const nodeFloorCpu = async () => cpuSeconds((await timed(process.execPath, ['-e', CPU_LINE_SOURCE])).stderr);
  const startupSamples = await interleave(rounds, [
    ...CANDIDATES.map((_, i) => oneItemSeconds(i)),
    ...bundles.map(loadCpu),
    nodeFloor,
    nodeFloorCpu,
  ]);
  const loadSamples = startupSamples.slice(CANDIDATES.length, 2 * CANDIDATES.length);
  const [floorSamples, floorCpuSamples] = startupSamples.slice(2 * CANDIDATES.length);

  const drainSamples: number[][] = [];
  const largeSamples: number[][] = [];
  const largeItem = 'x'.repeat(LARGE_ITEM_BYTES);
  for (const protocol of ['amqp', 'redis'] as const) {
    const indices = CANDIDATES.flatMap((candidate, i) => (candidate.protocol === protocol ? [i] : []));
    log(`clients: ${protocol} drains`);
    const small = await interleave(
      rounds,
      indices.map((i) => () => drainRate(CANDIDATES[i], bundles[i], ITEM, DRAIN_ITEMS[protocol], 1)),
    );
    const large = await interleave(
      rounds,
      indices.map(
        (i) => () => drainRate(CANDIDATES[i], bundles[i], largeItem, LARGE_ITEMS, LARGE_ITEM_BYTES / 2 ** 20),
      ),
    );
    indices.forEach((i, k) => {
      drainSamples[i] = small[k];
      largeSamples[i] = large[k];
    });
  }

  log(`clients: against a silent peer (up to ${SILENT_PEER_CAP_SECONDS} s)`);
  const peer = await SilentPeer.start();
  let outcomes: SilentPeerOutcome[];
  try {
    const urls = { amqp: `amqp://guest:guest@127.0.0.1:${peer.port}`, redis: `redis://127.0.0.1:${peer.port}` };
    outcomes = await Promise.all(
      CANDIDATES.map((candidate, i) =>
        observeAgainstSilentPeer(bundles[i].file, urls[candidate.protocol], SILENT_PEER_CAP_SECONDS),
      ),
    );
  } finally {
    await peer.stop();
  }

  const rows = CANDIDATES.map((candidate, i) => ({
    library: candidate.library,
    usage: candidate.usage,
    version: versionOf(candidate.library),
    protocol: candidate.protocol,
    startup: spread(startupSamples[i]),
    startupCpu: spread(oneItemCpu[i]),
    loadCpu: spread(loadSamples[i]),
    floorRatio: spread(roundRatios(startupSamples[i], floorSamples, 's')),
    drainRate: spread(drainSamples[i]),
    largeRate: spread(largeSamples[i]),
    bundleBytes: bundles[i].bytes,
    sentinel: candidate.sentinel,
    silentPeer: outcomes[i],
  }));
  return { rows, floor: spread(floorSamples), floorCpu: spread(floorCpuSamples) };
}

export const DRAIN_DESCRIPTION = {
  amqp: `${DRAIN_ITEMS.amqp.toLocaleString('en-US')} messages, basic.get and basic.ack one at a time`,
  redis: `${DRAIN_ITEMS.redis.toLocaleString('en-US')} items, LMOVE pipelined 64 at a time`,
  large: `${LARGE_ITEMS} items of ${LARGE_ITEM_BYTES / 1024} KiB, the same pattern`,
};
