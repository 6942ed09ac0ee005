/**
 * `npm run bench:sentinel`: the worker's Redis client grown to Sentinel (worker/redis/sentinel.ts
 * inside the worker's reconnect loop) against node-redis' own `createSentinel` (issue 21, point 2).
 *
 * 1. Start-up cost in a pod: the worker's node-redis.cjs as worker/build.js builds it, against a
 *    bundle of what createSentinel needs (the same exports plus RedisSentinel) and one of the
 *    package's whole index; bytes, and `node -e "require(<bundle>)"` over STARTUP_RUNS (default 30)
 *    interleaved runs beside `node -e ''`.
 * 2. Failover: a replicated RedisPod's members run locally (test/cluster/local-redis-sentinels.ts)
 *    on 127.0.0.41-43; each client sends an INCR every 20 ms while the primary's data process is
 *    killed (SIGKILL), BENCH_ROUNDS interleaved rounds each (default 5); the killed node is
 *    restarted and the set settles between rounds.
 *
 * Prints markdown; docs/benchmarks.md records it.
 */
import { readFileSync, statSync } from 'fs';
import { join } from 'path';
import { build } from 'esbuild';
import { createClient } from 'redis';
import { createSentinel } from '@redis/client';
import { LocalSentinelSet, synthesizeReplicas } from '../test/cluster/local-redis-sentinels';
import { BUNDLE_SETTINGS, buildWorker, lazyTls } from '../worker/build';
import { readTarget } from '../worker/config';
import { Defaults } from '../contract';
import { sleep } from '../worker/sleep';
import { RedisConnection } from '../worker/redis/connection';
import { roundsFromEnv, thisMachine } from './machine';
import { interleave, spread, timed, type Spread } from './measure';
import { withRange } from './report';
import { removeScratch, scratch } from './scratch';

/** The members' addresses: not 127.0.0.1 (the shared Redis) nor .31-.33 (the Sentinel test's). */
const HOSTS = ['127.0.0.41', '127.0.0.42', '127.0.0.43'];
/** One write every this many milliseconds. */
const WRITE_EVERY_MS = 20;
/** Writes before the kill, so that both clients are warm and a baseline value is acknowledged. */
const BEFORE_KILL_MS = 1000;
/** Writes after the first successful one, to see whether the client stays well. */
const AFTER_RECOVERY_MS = 1000;
/** A round without a successful write this long after the kill counts as a hang. */
const RECOVERY_CAP_MS = 60_000;
/** BROKER_RETRY_SECONDS for the worker's connection (the default). */
const RETRY_SECONDS = Defaults.brokerRetrySeconds;

function log(line: string): void {
  console.error(`bench: ${line}`);
}

// ---------------------------------------------------------------------------------------------
// 1. Start-up cost

interface Bundle {
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
}

/** Bundles `source` (resolved from the repository) with worker/build.js' settings. */
async function bundleSource(name: string, source: string): Promise<Bundle> {
  const file = join(scratch, 'sentinel-bundles', `${name}.cjs`);
  await build({
    stdin: { contents: source, resolveDir: join(__dirname, '..'), loader: 'ts', sourcefile: `${name}.ts` },
    ...BUNDLE_SETTINGS,
    outfile: file,
    legalComments: 'none',
    plugins: [lazyTls],
  });
  return { name, file, bytes: statSync(file).size };
}

/** What worker/redis/node-redis.ts exports, which the worker's Sentinel support uses as it is. */
const WORKER_EXPORTS = [
  "export { default as RedisClient } from '@redis/client/dist/lib/client';",
  "export { ConnectionTimeoutError, ErrorReply, SocketClosedUnexpectedlyError } from '@redis/client/dist/lib/errors';",
].join('\n');

async function startupBundles(): Promise<Bundle[]> {
  const into = join(scratch, 'worker-bundle');
  await buildWorker(into);
  const workerFile = join(into, 'node-redis.cjs');
  return [
    {
      name: "the worker's node-redis.cjs (`npm run build:worker`: RedisClient and errors; Sentinel in the CLI)",
      file: workerFile,
      bytes: statSync(workerFile).size,
    },
    await bundleSource(
      'createSentinel, module (the same exports plus RedisSentinel from `@redis/client/dist/lib/sentinel`)',
      `${WORKER_EXPORTS}\nexport { default as RedisSentinel } from '@redis/client/dist/lib/sentinel';`,
    ),
    await bundleSource('createSentinel, index (`@redis/client`, the package index)', "export * from '@redis/client';"),
  ];
}

