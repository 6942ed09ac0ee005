import { ExitCode, seedId } from './contract';
import { CliError } from './errors';
import type { Seeder } from './queue';

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
}

/** Seeds the items exactly once per item list (crash-safe, resumable), or again with --force. */
export async function seed({ seeder, queueName, items, run, force, print }: SeedContext): Promise<number> {
  const id = seedId(items, run);
  const seedName = run === undefined ? `seed ${id}` : `seed ${id}, run ${JSON.stringify(run)}`;
  const total = items.length;
  const startedAt = Date.now();
  const progress = new ProgressPrinter(total, print);
  const options = { id, force, onProgress: (pushed: number) => progress.update(pushed) };
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
    return ExitCode.ok;
  }
  if (start.kind === 'resume') print(`resuming ${seedName} at item ${start.from + 1} of ${total}: an earlier run stopped after ${start.from}`);
  progress.begin(start.from);
  const added = await seeder.seed(items, start.from, options);
  const seconds = (Date.now() - startedAt) / 1000;
  // Another seeder of the same list at the same time adds the items this one does not.
  const others = total - start.from - added;
  const byOthers = others > 0 ? `; another seeder added the other ${others}` : '';
  print(
    `seeded ${added} items onto queue ${queueName} in ${seconds.toFixed(2)} s (${rate(added, seconds)} items/s), ${total} in this seed (${seedName})${byOthers}`,
  );
  return ExitCode.ok;
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
    this.print(`seeding ${pushed}/${this.total} items (${percent}%), ${rate(pushed - this.from, (now - this.startedAt) / 1000)} items/s`);
  }
}

function rate(count: number, seconds: number): number {
  return seconds > 0 ? Math.round(count / seconds) : count;
}
