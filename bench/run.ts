/**
 * `npm run bench`: measures seeding, draining, one-item pod overhead and synth on the local Redis
 * and RabbitMQ, side by side with the tutorials' tools and the broker's limit. Prints a markdown
 * table and writes bench/results.json. Each figure is the median of RUNS runs.
 */
import { execFileSync, spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { cpus, tmpdir, totalmem } from 'os';
import { join } from 'path';
import { AMQP_URL, declareClassicQueue, deleteAmqpQueues, deleteRedisQueue, freshQueue, REDIS_URL, withRedis } from './brokers';
import { repeat, timed } from './measure';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const ROOT = join(__dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'bench-'));

interface Result {
  name: string;
  ours: number;
  baseline: number;
  baselineName: string;
  /** Above 1 means ours is better. */
  ratio: number;
  unit: string;
}

const results: Result[] = [];
function record(name: string, unit: 'items/s' | 's', ours: number, baseline: number, baselineName: string): void {
  const ratio = unit === 'items/s' ? ours / baseline : baseline / ours;
  results.push({ name, ours: round(ours), baseline: round(baseline), baselineName, ratio: round(ratio), unit });
  console.error(`bench: ${name}: ours ${round(ours)} ${unit}, ${baselineName} ${round(baseline)} ${unit}, ratio ${round(ratio)}`);
}
const round = (x: number) => Number(x.toPrecision(4));

/** The bundled CLI, built once, run with node as in the image. */
let cli = '';
function workQueue(args: string[], env: Record<string, string>, input?: string) {
  return timed(process.execPath, [cli, ...args], { env: { ...process.env, ...env }, input });
}

function items(count: number, prefix = 'item'): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
}