interface StartupRow {
  readonly name: string;
  readonly bytes?: number;
  readonly ms: Spread;
}

async function measureStartup(runs: number): Promise<StartupRow[]> {
  const bundles = await startupBundles();
  const requireIt = (file: string) => async () =>
    (await timed(process.execPath, ['-e', `require(${JSON.stringify(file)})`])).seconds * 1000;
  const floor = async () => (await timed(process.execPath, ['-e', ''])).seconds * 1000;
  for (const bundle of bundles) await requireIt(bundle.file)(); // warm the page cache
  const samples = await interleave(runs, [floor, ...bundles.map((bundle) => requireIt(bundle.file))]);
  return [
    { name: "`node -e ''`", ms: spread(samples[0]) },
    ...bundles.map((bundle, i) => ({ name: bundle.name, bytes: bundle.bytes, ms: spread(samples[i + 1]) })),
  ];
}

// ---------------------------------------------------------------------------------------------
// 2. Failover

/** One client as the round drives it. */
interface Writer {
  write(): Promise<number>;
  close(): Promise<void>;
  /** 'error' events the client emitted (node-redis), or log lines (the worker). */
  readonly notices: string[];
}

async function workerWriter(set: LocalSentinelSet, key: string): Promise<Writer> {
  const target = readTarget({ BROKER_URL: set.brokerUrl, QUEUE: 'bench', BROKER_RETRY_SECONDS: String(RETRY_SECONDS) });
  const notices: string[] = [];
  const connection = await RedisConnection.open(target.broker, {
    retrySeconds: RETRY_SECONDS,
    clientName: 'bench',
    log: (line) => notices.push(line),
  });
  return {
    notices,
    write: () => connection.use(async (link) => Number(await link.send(['INCR', key]))),
    close: () => connection.close(),
  };
}

async function nodeRedisWriter(set: LocalSentinelSet, key: string): Promise<Writer> {
  const password = set.synthesized.password;
  const sentinel = createSentinel({
    name: set.synthesized.master,
    sentinelRootNodes: HOSTS.map((host) => ({ host, port: Defaults.sentinelPort })),
    nodeClientOptions: { password },
    sentinelClientOptions: { password },
  });
  const notices: string[] = [];
  sentinel.on('error', (error: unknown) => notices.push(String(error instanceof Error ? error.message : error)));
  await sentinel.connect();
  return {
    notices,
    write: () => sentinel.incr(key),
    close: () => sentinel.destroy(),
  };
}

const CLIENTS: { readonly name: string; readonly open: (set: LocalSentinelSet, key: string) => Promise<Writer> }[] = [
  { name: "worker's client (SentinelPrimary + RedisConnection)", open: workerWriter },
  { name: "node-redis' createSentinel", open: nodeRedisWriter },
];

interface Write {
  readonly sentAt: number;
  doneAt?: number;
  value?: number;
  error?: string;
}

interface FailoverSample {
  /** Kill to the first acknowledged write sent after it (or in flight at it). */
  readonly outageMs?: number;
  /** Kill to Sentinel's +switch-master. */
  readonly promotedMs?: number;
  /** +switch-master to the first acknowledged write. */
  readonly afterPromotionMs?: number;
  /** Writes that rejected, and the first message. */
  readonly failed: number;
  readonly firstError?: string;
  /** The longest a single write waited for its answer, and writes still unanswered at the end. */
  readonly longestWriteMs: number;
  readonly unanswered: number;
  /** Acknowledged INCRs that the new primary did not have (asynchronous replication). */
  readonly lost?: number;
  /** Connections the Sentinels accepted from the client during the round. */
  readonly sentinelConnections: number;
  readonly notices: string[];
}

async function sentinelConnectionsSoFar(set: LocalSentinelSet): Promise<number> {
  const infos = await Promise.all(HOSTS.map((host) => set.command(host, Defaults.sentinelPort, ['INFO', 'stats'])));
  return infos.reduce(
    (sum: number, info) => sum + Number(/total_connections_received:(\d+)/.exec(String(info))?.[1] ?? 0),
    0,
  );
}

/**
 * Waits for +switch-master on every Sentinel (each publishes it once it knows the new primary: the
 * leader at once, the others by its hello messages); resolves with the time the first arrived.
 */
