import { DEFAULT_LIST_LIMIT, PRINTED_ITEMS } from './dead-args';
import {
  type Command,
  DeadLetters,
  Defaults,
  Env,
  ExitCode,
  GENERATED_SECRET_BYTES,
  ItemFiles,
  ItemsMount,
  MAX_ITEMS_FILE_BYTES,
  MAX_ITEM_BYTES,
  MAX_SEED_RUN_LENGTH,
  RetryBudget,
  STATUS_SCHEMA_VERSION,
  TLS_SCHEMES,
  WORKER_MODES,
  sentinelUrlScheme,
} from '../contract';

/** What each environment variable means, as the usage texts show it (default in parentheses). */
const VARIABLES: Record<string, string> = {
  [Env.brokerUrl]: `amqp://user:pass@host:${Defaults.amqpPort}/vhost or redis://:pass@host:${Defaults.redisPort}/db (required);
${TLS_SCHEMES.amqp}://...:${Defaults.amqpsPort} and ${TLS_SCHEMES.redis}://...:${Defaults.redisPort} connect over TLS;
${sentinelUrlScheme(false)}://:pass@host:${Defaults.sentinelPort}[,host:port...]/master/db asks Sentinel for the primary (${sentinelUrlScheme(true)}:// over TLS)`,
  [Env.queue]: 'queue (RabbitMQ) or list (Redis) name (required)',
  [Env.brokerRetrySeconds]: `seconds a lost broker connection is retried before exit ${ExitCode.brokerUnreachable} (${Defaults.brokerRetrySeconds})`,
  [Env.itemsFile]: `path of a JSON array of strings of at most ${MAX_ITEMS_FILE_BYTES / (1024 * 1024)} MiB, when no items are given as arguments`,
  [Env.workerMode]: `${WORKER_MODES.slice(0, -1).join(', ')} or ${WORKER_MODES[WORKER_MODES.length - 1]} (${Defaults.workerMode}): single takes one item, drain loops until nothing is pending
or in progress, indexed takes item ${Env.jobCompletionIndex} of ${Env.itemsDirectory} (no broker)`,
  [Env.itemsDirectory]: `a directory of items, JSON arrays of strings in files ${ItemFiles.fileName(0)}, ${ItemFiles.fileName(1000)}... named by
the index of their first item (the constructs mount ${ItemsMount.directory}): seed reads them all (at most ${MAX_ITEMS_FILE_BYTES / (1024 * 1024)} MiB),
indexed work the one holding its index (at most ${ItemFiles.maxFileBytes / (1024 * 1024)} MiB; required)`,
  [Env.jobCompletionIndex]:
    "indexed: the index of the item to work on, from 0 (required; Kubernetes sets it in an Indexed Job's pods)",
  [Env.workCommand]:
    "shell command run once per item, the item's bytes on stdin, exit 0 = done (default: print the item, sleep)",
  [Env.workSeconds]: `the default handler's simulated work in seconds (${Defaults.workSeconds})`,
  [Env.leaseSeconds]: `Redis: lease per item, renewed while it runs; another worker takes it over after expiry (${Defaults.leaseSeconds})`,
  [Env.maxAttempts]: `deliveries before an item goes to the dead-letter queue QUEUE.dead (${Defaults.maxAttempts}); a failed or timed-out
attempt counts, and so does a delivery whose worker died; at most ${RetryBudget.amqpDeliveryLimit} on RabbitMQ`,
  [Env.workTimeoutSeconds]: `seconds one item may take; then its command's process group is stopped and the attempt counts as
failed (${Defaults.workTimeoutSeconds}); keep it ${RetryBudget.stopMarginSeconds} s below RabbitMQ's consumer_timeout`,
  [Env.brokerReplicas]:
    "RabbitMQ: the broker's node count; a queue is created with a member on each (default: RabbitMQ picks)",
  [Env.brokerManagementUrl]:
    "RabbitMQ: the management API, http://host:15672, where the queue's leader and members are read (default: not read)",
  [Env.seedId]: `the seed id (seed prints it) whose completion makes an empty queue done; until the queue's seed
marker shows it complete, an empty queue is waited for (default: unset, an empty queue is done)`,
  [Env.seedWaitSeconds]: `seconds an empty queue whose seed (${Env.seedId}) is not complete is waited for, then exit ${ExitCode.seedIncomplete} (${Defaults.seedWaitSeconds})`,
  [Env.seedRun]: `a run label, 1 to ${MAX_SEED_RUN_LENGTH} printable ASCII characters: the same items with another label are a new
seed, seeded again (default: none)`,
  [Env.credentials]: `JSON array of {"name", "values"?, "generate", "labels"?} (required): the Secrets to create when missing;
"values" maps keys to fixed strings, "generate" lists keys given random values, "labels" the Secret's labels`,
  KUBERNETES_SERVICE_HOST: "the API server's address, set by Kubernetes in every pod (required)",
  KUBERNETES_SERVICE_PORT: "the API server's port, set by Kubernetes in every pod (required)",
  NODE_EXTRA_CA_CERTS:
    "PEM file of CA certificates trusted besides Node.js's own; a TLS broker's certificate is always verified",
  WORK_QUEUE_DEBUG: 'set to 1 to print the stack trace of an unexpected error',
};

