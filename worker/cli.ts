import { type Environment, readTarget, readWork } from './config';
import { Command, Defaults, Env, ExitCode, TLS_SCHEMES, describeProblem } from './contract';
import { badInput } from './errors';
import { makeHandler } from './handler';
import { readItems } from './items';
import { type WorkQueue, openQueue } from './queue';
import { seed } from './seed';
import { Shutdown } from './shutdown';
import { status } from './status';
import { work } from './work';

/** How long an item may keep running after SIGTERM (Kubernetes' default grace period is 30 s). */
const SHUTDOWN_GRACE_MS = 25_000;

const USAGE = `usage: work-queue <command>

  seed [--force] [ITEM...]   put the items (arguments, or the JSON array of strings in ${Env.itemsFile})
                             on the queue, once: a rerun adds nothing, a rerun after a crash
                             finishes the job; --force seeds them again
  work                       process items: ${Env.workerMode}=single takes one, drain loops until
                             nothing is pending or in progress
  status [--watch]           pending / in progress / done / dead counts; --watch redraws until drained

environment: ${Env.brokerUrl} (amqp://user:pass@host:${Defaults.amqpPort}/vhost or redis://:pass@host:${Defaults.redisPort}/db; ${TLS_SCHEMES.amqp}://...:${Defaults.amqpsPort} and
  ${TLS_SCHEMES.redis}://...:${Defaults.redisPort} connect over TLS), ${Env.queue}, ${Env.workerMode} (single), ${Env.workSeconds} (${Defaults.workSeconds}), ${Env.leaseSeconds} (${Defaults.leaseSeconds}),
  ${Env.maxAttempts} (${Defaults.maxAttempts}), ${Env.workCommand}, ${Env.itemsFile}
  NODE_EXTRA_CA_CERTS: a PEM file of CA certificates trusted besides Node.js's own (read at start-up);
  a TLS broker's certificate is always verified against them and its host name
`;

const log = (line: string) => process.stderr.write(`work-queue: ${line}\n`);

export async function main(argv: readonly string[], env: Environment): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case Command.seed:
      return runSeed(args, env);
    case Command.work:
      return runWork(args, env);
    case Command.status:
      return runStatus(args, env);
    case undefined:
    case 'help':
    case '-h':
    case '--help':
      process.stdout.write(USAGE);
      return command === undefined ? ExitCode.badInput : ExitCode.ok;
    default:
      throw badInput([describeProblem('command', command, `one of ${Object.values(Command).join(', ')} (work-queue --help)`)]);
  }
}

async function runSeed(args: readonly string[], env: Environment): Promise<number> {
  const { flags, rest } = splitFlags(args, ['--force']);
  const target = readTarget(env);
  const items = readItems(rest, env);
  return withQueue(target, (queue) =>
    seed({ queue, queueName: target.queue, items, force: flags.has('--force'), print: (line) => process.stdout.write(`${line}\n`) }),
  );
}

async function runWork(args: readonly string[], env: Environment): Promise<number> {
  splitFlags(args, [], false);
  const { broker, queue: queueName, work: config } = readWork(env);
  const shutdown = new Shutdown(SHUTDOWN_GRACE_MS, log);
  shutdown.install();
  try {
    return await withQueue({ broker, queue: queueName }, (queue) =>
      work({ queue, queueName, config, handler: makeHandler(config), shutdown, log }),
      { leaseSeconds: config.leaseSeconds, maxAttempts: config.maxAttempts },
    );
  } finally {
    shutdown.dispose();
  }
}

async function runStatus(args: readonly string[], env: Environment): Promise<number> {
  const { flags } = splitFlags(args, ['--watch'], false);
  const target = readTarget(env);
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  return withQueue(target, async (queue) => {
    await status({ queue, queueName: target.queue, watch: flags.has('--watch'), signal: stop.signal, out: process.stdout });
    return ExitCode.ok;
  });
}

async function withQueue(
  target: ReturnType<typeof readTarget>,
  use: (queue: WorkQueue) => Promise<number>,
  options: { leaseSeconds: number; maxAttempts: number } = { leaseSeconds: Defaults.leaseSeconds, maxAttempts: Defaults.maxAttempts },
): Promise<number> {
  const queue = await openQueue(target.broker, target.queue, {
    ...options,
    onLeaseLost: (item) => log(`the lease on ${JSON.stringify(item)} expired and another worker took it over: it may be processed twice`),
  });
  try {
    return await use(queue);
  } finally {
    await queue.close();
  }
}

/** Separates known `--flags` from the remaining arguments (everything after `--` is an argument). */
function splitFlags(args: readonly string[], known: string[], restAllowed = true): { flags: Set<string>; rest: string[] } {
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