async function switchMaster(set: LocalSentinelSet): Promise<{ arrived: Promise<number>; stop: () => void }> {
  let resolve: (at: number) => void = () => undefined;
  const arrived = new Promise<number>((r) => (resolve = r));
  const subscribers = await Promise.all(
    HOSTS.map(async (host) => {
      const subscriber = createClient({
        socket: { host, port: Defaults.sentinelPort, reconnectStrategy: false },
        password: set.synthesized.password,
      });
      subscriber.on('error', () => undefined);
      await subscriber.connect();
      await subscriber.subscribe('+switch-master', () => resolve(performance.now()));
      return subscriber;
    }),
  );
  return { arrived, stop: () => subscribers.forEach((subscriber) => subscriber.destroy()) };
}

async function failoverRound(
  set: LocalSentinelSet,
  client: (typeof CLIENTS)[number],
  round: number,
): Promise<FailoverSample> {
  const primary = await set.primary();
  const key = `bench:sentinel:${round}:${client.open.name}`;
  const promotion = await switchMaster(set);
  const connectionsBefore = await sentinelConnectionsSoFar(set);
  const writer = await client.open(set, key);
  const writes: Write[] = [];
  const stopWriting = new AbortController();
  const loop = (async () => {
    while (!stopWriting.signal.aborted) {
      const write: Write = { sentAt: performance.now() };
      writes.push(write);
      try {
        write.value = await writer.write();
      } catch (error) {
        write.error = (error as Error).message;
      }
      write.doneAt = performance.now();
      await sleep(Math.max(0, write.sentAt + WRITE_EVERY_MS - performance.now()));
    }
  })();
  await sleep(BEFORE_KILL_MS);
  const killedAt = performance.now();
  primary.data?.kill('SIGKILL');
  const recovered = () => writes.find((w) => w.value !== undefined && w.doneAt !== undefined && w.doneAt > killedAt);
  while (!recovered() && performance.now() - killedAt < RECOVERY_CAP_MS) await sleep(10);
  if (recovered()) await sleep(AFTER_RECOVERY_MS);
  stopWriting.abort();
  await Promise.race([loop, sleep(5000)]);
  const promotedAt = await Promise.race([promotion.arrived, sleep(0).then(() => undefined)]);
  promotion.stop();
  await writer.close().catch(() => undefined);
  const connections = (await sentinelConnectionsSoFar(set)) - connectionsBefore - HOSTS.length; // less the INFO connections themselves

  const first = recovered();
  const before = writes.filter((w) => w.value !== undefined && w.doneAt !== undefined && w.doneAt <= killedAt);
  const lastBefore = Math.max(0, ...before.map((w) => w.value as number));
  const now = performance.now();
  const failed = writes.filter((w) => w.error !== undefined);
  const sample: FailoverSample = {
    outageMs: first?.doneAt !== undefined ? first.doneAt - killedAt : undefined,
    promotedMs: promotedAt !== undefined ? promotedAt - killedAt : undefined,
    afterPromotionMs: first?.doneAt !== undefined && promotedAt !== undefined ? first.doneAt - promotedAt : undefined,
    failed: failed.length,
    firstError: failed[0]?.error,
    longestWriteMs: Math.max(...writes.map((w) => (w.doneAt ?? now) - w.sentAt)),
    unanswered: writes.filter((w) => w.doneAt === undefined).length,
    lost: first?.value !== undefined ? Math.max(0, lastBefore + 1 - first.value) : undefined,
    sentinelConnections: connections,
    notices: [...writer.notices],
  };
  log(
    `${client.name}, round ${round + 1}: outage ${shownMs(sample.outageMs)}, promoted ${shownMs(sample.promotedMs)}, ` +
      `then ${shownMs(sample.afterPromotionMs)}; ${sample.failed} failed${sample.firstError ? ` (${sample.firstError})` : ''}, ` +
      `longest write ${shownMs(sample.longestWriteMs)}, ${sample.unanswered} unanswered, lost ${sample.lost ?? 'unknown'}, ${connections} Sentinel connections; ` +
      `${sample.notices.length} notices${sample.notices.length ? `: ${sample.notices.slice(0, 3).join(' / ')}` : ''}`,
  );

  set.startData(primary);
  await set.settled(60_000);
  return sample;
}

/** Milliseconds for the log, or why there are none (nothing recovered or was promoted in time). */
function shownMs(ms: number | undefined): string {
  return ms === undefined ? 'not seen' : `${ms.toFixed(0)} ms`;
}

function defined(values: readonly (number | undefined)[]): number[] {
  return values.filter((v): v is number => v !== undefined);
}

function cell(values: readonly (number | undefined)[]): string {
  const known = defined(values);
  const missing = values.length - known.length;
  return known.length === 0 ? 'none' : `${withRange(spread(known))}${missing ? `, ${missing} without` : ''}`;
}

