import { ExitCode, seedId } from '../contract';
import { CliError } from './errors';
import type { SeedOptions, Seeder, TraceContext } from './queue';
import type { Tracer } from './tracing/spans';

export interface SeedContext {
  readonly seeder: Seeder;
  readonly queueName: string;
  readonly items: readonly string[];
  /**
   * The run label (SEED_RUN): the same items with another label are a new seed.
   * @default - none: the items' seed id alone
   */
  readonly run?: string;
  readonly force: boolean;
  readonly print: (line: string) => void;
  /**
   * Traces the seed run: one span, whose context goes with each item it adds.
   * @default - none: tracing is off
   */
  readonly tracer?: Tracer;
}

/** Seeds the items exactly once per item list (crash-safe, resumable), or again with --force; in a span of its own when tracing. */
export async function seed(context: SeedContext): Promise<number> {
  const id = seedId(context.items, context.run);
  const span = context.tracer?.startSeed({ id, run: context.run, total: context.items.length });
  try {
    const added = await seedItems(context, id, span?.context);
    span?.end({ added });
    return ExitCode.ok;
  } catch (error) {
    span?.end({ error });
    throw error;
  }
}

/** Returns how many items this run added. */
async function seedItems(
  { seeder, queueName, items, run, force, print }: SeedContext,
  id: string,
  traceContext?: TraceContext,
): Promise<number> {
  const seedName = run === undefined ? `seed ${id}` : `seed ${id}, run ${JSON.stringify(run)}`;
  const total = items.length;
  const startedAt = Date.now();
  const progress = new ProgressPrinter(total, print);
  const options: SeedOptions = { id, force, onProgress: (pushed: number) => progress.update(pushed), traceContext };
  const start = await seeder.begin(items, options);
  if (start.kind === 'conflict') {
    const { marker } = start;
    throw new CliError(
      `queue ${queueName} holds an unfinished seed of other items (seed ${marker.id}: ${marker.pushed} of ${marker.total} items on the queue); rerun seed with those items to finish it, or pass --force to add these ${total} items anyway`,
      ExitCode.failed,
    );
  }
  if (start.kind === 'resume' && start.from >= total) {
    print(`queue ${queueName} already holds this seed (${total} items, ${seedName}): nothing added`);
    return 0;
  }
  if (start.kind === 'resume') {
    // Whoever put them there may have stopped, or may be another seeder still at work: neither can be told from the queue.
    print(
      `resuming ${seedName} at item ${start.from + 1} of ${total}: its first ${start.from} are on the queue already, from an earlier or a concurrent run`,
    );
  }
  progress.begin(start.from);
  const added = await seeder.seed(items, start.from, options);
  const seconds = (Date.now() - startedAt) / 1000;
  print(
    `seeded ${added} items onto queue ${queueName} in ${seconds.toFixed(2)} s (${rate(added, seconds)} items/s), ${total} in this seed (${seedName})${byOthers(total, start.from, added)}`,
  );
  return added;
}

/**
 * The seed's items this run did not add: `before` were on the queue when it began, the rest
 * another seeder of the same list added while it ran. Each seeder's line adds up to the total.
 */
function byOthers(total: number, before: number, added: number): string {
  const during = total - before - added;
  if (before === 0 && during <= 0) return '';
  if (during <= 0) return `; the other ${before} were on the queue when this run began`;
  if (before === 0) return `; another seeder added the other ${during} while this run went on`;
  return `; the other ${before + during} were added by other runs: ${before} before this one began, ${during} while it went on`;
}

/** Prints `count/total (percent), rate` at every tenth of the list and at least once a second. */
class ProgressPrinter {
  private from = 0;
  private startedAt = Date.now();
  private lastPrintAt = Date.now();
  private lastTenth = 0;

  constructor(
    private readonly total: number,
    private readonly print: (line: string) => void,
  ) {}

  begin(from: number): void {
    this.from = from;
    this.startedAt = Date.now();
    this.lastPrintAt = this.startedAt;
    this.lastTenth = Math.floor((from * 10) / this.total);
  }

  update(pushed: number): void {
    if (pushed >= this.total) return;
    const now = Date.now();
    const tenth = Math.floor((pushed * 10) / this.total);
    if (tenth <= this.lastTenth && now - this.lastPrintAt < 1000) return;
    this.lastTenth = tenth;
    this.lastPrintAt = now;
    const percent = Math.floor((pushed * 100) / this.total);
    this.print(
      `seeding ${pushed}/${this.total} items (${percent}%), ${rate(pushed - this.from, (now - this.startedAt) / 1000)} items/s`,
    );
  }
}

function rate(count: number, seconds: number): number {
  return seconds > 0 ? Math.round(count / seconds) : count;
}
