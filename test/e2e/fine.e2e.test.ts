/**
 * The fine tutorial end to end: the synthesized seeding Job and worker Job of the `fine` stack,
 * run from the pushed image against the local Redis; once per broker generation of the tutorial
 * files (harness/broker-generation.ts).
 */
import { FINE_TUTORIAL } from '../../stacks/config';
import { tutorialGenerations } from './harness/broker-generation';
import { requireBrokers } from './harness/brokers';
import { maxConcurrent } from './harness/job-controller';
import { onlyJob } from './harness/manifests';
import { processedItems, sorted, StackScenario } from './harness/scenario';
import { readState } from './harness/state';

const state = readState();
const queue = FINE_TUTORIAL.queue;

describe.each(tutorialGenerations())('on the $description brokers', (generation) => {
  const scenario = new StackScenario(state, FINE_TUTORIAL.name, generation);
  const { brokers } = scenario;

  beforeAll(async () => {
    await requireBrokers([generation]);
    await brokers.resetRedisQueue(queue);
    await scenario.deployBroker();
  });

  afterAll(() => scenario.close());

  test('fine: the seeder fills job2 with the 9 items, then 2 pods drain it, each item processed once, both exiting 0', async () => {
    const items = scenario.items();
    expect(sorted(items)).toEqual(sorted(FINE_TUTORIAL.items));
    expect(items).toHaveLength(9);

    const seeding = await scenario.run('seeder');
    expect(seeding).toMatchObject({ condition: 'Complete', succeeded: 1, failed: 0 });
    expect(await brokers.redisLeftovers(queue)).toEqual({ pending: 9 });

    const spec = onlyJob(scenario.manifests.job).spec!;
    expect(spec.completions).toBeUndefined();
    expect(spec.parallelism).toBe(2);

    const work = await scenario.run('job');
    // No completions: the Job is complete once a pod succeeded and all have finished.
    expect(work).toMatchObject({ condition: 'Complete', succeeded: 2, failed: 0 });
    expect(work.pods.map((pod) => pod.phase)).toEqual(['Succeeded', 'Succeeded']);
    expect(maxConcurrent(work.pods)).toBe(2);
    expect(sorted(work.pods.flatMap(processedItems))).toEqual(sorted(items));
    expect(work.pods.every((pod) => processedItems(pod).length > 0)).toBe(true);
    expect(await brokers.redisLeftovers(queue)).toEqual({});
    console.log(
      `fine on ${generation.name}: seeding ${seeding.seconds.toFixed(1)} s, worker Job ${work.seconds.toFixed(1)} s`,
    );
  });
});
