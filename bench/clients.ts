/**
 * `npm run bench:clients`: the candidate client libraries for each broker side by side (issue 20),
 * on the local Redis and RabbitMQ, in BENCH_ROUNDS interleaved rounds (default 5). Prints a
 * markdown table; docs/benchmarks.md records it. Apart from `npm run bench` because it informs a
 * choice rather than guards a goal, and the silent-peer column alone waits up to 25 s.
 */
import {
  DRAIN_DESCRIPTION,
  SILENT_PEER_CAP_SECONDS,
  compareClientLibraries,
  type ClientComparison,
  type ClientRow,
} from './cases/client-libraries';
import { roundsFromEnv, thisMachine } from './machine';
import { type Machine, withRange } from './report';
import { removeScratch } from './scratch';
import type { SilentPeerOutcome } from './silent-peer';
import { thrownMessage } from '../worker/thrown';

function silentPeer(outcome: SilentPeerOutcome): string {
  if (outcome.failedAfter === undefined) return `still connecting at ${SILENT_PEER_CAP_SECONDS} s`;
  const message = (outcome.message ?? '').replace(/\|/g, '\\|').slice(0, 80);
  return `fails after ${outcome.failedAfter.toFixed(1)} s: ${message}`;
}

function row(r: ClientRow): string {
  const cells = [
    `\`${r.library}\` ${r.version}${r.usage ? ` (${r.usage})` : ''}`,
    withRange(r.startup, { scale: 1000 }),
    withRange(r.floorRatio),
    withRange(r.startupCpu, { scale: 1000 }),
    withRange(r.loadCpu, { scale: 1000 }),
    withRange(r.drainRate),
    withRange(r.largeRate),
    r.bundleBytes.toLocaleString('en-US'),
    r.sentinel,
    silentPeer(r.silentPeer),
  ];
  return `| ${cells.join(' | ')} |`;
}

export function clientTable({ rows, floor, floorCpu }: ClientComparison): string {
  return [
    "| library | one-item process, ms | `node -e ''` ÷ it | its CPU, ms | CPU with nothing to do, ms | drain, items/s | drain of 512 KiB items, MiB/s | bundle, bytes | Sentinel | silent TCP peer |",
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map(row),
    `| \`node -e ''\` | ${withRange(floor, { scale: 1000 })} | 1 | ${withRange(floorCpu, { scale: 1000 })} | | | | | | |`,
  ].join('\n');
}

function header(machine: Machine, rounds: number): string {
  return (
    `Measured ${machine.date} on ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB RAM, Node.js ${machine.nodeVersion}, ` +
    `load average ${machine.loadAverage.toFixed(2)} at the start; ${rounds} interleaved rounds, medians (min–max). ` +
    `Drains: AMQP ${DRAIN_DESCRIPTION.amqp}; Redis ${DRAIN_DESCRIPTION.redis}; large: ${DRAIN_DESCRIPTION.large}.`
  );
}

async function main(): Promise<void> {
  const rounds = roundsFromEnv();
  const machine = thisMachine();
  const comparison = await compareClientLibraries(rounds, (line) => console.error(`bench: ${line}`));
  console.log(`${header(machine, rounds)}\n\n${clientTable(comparison)}\n`);
}

main()
  .catch((error: unknown) => {
    console.error(`bench:clients failed: ${thrownMessage(error)}`);
    process.exitCode = 1;
  })
  .finally(removeScratch);
