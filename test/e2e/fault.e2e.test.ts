/**
 * A worker pod SIGKILLed (`docker kill`) in the middle of an item: the item is not lost, another
 * pod processes it, and the Job still completes. On RabbitMQ the broker requeues the unacked
 * message when the connection drops; on Redis the item's lease expires and a live worker reclaims it.
 * The coarse run also checks each pod's termination message, as the kubelet reports it.
 */
import { COARSE_TUTORIAL, FINE_TUTORIAL } from '../../stacks/config';
import { suiteGeneration } from './harness/broker-generation';
import { requireBrokers } from './harness/brokers';
import type { JobRun } from './harness/job-controller';
import type { Pod } from './harness/pod';
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

/**
 * What `kubectl describe pod` shows as each pod's termination message: the worker's own line for an
 * item done (the victim's item on its second delivery), and for the killed pod, which wrote none,
 * the end of its log (FallbackToLogsOnError).
 */
function expectTerminationMessages(work: JobRun, victim: string, item: string): void {
  for (const pod of work.pods.filter((candidate) => candidate.name !== victim)) {
    const [processed] = processedItems(pod);
    const attempt = processed === item ? 2 : 1;
    expect({ pod: pod.name, ...pod.terminated, message: JSON.parse(pod.terminated?.message ?? 'null') }).toEqual({
      pod: pod.name,
      exitCode: 0,
      reason: 'Completed',
      message: { item: processed, outcome: 'done', attempt, exitCode: 0 },
    });
  }
  const killed = work.pods.find((pod) => pod.name === victim)!;
  expect(killed.terminated).toEqual({
    exitCode: 137,
    reason: 'Error',
    message: expect.stringContaining(`Processing ${item}\n`),
  });
  const redone = work.pods.find((pod) => pod.name !== victim && processedItems(pod).includes(item))!;
  console.log(
    `coarse fault: termination messages: ${redone.name}: ${String(redone.terminated?.message)}; ${victim}: ${JSON.stringify(killed.terminated?.message)}`,
  );
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
    expectTerminationMessages(work, victim, item);
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
  console.log(
    `fine fault: killed ${victim} during "${item}"; worker Job ${work.seconds.toFixed(1)} s with ${work.pods.length} pods`,
  );
  await scenario.close();
});
