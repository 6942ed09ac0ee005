/**
 * `npm run bench`: ours against the tutorials' tools and the brokers' own limits on the local
 * Redis and RabbitMQ, in BENCH_ROUNDS interleaved rounds (default 5). Prints a markdown table and
 * writes bench/results.json and bench/results.md. Exits non-zero only when a measurement failed;
 * a missed goal is reported in the table and the summary below it.
 */
import { writeFileSync } from 'fs';
import { join } from 'path';
import { drainLargeItems } from './cases/drain-large-items';
import { drainRedis100k, drainRedis20k } from './cases/drain-redis';
import { oneItemPod } from './cases/one-item-pod';
import { redisServerTime } from './cases/redis-server-time';
import { seedAmqp } from './cases/seed-amqp';
import { seedRedis } from './cases/seed-redis';
import { synthWarm } from './cases/synth-warm';
import type { BenchCase, Entry } from './entry';
import { roundsFromEnv, thisMachine } from './machine';
import { secondsSince } from './measure';
import { report } from './report';
import { removeScratch } from './scratch';
import { ensureTools } from './tools';
import { buildCli } from './worker-cli';
import { thrownMessage } from '../worker/thrown';

const CASES: BenchCase[] = [
  seedAmqp,
  seedRedis,
  drainRedis20k,
  drainRedis100k,
  drainLargeItems,
  redisServerTime,
  oneItemPod,
  synthWarm,
];

async function main(): Promise<number> {
  const rounds = roundsFromEnv();
  const machine = thisMachine();
  ensureTools();
  await buildCli();
  const entries: Entry[] = [];
  const failures: string[] = [];
  // BENCH_ONLY=drain runs the cases whose title contains "drain" (results.* are written for those alone).
  const only = process.env.BENCH_ONLY;
  for (const benchCase of CASES.filter((c) => !only || c.title.includes(only))) {
    const started = process.hrtime.bigint();
    console.error(`bench: ${benchCase.title} (${rounds} rounds)`);
    try {
      entries.push(...(await benchCase.run(rounds)));
      console.error(`bench: ${benchCase.title}: ${secondsSince(started).toFixed(1)} s`);
    } catch (error) {
      failures.push(`${benchCase.title}: ${(error as Error).message}`);
      console.error(`bench: ${benchCase.title} failed: ${(error as Error).message}`);
    }
  }
  const text = report(entries, machine, rounds);
  console.log(text);
  if (failures.length > 0) {
    console.error(
      `bench: ${failures.length} measurement(s) failed, results.json and results.md left as they were:\n- ${failures.join('\n- ')}`,
    );
    return 1;
  }
  writeFileSync(join(__dirname, 'results.json'), `${JSON.stringify(entries, null, 2)}\n`);
  writeFileSync(join(__dirname, 'results.md'), text);
  return 0;
}

main()
  .then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      console.error(`bench failed: ${thrownMessage(error)}`);
      process.exitCode = 1;
    },
  )
  .finally(removeScratch);
