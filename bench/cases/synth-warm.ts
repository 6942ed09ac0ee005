import { readdirSync, statSync } from 'fs';
import { join } from 'path';
import { entryOf, type BenchCase } from '../entry';
import { interleave, timed } from '../measure';

const ROOT = join(__dirname, '..', '..');
/** cdk8s.yaml's output directory. */
const OUTPUT = join(ROOT, 'dist');
const GOAL_SECONDS = 1;

/** `npm run --silent synth` in the repository root; checks that it wrote manifests. */
async function synthSeconds(): Promise<number> {
  const startedAt = Date.now();
  const run = await timed('npm', ['run', '--silent', 'synth'], { cwd: ROOT, env: { ...process.env, CI: 'true' } });
  const written = readdirSync(OUTPUT).filter(
    (name) => name.endsWith('.yaml') && statSync(join(OUTPUT, name)).mtimeMs >= startedAt - 10,
  );
  if (written.length === 0)
    throw new Error(
      `npm run synth wrote no manifest to ${OUTPUT}: ${run.stdout.slice(-500)} ${run.stderr.slice(-500)}`,
    );
  return run.seconds;
}

/** Warm `npm run synth` (after one run that is not measured) against the goal of one second. */
export const synthWarm: BenchCase = {
  title: 'npm run synth, warm',
  async run(rounds) {
    await synthSeconds();
    const [seconds, goal] = await interleave(rounds, [synthSeconds, () => Promise.resolve(GOAL_SECONDS)]);
    return [
      entryOf(
        {
          id: 'synth-warm',
          name: '`npm run synth`, warm',
          unit: 's',
          baselineName: `goal: ${GOAL_SECONDS} s`,
          goal: 1.0,
        },
        seconds,
        goal,
      ),
    ];
  },
};