function itemsFile(list: string[]): string {
  const file = join(scratch, `items-${list.length}-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(list));
  return file;
}

function ensureTools(): void {
  const missing = ['amqp-publish', 'redis-cli', 'redis-benchmark'].filter((tool) => spawnSync('which', [tool]).status !== 0);
  if (missing.length === 0) return;
  console.error(`bench: installing amqp-tools and redis-tools for ${missing.join(', ')}`);
  execFileSync('apt-get', ['install', '-y', '-qq', 'amqp-tools', 'redis-tools'], { stdio: 'inherit' });
}

async function seedRabbitMQ(): Promise<void> {
  const count = 20_000;
  const file = itemsFile(items(count));
  let queue = '';
  const ours = await repeat(RUNS, async () => {
    const run = await workQueue(['seed'], { BROKER_URL: AMQP_URL, QUEUE: queue, ITEMS_FILE: file });
    await deleteAmqpQueues(queue);
    return count / run.seconds;
  }, async () => void (queue = freshQueue('seed-amqp')));

  const baselineCount = 300;
  const baseline = await repeat(RUNS, async () => {
    const started = process.hrtime.bigint();
    for (const item of items(baselineCount)) {
      await timed('amqp-publish', [`--url=${AMQP_URL}`, '-r', queue, '-p', '-b', item]);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await deleteAmqpQueues(queue);
    return baselineCount / seconds;
  }, async () => {
    queue = freshQueue('seed-amqp-baseline');
    await declareClassicQueue(queue);
  });
  record(`Seeding RabbitMQ (${count} items; baseline on ${baselineCount})`, 'items/s', ours, baseline, 'amqp-publish, one process per item');
}

async function seedRedis(): Promise<void> {
  const count = 100_000;
  const list = items(count);
  const file = itemsFile(list);
  let queue = '';
  const ours = await repeat(RUNS, async () => {
    const run = await workQueue(['seed'], { BROKER_URL: REDIS_URL, QUEUE: queue, ITEMS_FILE: file });
    await deleteRedisQueue(queue);
    return count / run.seconds;
  }, async () => void (queue = freshQueue('seed-redis')));

  const baseline = await repeat(RUNS, async () => {
    const input = list.map((item) => `RPUSH ${queue} ${item}\n`).join('');
    const run = await timed('redis-cli', ['-u', REDIS_URL], { input });
    await deleteRedisQueue(queue);
    return count / run.seconds;
  }, async () => void (queue = freshQueue('seed-redis-baseline')));
  record(`Seeding Redis (${count} items)`, 'items/s', ours, baseline, 'redis-cli fed RPUSH lines through a pipe');
}

async function drainRedis(): Promise<void> {
  const count = 20_000;
  const file = itemsFile(items(count));
  let queue = '';
  const env = () => ({ BROKER_URL: REDIS_URL, QUEUE: queue, WORKER_MODE: 'drain', WORK_SECONDS: '0' });
  const ours = await repeat(RUNS, async () => {
    const started = process.hrtime.bigint();
    await Promise.all([workQueue(['work'], env()), workQueue(['work'], env())]);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const left = await withRedis((client) => client.lLen(queue));
    if (left !== 0) throw new Error(`drain left ${left} items in ${queue}`);
    await deleteRedisQueue(queue);
    return count / seconds;
  }, async () => {
    queue = freshQueue('drain');
    await workQueue(['seed'], { BROKER_URL: REDIS_URL, QUEUE: queue, ITEMS_FILE: file });
  });

  const source = `{bench-lmove}:source`;
  const baseline = await repeat(RUNS, async () => {
    const { stdout } = await timed('redis-benchmark', ['-u', REDIS_URL, '-c', '2', '-n', String(count), '-q', 'LMOVE', source, `{bench-lmove}:done`, 'LEFT', 'RIGHT']);
    const match = /([\d.]+) requests per second/.exec(stdout);
    if (!match) throw new Error(`unexpected redis-benchmark output: ${stdout}`);
    return Number(match[1]);
  }, async () => {
    await withRedis(async (client) => {
      await client.del([source, `{bench-lmove}:done`]);
      for (let i = 0; i < count; i += 5000) await client.rPush(source, items(Math.min(5000, count - i), `x${i}`));
    });
  });
  await withRedis((client) => client.del([source, `{bench-lmove}:done`]));
  record(`Draining Redis, 2 workers, no work (${count} items)`, 'items/s', ours, baseline, 'redis-benchmark -c 2 LMOVE (one round trip per item)');
}

async function oneItemPod(): Promise<void> {
  let queue = '';
  const ours = await repeat(RUNS, async () => {
    const run = await workQueue(['work'], { BROKER_URL: AMQP_URL, QUEUE: queue, WORKER_MODE: 'single', WORK_SECONDS: '0' });
    if (!run.stderr.includes('item-0') && !run.stdout.includes('item-0')) throw new Error(`the worker did not process the item: ${run.stderr}`);
    await deleteAmqpQueues(queue);
    return run.seconds;
  }, async () => {
    queue = freshQueue('single');
    await workQueue(['seed', 'item-0'], { BROKER_URL: AMQP_URL, QUEUE: queue });
  });

  const consume = await repeat(RUNS, async () => {
    const run = await timed('amqp-consume', [`--url=${AMQP_URL}`, '-q', queue, '-c', '1', 'cat']);
    if (!run.stdout.includes('item-0')) throw new Error(`amqp-consume did not get the item: ${run.stdout}`);
    await deleteAmqpQueues(queue);
    return run.seconds;
  }, async () => {
    queue = freshQueue('single-baseline');
    await declareClassicQueue(queue);
    await timed('amqp-publish', [`--url=${AMQP_URL}`, '-r', queue, '-p', '-b', 'item-0']);
  });
  const nodeFloor = await repeat(RUNS, async () => (await timed(process.execPath, ['-e', ''])).seconds);
  record('One-item pod (WORKER_MODE=single, RabbitMQ), process start to exit', 's', ours, consume, 'amqp-consume -c 1 cat');
  record('One-item pod vs the Node.js floor', 's', ours, nodeFloor, "node -e ''");
}

async function synth(): Promise<void> {
  const synthOnce = async () => (await timed('npm', ['run', '--silent', 'synth'], { cwd: ROOT, env: { ...process.env, CI: 'true' } })).seconds;
  const dropped = spawnSync('sh', ['-c', 'sync && echo 3 > /proc/sys/vm/drop_caches']).status === 0;
  const cold = await synthOnce();
  const warm = await repeat(RUNS, synthOnce);
  const goal = 3;
  record(`npm run synth, cold (first run${dropped ? ', page cache dropped' : ''})`, 's', cold, goal, 'goal: 3 s');
  record('npm run synth, warm', 's', warm, goal, 'goal: 3 s');
}

function table(): string {
  const lines = ['| measurement | ours | baseline | baseline value | ratio (>1: ours better) |', '|---|---|---|---|---|'];
  for (const r of results) lines.push(`| ${r.name} | ${r.ours} ${r.unit} | ${r.baselineName} | ${r.baseline} ${r.unit} | ${r.ratio} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  ensureTools();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  cli = await require('../worker/build').buildWorker();
  await seedRabbitMQ();
  await seedRedis();
  await drainRedis();
  await oneItemPod();
  await synth();
  writeFileSync(join(__dirname, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const machine = `${cpus().length} cores (${cpus()[0].model}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node.js ${process.version}`;
  console.log(`Measured ${new Date().toISOString().slice(0, 10)} on ${machine}, median of ${RUNS} runs.\n\n${table()}`);
}

main().catch((error) => {
  console.error(`bench failed: ${(error as Error).message}`);
  process.exit(1);
});