function failoverTable(results: { name: string; samples: FailoverSample[] }[]): string {
  const lines = [
    '| client | kill → first write acknowledged, ms | kill → first +switch-master, ms | +switch-master → first write, ms | writes that failed visibly | longest single write, ms | unanswered at the end | acknowledged writes lost | Sentinel connections per round |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { name, samples } of results) {
    const failed = samples.map((s) => s.failed);
    const errors = [...new Set(samples.map((s) => s.firstError).filter(Boolean))].map(
      (e) =>
        `\`${String(e)
          .replace(/ via Sentinel at \S+(, \S+)*/g, '')
          .replace(/\|/g, '\\|')
          .slice(0, 160)}\``,
    );
    lines.push(
      `| ${name} | ${cell(samples.map((s) => s.outageMs))} | ${cell(samples.map((s) => s.promotedMs))} | ${cell(samples.map((s) => s.afterPromotionMs))} | ` +
        `${failed.reduce((a, b) => a + b, 0)} in ${samples.length} rounds${errors.length ? `: ${errors.join(', ')}` : ''} | ${cell(samples.map((s) => s.longestWriteMs))} | ` +
        `${samples.reduce((a, s) => a + s.unanswered, 0)} | ${cell(samples.map((s) => s.lost))} | ${cell(samples.map((s) => s.sentinelConnections))} |`,
    );
  }
  return lines.join('\n');
}

async function measureFailover(rounds: number): Promise<{ table: string; notices: string[] }> {
  const set = new LocalSentinelSet(synthesizeReplicas(HOSTS.length), { name: 'redis-server (this machine)' }, HOSTS);
  const stop = () => void set.stop().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    log(`starting ${HOSTS.length} data nodes and Sentinels on ${HOSTS.join(', ')}`);
    await set.start();
    const results = CLIENTS.map((client) => ({ name: client.name, samples: [] as FailoverSample[] }));
    await interleave(
      rounds,
      CLIENTS.map((client, index) => async (round: number) => {
        results[index].samples.push(await failoverRound(set, client, round));
        return 0;
      }),
    );
    const notices = results.map(({ name, samples }) => {
      const seen = [
        ...new Set(samples.flatMap((s) => s.notices.map((n) => n.replace(/\d+(\.\d+)?( ?m?s\b)/g, 'N$2')))),
      ];
      return `${name}: ${seen.length ? seen.map((n) => `\`${n}\``).join('; ') : 'none'}`;
    });
    return { table: failoverTable(results), notices };
  } finally {
    await set.stop();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

async function main(): Promise<void> {
  const rounds = roundsFromEnv();
  const runs = Number(process.env.STARTUP_RUNS ?? '30');
  const machine = thisMachine();
  log(`start-up: ${runs} interleaved runs`);
  const startup = await measureStartup(runs);
  log(`failover: ${rounds} interleaved rounds per client`);
  const failover = await measureFailover(rounds);
  const { version } = JSON.parse(readFileSync(require.resolve('@redis/client/package.json'), 'utf8')) as {
    version: string;
  };
  console.log(
    [
      `Measured ${machine.date} on ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB RAM, Node.js ${machine.nodeVersion}, ` +
        `load average ${machine.loadAverage.toFixed(2)} at the start; \`@redis/client\` ${version}; medians (min–max).`,
      '',
      `Start-up, ${runs} interleaved runs of \`node -e "require(<bundle>)"\`:`,
      '',
      '| bundle | bytes | `node -e "require(…)"`, ms |',
      '|---|---|---|',
      ...startup.map((row) => `| ${row.name} | ${row.bytes?.toLocaleString('en-US') ?? ''} | ${withRange(row.ms)} |`),
      '',
      `Failover, ${rounds} interleaved rounds per client: an INCR every ${WRITE_EVERY_MS} ms, the primary's data process killed (SIGKILL) after ${BEFORE_KILL_MS / 1000} s, ` +
        `writing on ${AFTER_RECOVERY_MS / 1000} s after the first acknowledged write; the killed node restarted and the set settled between rounds ` +
        `(down-after-milliseconds 5000, as RedisPod sets it; worker BROKER_RETRY_SECONDS ${RETRY_SECONDS}):`,
      '',
      failover.table,
      '',
      'What each client said (worker: its log lines; node-redis: its `error` events):',
      '',
      ...failover.notices.map((line) => `- ${line}`),
      '',
    ].join('\n'),
  );
}

main()
  .catch((error: unknown) => {
    console.error(`bench:sentinel failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  })
  .finally(removeScratch);