const COMMON = [Env.brokerUrl, Env.queue, Env.brokerRetrySeconds];

const EXIT_CODES = `exit codes: ${ExitCode.ok} ok, ${ExitCode.failed} failed, ${ExitCode.badInput} bad input (nothing touched), ${ExitCode.brokerUnreachable} broker unreachable (at start, or lost for longer than ${Env.brokerRetrySeconds}), ${ExitCode.seedIncomplete} seed not complete within ${Env.seedWaitSeconds} (work), ${ExitCode.interrupted} stopped by SIGTERM`;

function environment(names: readonly string[]): string {
  const width = Math.max(...names.map((name) => name.length)) + 2;
  const lines = names.map((name) => {
    const [first, ...rest] = VARIABLES[name].split('\n');
    return [`  ${name.padEnd(width)}${first}`, ...rest.map((line) => `  ${' '.repeat(width)}${line}`)].join('\n');
  });
  return `environment:\n${lines.join('\n')}\n`;
}

export const USAGE: Record<'main' | keyof typeof Command, string> = {
  main: `usage: work-queue <command> [--help]

  seed [--force] [ITEM...]   put the items (arguments, ${Env.itemsFile} or ${Env.itemsDirectory})
                             on the queue, once: a rerun adds nothing, a rerun after a crash
                             finishes the job; --force seeds them again
  work                       process items: ${Env.workerMode}=single takes one, drain loops until
                             nothing is pending or in progress, indexed takes the item of an
                             Indexed Job's pod from ${Env.itemsDirectory} (no broker)
  status [--watch] [--json]  pending / in progress / done / dead counts; --watch redraws until
                             drained, with the rate and ETA; --json prints JSON objects
  dead list|redrive|purge    show the dead-letter queue's items with their attempts and last error,
                             move them back to the queue (exactly once each, --rate R/s), or delete them
  credentials                create the Secrets of ${Env.credentials} in the pod's namespace when they
                             are missing (a broker's password, an Erlang cookie); never changes one

work-queue <command> --help describes one command.

${environment([...COMMON, 'NODE_EXTRA_CA_CERTS', 'WORK_QUEUE_DEBUG'])}
${EXIT_CODES}
`,
  seed: `usage: work-queue seed [--force] [ITEM...]

Puts the items on the queue once: the arguments, or else the JSON array of strings in ${Env.itemsFile},
or else the item files in ${Env.itemsDirectory}.
Rerun with the same items, it adds nothing; after a crash or a lost connection it adds exactly
what is missing. An item is any valid UTF-8 string of at most ${MAX_ITEM_BYTES / 1024} KiB, the empty string included;
equal items are separate items. The seed id is a hash of the items and ${Env.seedRun}: another run label
makes the same items a new seed, seeded again.

  --force   seed the items again, even onto a queue that holds them or an unfinished seed

${environment([...COMMON, Env.itemsFile, Env.itemsDirectory, Env.seedRun, Env.brokerReplicas, 'NODE_EXTRA_CA_CERTS'])}
${EXIT_CODES}
`,
  work: `usage: work-queue work

Processes items: ${Env.workerMode}=single takes one item and exits (one Job completion per item),
drain claims items until nothing is pending or in progress and exits 0. With ${Env.seedId}, an empty
queue is done only once its seed marker shows that seed complete; until then the worker waits,
looking again at most every second, and exits ${ExitCode.seedIncomplete} after ${Env.seedWaitSeconds} of empty queue. A lost
broker connection is retried for ${Env.brokerRetrySeconds}; a broker that lost the queue's data fails with exit 1.
An item that outlasts ${Env.workTimeoutSeconds} is stopped and counts as a failed attempt. single never exits 0
for an item whose acknowledgement failed: exit ${ExitCode.brokerUnreachable} when its connection or channel closed under it (RabbitMQ's
consumer timeout closes the channel), ${ExitCode.failed} when its lease passed to another worker; drain reopens them and goes on.

${Env.workerMode}=indexed, in a pod of a Kubernetes Indexed Job, needs no broker (nor ${Env.brokerUrl}, ${Env.queue}): it
works on item ${Env.jobCompletionIndex} of the files in ${Env.itemsDirectory}, once, and exits ${ExitCode.ok} done, ${ExitCode.failed} when it
failed or outlasted ${Env.workTimeoutSeconds} (the Job tries the index again), ${ExitCode.badInput} when there is no such item
or its file is malformed (the Job fails the index), ${ExitCode.interrupted} when SIGTERM stopped it.

${environment([
  ...COMMON,
  Env.workerMode,
  Env.workCommand,
  Env.workSeconds,
  Env.leaseSeconds,
  Env.maxAttempts,
  Env.workTimeoutSeconds,
  Env.seedId,
  Env.seedWaitSeconds,
  Env.brokerReplicas,
  Env.itemsDirectory,
  Env.jobCompletionIndex,
  'NODE_EXTRA_CA_CERTS',
  'WORK_QUEUE_DEBUG',
])}
SIGTERM: no more items are taken; the current one may finish for 25 s, then its command's process
group is ended and the item handed back (indexed: stopped, exit ${ExitCode.interrupted}). A second SIGTERM does it at once.

${EXIT_CODES}
`,
  status: `usage: work-queue status [--watch] [--json]

Prints the queue's counts: pending, in progress, done, dead (RabbitMQ counts in progress and done
together), and a RabbitMQ quorum queue's leader and members when ${Env.brokerManagementUrl} is set.
A queue that was never seeded nor worked on is an error (exit 1).

  --watch   read every 0.5 s until nothing is pending or in progress: a redrawn row on a terminal,
            else a line per change (and every 10 s); from the second read on, the rate over the
            last 20 s and the ETA of what remains
  --json    one JSON object per read, one line each (schema work-queue-stack/status.schema.json,
            schemaVersion ${STATUS_SCHEMA_VERSION}); a count the broker cannot tell is null

${environment([...COMMON, Env.brokerManagementUrl, 'NODE_EXTRA_CA_CERTS'])}
${EXIT_CODES}
`,
  dead: `usage: work-queue dead list [--limit N] [--json]
       work-queue dead redrive [--limit N] [--rate R/s] [--dry-run]
       work-queue dead purge --yes

The dead-letter queue (RabbitMQ) or list (Redis) QUEUE.dead holds the items whose attempts ran
out (${Env.maxAttempts}). The worker keeps each one's attempts and last error with it (the work command's
exit code or signal, a timeout; at most ${DeadLetters.maxErrorLength} characters).

  list      the oldest items first, each with its attempts and last error ("no record" for an item
            the broker dead-lettered by itself or that was put there by hand)
    --limit N   items shown (${DEFAULT_LIST_LIMIT})
    --json      one JSON document: {"queue", "deadLetterQueue", "count", "items": [{"item", "attempts", "lastError"}]}
                (attempts and lastError null without a record)
  redrive   moves the oldest items to the end of QUEUE as new items, their attempts counted from 1
            again, exactly once each even when redrive is killed midway (run it again to move the
            rest); prints each item it moved (the first ${PRINTED_ITEMS}) and a count
    --limit N   items moved (all)
    --rate R/s  items per second at most, in steps of a tenth of a second (as fast as the broker takes them)
    --dry-run   print what would be moved, move nothing
  purge     deletes every dead item; refused (exit ${ExitCode.badInput}) without --yes

${environment([...COMMON, 'NODE_EXTRA_CA_CERTS'])}
${EXIT_CODES}
`,
  credentials: `usage: work-queue credentials

Creates each Secret of ${Env.credentials} in the pod's namespace unless it exists: "values" are
written as given, every key of "generate" gets ${GENERATED_SECRET_BYTES} random bytes, base64url-encoded. A Secret
that exists is left as it is, so a rerun never rotates a credential; one that lacks a key it
should have is an error (exit 1). It talks to the Kubernetes API as the pod's service account
(the token, ca.crt and namespace under /var/run/secrets/kubernetes.io/serviceaccount), whose Role
must allow create on secrets and get on these Secrets by name. An API server that cannot be
reached, times out, or answers 429 or 5xx is retried for ${Env.brokerRetrySeconds} (${Defaults.brokerRetrySeconds}).

${environment([Env.credentials, 'KUBERNETES_SERVICE_HOST', 'KUBERNETES_SERVICE_PORT'])}
exit codes: ${ExitCode.ok} ok (each Secret created or present), ${ExitCode.failed} failed (a Secret lacks keys, the Role forbids a call, another API error), ${ExitCode.badInput} bad input (nothing touched), ${ExitCode.brokerUnreachable} Kubernetes API unreachable for longer than ${Env.brokerRetrySeconds}
`,
};

/** `--help` and `-h` ask for a command's usage. */
export function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}
