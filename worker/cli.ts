import {
  type Environment,
  type Target,
  isIndexedMode,
  readIndexedWork,
  readSeed,
  readTarget,
  readWork,
} from './config';
import { Command, ExitCode, describeProblem } from '../contract';
import { badInput } from './errors';
import { makeHandler } from './handler';
import { readItems } from './seed-items';
import { openConsumer, openDeadLetters, openSeeder, openStatusReader } from './open-queue';
import type { ConnectOptions } from './queue';
import { Shutdown } from './shutdown';
import { startTracing } from './tracing/load';
import { type TerminationMessage, withTerminationMessage } from './termination-message';
import { brokerAt } from './unreachable';
import { USAGE, asksForHelp } from './usage';
import { work } from './work';

/** How long an item may keep running after SIGTERM (Kubernetes' default grace period is 30 s). */
const SHUTDOWN_GRACE_MS = 25_000;

const log = (line: string) => process.stderr.write(`work-queue: ${line}\n`);

export async function main(argv: readonly string[], env: Environment): Promise<number> {
  const command = argv.at(0);
  const args = argv.slice(1);
  switch (command) {
    case Command.seed:
    case Command.work:
    case Command.status:
    case Command.credentials:
    case Command.dead:
      if (asksForHelp(args)) {
        process.stdout.write(USAGE[command]);
        return ExitCode.ok;
      }
      return RUN[command](args, env);
    case undefined:
    case 'help':
    case '-h':
    case '--help':
      process.stdout.write(USAGE.main);
      return command === undefined ? ExitCode.badInput : ExitCode.ok;
    default:
      throw badInput([
        describeProblem('command', command, `one of ${Object.values(Command).join(', ')} (work-queue --help)`),
      ]);
  }
}

const RUN: Record<keyof typeof Command, (args: readonly string[], env: Environment) => Promise<number>> = {
  seed: runSeed,
  work: runWork,
  status: runStatus,
  credentials: runCredentials,
  dead: runDead,
};

function connectOptions(target: Target, clientName: string, signal?: AbortSignal): ConnectOptions {
  return { retrySeconds: target.brokerRetrySeconds, clientName, signal, log };
}

async function runSeed(args: readonly string[], env: Environment): Promise<number> {
  const { flags, rest } = splitFlags(args, ['--force']);
  const target = readSeed(env);
  const items = readItems(rest, env);
  const tracing = startTracing(target.tracing, target.broker, target.queue, log);
  const seeder = await openSeeder(target.broker, target.queue, connectOptions(target, Command.seed));
  try {
    // Loaded here, not at start-up: a worker pod has no use for it.
    const { seed } = await import('./seed');
    const print = (line: string) => process.stdout.write(`${line}\n`);
    return await seed({
      seeder,
      queueName: target.queue,
      items,
      run: target.run,
      force: flags.has('--force'),
      print,
      tracer: await tracing,
    });
  } finally {
    await seeder.close();
  }
}

function runWork(args: readonly string[], env: Environment): Promise<number> {
  return withTerminationMessage(env, log, (ending) => runWorkMode(args, env, ending));
}

async function runWorkMode(args: readonly string[], env: Environment, ending: TerminationMessage): Promise<number> {
  splitFlags(args, [], false);
  if (isIndexedMode(env)) return runIndexedWork(env, ending);
  const target = readWork(env);
  const { work: config } = target;
  const tracing = startTracing(target.tracing, target.broker, target.queue, log);
  ending.start(config.mode);
  const shutdown = new Shutdown(SHUTDOWN_GRACE_MS, log);
  shutdown.install();
  try {
    const consumer = await openConsumer(target.broker, target.queue, {
      ...connectOptions(target, Command.work, shutdown.signal),
      leaseSeconds: config.leaseSeconds,
      maxAttempts: config.maxAttempts,
      readSeed: config.seedId !== undefined,
      readTraceContext: tracing !== undefined,
      onLost: (item, reason) => log(`${JSON.stringify(item)} was processed but not completed: ${reason}`),
    });
    try {
      return await work({
        consumer,
        queueName: target.queue,
        config,
        handler: makeHandler(config),
        shutdown,
        log,
        ending,
        tracer: await tracing,
      });
    } finally {
      await consumer.close();
    }
  } finally {
    shutdown.dispose();
  }
}

/** `work` in a pod of an Indexed Job: no broker, one item of ITEMS_DIRECTORY. */
async function runIndexedWork(env: Environment, ending: TerminationMessage): Promise<number> {
  const config = readIndexedWork(env);
  ending.start('indexed');
  // Loaded here: a queue worker has no use for it.
  const { indexedWork } = await import('./indexed-work');
  const shutdown = new Shutdown(SHUTDOWN_GRACE_MS, log);
  shutdown.install();
  try {
    return await indexedWork({ config, handler: makeHandler(config), shutdown, log, ending });
  } finally {
    shutdown.dispose();
  }
}

async function runStatus(args: readonly string[], env: Environment): Promise<number> {
  const { flags } = splitFlags(args, ['--watch', '--json'], false);
  const target = readTarget(env);
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  const reader = await openStatusReader(
    target.broker,
    target.queue,
    connectOptions(target, Command.status, stop.signal),
  );
  try {
    const { status } = await import('./status');
    await status({
      reader,
      queueName: target.queue,
      scheme: target.broker.scheme,
      brokerName: brokerAt(target.broker),
      watch: flags.has('--watch'),
      json: flags.has('--json'),
      signal: stop.signal,
      out: process.stdout,
    });
    return ExitCode.ok;
  } finally {
    await reader.close();
  }
}

async function runDead(args: readonly string[], env: Environment): Promise<number> {
  // Loaded here: no other command uses them.
  const [{ parseDeadArgs }, { checkConfirmed, dead }] = await Promise.all([import('./dead-args'), import('./dead')]);
  const request = parseDeadArgs(args);
  const target = readTarget(env);
  checkConfirmed(request, target.queue);
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  const deadLetters = await openDeadLetters(
    target.broker,
    target.queue,
    connectOptions(target, Command.dead, stop.signal),
  );
  try {
    const print = (line: string) => process.stdout.write(`${line}\n`);
    return await dead({ deadLetters, queueName: target.queue, request, signal: stop.signal, print });
  } finally {
    await deadLetters.close();
  }
}

async function runCredentials(args: readonly string[], env: Environment): Promise<number> {
  splitFlags(args, [], false);
  // Loaded here: no other command talks to the Kubernetes API.
  const { credentials, SERVICE_ACCOUNT_DIR } = await import('./credentials');
  return credentials({
    env,
    serviceAccountDir: SERVICE_ACCOUNT_DIR,
    print: (line) => process.stdout.write(`${line}\n`),
    log,
  });
}

/** Separates known `--flags` from the remaining arguments (everything after `--` is an argument). */
function splitFlags(
  args: readonly string[],
  known: string[],
  restAllowed = true,
): { flags: Set<string>; rest: string[] } {
  const flags = new Set<string>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      rest.push(...args.slice(i + 1));
      break;
    }
    if (known.includes(arg)) flags.add(arg);
    else if (arg.startsWith('--') || !restAllowed) {
      throw badInput([describeProblem('argument', arg, known.length ? `one of ${known.join(', ')}` : 'no arguments')]);
    } else rest.push(arg);
  }
  return { flags, rest };
}
