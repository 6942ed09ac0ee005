/**
 * A worker pod SIGKILLed (`docker kill`) in the middle of an item: the item is not lost, another
 * pod processes it, and the Job still completes. On RabbitMQ the broker requeues the unacked
 * message when the connection drops; on Redis the item's lease expires and a live worker reclaims it.
 */
import { COARSE_TUTORIAL, FINE_TUTORIAL } from '../../stacks/config';
import { suiteGeneration } from './harness/broker-generation';
import { requireBrokers } from './harness/brokers';
import { JobRun } from './harness/job-controller';
import { Pod } from './harness/pod';
import { killDuringItem, processedItems, sorted, StackScenario } from './harness/scenario';
import { readState } from './harness/state';

const state = readState();
const generation = suiteGeneration();

beforeAll(() => requireBrokers([generation]));

/** Runs the worker Job, killing its first pod once it is in the middle of an item. */
async function runKillingFirstPod(scenario: StackScenario): Promise<{ work: JobRun; victim: string; item: string }> {
  let kill: Promise<{ victim: string; item: string }> | undefined;
  const work = await scenario.run('job', (pod: Pod) => {
    kill ??= killDuringItem(pod).then((item) => ({ victim: pod.name, item }));
    kill.catch(() => undefined); // awaited below; do not report it as unhandled meanwhile
  });
  return { work, ...(await kill!) };
}

/** The items whose processing finished: every pod's, less the one the victim was killed in. */
function finishedItems(work: JobRun, victim: string): string[] {
  return work.pods.flatMap((pod) => (pod.name === victim ? processedItems(pod).slice(0, -1) : processedItems(pod)));
}

test('coarse: the item of a killed pod is redelivered to another pod and the Job still reaches 8 completions', async () => {
  const scenario = new StackScenario(state, COARSE_TUTORIAL.name, generation);
  const { brokers } = scenario;
  const queue = COARSE_TUTORIAL.queue;
  try {
    await brokers.resetAmqpQueue(queue);
    await scenario.deployBroker();
    expect(await scenario.run('seeder')).toMatchObject({ condition: 'Complete' });

    const { work, victim, item } = await runKillingFirstPod(scenario);
    expect(work).toMatchObject({ condition: 'Complete', succeeded: 8, failed: 1 });
    expect(work.pods.find((pod) => pod.name === victim)).toMatchObject({ phase: 'Failed', exitCodes: [137] });
    const survivors = work.pods.filter((pod) => pod.name !== victim);
    expect(survivors.some((pod) => processedItems(pod).includes(item))).toBe(true);
    expect(sorted(finishedItems(work, victim))).toEqual(sorted(scenario.items()));
    expect(await brokers.amqpLeftovers(queue)).toEqual({});
    console.log(`coarse fault: killed ${victim} during "${item}"; worker Job ${work.seconds.toFixed(1)} s`);
  } finally {
    await scenario.close();
  }
});

test('fine: the item of a killed pod is reclaimed after its lease and the Job still completes', async () => {
  const scenario = new StackScenario(state, FINE_TUTORIAL.name, generation);
  const { brokers } = scenario;
  const queue = FINE_TUTORIAL.queue;
  await brokers.resetRedisQueue(queue);
  await scenario.deployBroker();
  expect(await scenario.run('seeder')).toMatchObject({ condition: 'Complete' });

  const { work, victim, item } = await runKillingFirstPod(scenario);
  expect(work).toMatchObject({ condition: 'Complete', failed: 1 });
  expect(work.pods.find((pod) => pod.name === victim)).toMatchObject({ phase: 'Failed', exitCodes: [137] });
  expect(work.pods.filter((pod) => pod.name !== victim).every((pod) => pod.phase === 'Succeeded')).toBe(true);
  const survivors = work.pods.filter((pod) => pod.name !== victim);
  expect(survivors.some((pod) => processedItems(pod).includes(item))).toBe(true);
  expect(sorted(finishedItems(work, victim))).toEqual(sorted(scenario.items()));
  expect(await brokers.redisLeftovers(queue)).toEqual({});
  console.log(`fine fault: killed ${victim} during "${item}"; worker Job ${work.seconds.toFixed(1)} s with ${work.pods.length} pods`);
  await scenario.close();
});
