/**
 * The coarse tutorial's synthesized Job with both running pods evicted mid-item, as `kubectl drain
 * --grace-period=1` does it through the Eviction API: each pod gets the DisruptionTarget condition,
 * SIGTERM and, the item not done within the second, SIGKILL (exit 137, Failed). The constructs'
 * podFailurePolicy ignores DisruptionTarget, so nothing counts against backoffLimit; with a
 * podFailurePolicy the Job's podReplacementPolicy is Failed, so the replacements wait until the old
 * pods have terminated, and the controller's backoff counts the two ignored failures (10 s doubled:
 * kubernetes#130881). The unacknowledged items go back to the queue and are processed by the
 * replacements. The Job's ttlSecondsAfterFinished, made 2 s here, then deletes it.
 */
import { COARSE_TUTORIAL } from '../../stacks/config';
import { suiteGeneration } from './harness/broker-generation';
import { requireBrokers } from './harness/brokers';
import type { Cluster } from './harness/cluster';
import { onlyJob } from './harness/manifests';
import type { Pod } from './harness/pod';
import { processedItems, sorted, StackScenario } from './harness/scenario';
import { readState } from './harness/state';

const generation = suiteGeneration();
const scenario = new StackScenario(readState(), COARSE_TUTORIAL.name, generation);
const { brokers } = scenario;
const queue = COARSE_TUTORIAL.queue;
/** The grace period the eviction gives, shorter than the item's WORK_SECONDS (3 s in the global setup). */
const EVICTION_GRACE_SECONDS = 1;
const TTL_SECONDS = 2;
/** The Job controller's first backoff, doubled for the second failure (getRemainingTimeForFailuresCount). */
const BACKOFF_AFTER_TWO_FAILURES_MS = 20_000;

beforeAll(async () => {
  await requireBrokers([generation]);
  await brokers.resetAmqpQueue(queue);
  await scenario.deployBroker();
});

afterAll(() => scenario.close());

/** Waits until the pod prints its `Processing <item>` line, then evicts it; returns that item. */
async function evictDuringItem(cluster: Cluster, pod: Pod): Promise<string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const item = /^Processing (.*)$/m.exec(await pod.logs())?.[1];
    if (item !== undefined) {
      cluster.disruptions.evict(pod.name, EVICTION_GRACE_SECONDS);
      return item;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`pod ${pod.name} printed no Processing line within 60 s`);
}

test('coarse: both running pods evicted mid-item are ignored by the podFailurePolicy, replaced once terminated and after the backoff; no item is lost; the TTL deletes the Job', async () => {
  const items = scenario.items();
  expect(await scenario.run('seeder')).toMatchObject({ condition: 'Complete' });

  const cluster = await scenario.cluster();
  const job = onlyJob(scenario.manifests.job);
  expect(job.spec!.podFailurePolicy!.rules).toContainEqual({
    action: 'Ignore',
    onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }],
  });
  const objects = scenario.manifests.job.map((object) =>
    object === (job as unknown) ? { ...object, spec: { ...job.spec, ttlSecondsAfterFinished: TTL_SECONDS } } : object,
  );
  const evictions: Promise<string>[] = [];
  cluster.apply(objects, {
    hooks: () => ({
      onPodStarted: (pod) => {
        if (evictions.length < 2) evictions.push(evictDuringItem(cluster, pod));
      },
    }),
  });
  const handle = cluster.job(job.metadata!.name!);
  const work = await handle.run;
  const evictedItems = await Promise.all(evictions);

  expect(work).toMatchObject({ condition: 'Complete', succeeded: items.length, failed: 0 });
  const [first, second, ...rest] = work.pods;
  for (const evicted of [first, second]) {
    expect(evicted).toMatchObject({
      phase: 'Failed',
      exitCodes: [137],
      conditions: [{ type: 'DisruptionTarget', reason: 'EvictionByEvictionAPI' }],
    });
    expect(evicted.finishedAt - evicted.deletedAt!).toBeGreaterThanOrEqual(EVICTION_GRACE_SECONDS * 1000 - 100);
  }
  // podReplacementPolicy Failed: no pod started while the evicted ones terminated; then the backoff of two failures.
  const lastFailure = Math.max(first.finishedAt, second.finishedAt);
  expect(Math.min(...rest.map((pod) => pod.startedAt)) - lastFailure).toBeGreaterThanOrEqual(
    BACKOFF_AFTER_TWO_FAILURES_MS,
  );
  expect(
    handle.statuses
      .filter((status) => status.terminating > 0)
      .every((status) => status.active + status.terminating <= 2),
  ).toBe(true);
  expect(Math.max(...handle.statuses.map((status) => status.terminating))).toBeGreaterThanOrEqual(1);

  // Every item processed by a pod that succeeded, the evicted ones' items among them; nothing left or dead-lettered.
  expect(rest.every((pod) => pod.phase === 'Succeeded')).toBe(true);
  expect(sorted(rest.flatMap(processedItems))).toEqual(sorted(items));
  expect(sorted(rest.flatMap(processedItems))).toEqual(expect.arrayContaining(evictedItems));
  expect(await brokers.amqpLeftovers(queue)).toEqual({});

  const deletion = await handle.deleted;
  expect(deletion.by).toBe('TTLAfterFinished');
  expect(deletion.at - work.finishedAt!).toBeGreaterThanOrEqual(TTL_SECONDS * 1000);
  console.log(
    `eviction: worker Job ${work.seconds.toFixed(1)} s, replacements ${((Math.min(...rest.map((pod) => pod.startedAt)) - lastFailure) / 1000).toFixed(1)} s after the evicted pods failed`,
  );
});
