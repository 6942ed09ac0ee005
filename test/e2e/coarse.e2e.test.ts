/**
 * The coarse tutorial end to end: the synthesized seeding Job and worker Job of the `coarse` stack,
 * run from the pushed image against the local RabbitMQ with the credentials of the Secret the broker
 * chart creates; once per broker generation of the tutorial files (harness/broker-generation.ts).
 */
import { COARSE_TUTORIAL } from '../../stacks/config';
import { tutorialGenerations } from './harness/broker-generation';
import { requireBrokers } from './harness/brokers';
import { maxConcurrent } from './harness/job-controller';
import { onlyJob } from './harness/manifests';
import { processedItems, sorted, StackScenario } from './harness/scenario';
import { readState } from './harness/state';

const state = readState();
const queue = COARSE_TUTORIAL.queue;

describe.each(tutorialGenerations())('on the $description brokers', (generation) => {
  const scenario = new StackScenario(state, COARSE_TUTORIAL.name, generation);
  const { brokers } = scenario;

  beforeAll(async () => {
    await requireBrokers([generation]);
    await brokers.resetAmqpQueue(queue);
    // The broker chart first, as Pulumi orders it: its credentials Job creates the Secret, RabbitMQ's first boot the user.
    await scenario.deployBroker();
  });

  afterAll(() => scenario.close());

  test('coarse: the seeder fills job1 with the 8 items, then 8 one-item pods, 2 at a time, process each item once', async () => {
    const items = scenario.items();
    expect(sorted(items)).toEqual(sorted(COARSE_TUTORIAL.items));
    expect(items).toHaveLength(8);

    const seeding = await scenario.run('seeder');
    expect(seeding).toMatchObject({ condition: 'Complete', succeeded: 1, failed: 0 });
    expect(await brokers.amqpLeftovers(queue)).toEqual({ pending: 8 });

    // The tutorial's hand-kept rule, now derived: completions equals the number of items.
    const spec = onlyJob(scenario.manifests.job).spec!;
    expect(spec).toMatchObject({ completions: items.length, parallelism: 2 });

    const work = await scenario.run('job');
    expect(work).toMatchObject({ condition: 'Complete', succeeded: spec.completions, failed: 0 });
    expect(work.pods).toHaveLength(8);
    expect(maxConcurrent(work.pods)).toBe(spec.parallelism);
    for (const pod of work.pods)
      expect({ pod: pod.name, phase: pod.phase, items: processedItems(pod).length }).toEqual({
        pod: pod.name,
        phase: 'Succeeded',
        items: 1,
      });
    expect(sorted(work.pods.flatMap(processedItems))).toEqual(sorted(items));
    expect(await brokers.amqpLeftovers(queue)).toEqual({});
    console.log(
      `coarse on ${generation.name}: seeding ${seeding.seconds.toFixed(1)} s, worker Job ${work.seconds.toFixed(1)} s`,
    );
  });
});
