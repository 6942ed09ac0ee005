/**
 * The indexed pattern's failure paths end to end: variants built with IndexedWorkJob's props,
 * applied to the harness's cluster, whose Job controller (harness/job-controller.ts) runs one pod
 * per index from the pushed image as the Kubernetes Job controller does: JOB_COMPLETION_INDEX from the downward API, per-index retries
 * after the real 10 s delay, FailIndex on exit 2, maxFailedIndexes. No broker is involved. The
 * synthesized `indexed` example itself runs to Complete in every test of apply.e2e.test.ts, beside
 * the tutorials.
 */
import { Duration, Testing } from 'cdk8s';
import { IndexedWorkJob, type IndexedWorkJobProps } from '../../constructs';
import { INDEXED_EXAMPLE } from '../../stacks/config';
import type { JobRun, PodRecord } from './harness/job-controller';
import { suiteGeneration } from './harness/broker-generation';
import { type KubeObject, onlyJob } from './harness/manifests';
import { StackScenario } from './harness/scenario';
import { readState } from './harness/state';

const state = readState();
// The indexed Jobs use no broker; their cluster has the suite's broker generation, as every cluster does.
const scenario = new StackScenario(state, INDEXED_EXAMPLE.name, suiteGeneration());
const started = Date.now();

afterAll(async () => {
  await scenario.close();
  console.log(`indexed: the file took ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

/** What a variant's WORK_COMMAND prints for its item: the item, the pod's index and its hostname. */
const REPORT = 'read -r item || :; echo "item $item index $JOB_COMPLETION_INDEX host $HOSTNAME"';
/** Fails (exit 1) for the item `poison`, after reporting it. */
const FAIL_ON_POISON = `${REPORT}; test "$item" != poison`;

/** The objects an IndexedWorkJob synthesizes (its ConfigMaps and Job), with the pushed image. */
function synthIndexed(props: Omit<IndexedWorkJobProps, 'image'>): KubeObject[] {
  const chart = Testing.chart();
  new IndexedWorkJob(chart, 'Work', { image: state.image, ...props });
  return Testing.synth(chart) as KubeObject[];
}

/** `kubectl apply` of the objects to the file's cluster, then the Job's run to its end. */
async function runApplied(objects: KubeObject[]): Promise<JobRun> {
  const cluster = await scenario.cluster();
  expect(cluster.apply(objects).filter((result) => result.error)).toEqual([]);
  const run = await cluster.job(onlyJob(objects).metadata!.name!).run;
  console.log(
    `indexed: ${String(onlyJob(objects).metadata!.name)} ${run.condition} (${String(run.reason)}) in ${run.seconds.toFixed(1)} s with ${run.pods.length} pods`,
  );
  return run;
}

function podsOf(run: JobRun, index: number): PodRecord[] {
  return run.pods.filter((pod) => pod.index === index);
}

test('indexed: a poison item with maxAttempts 2 fails only its index, after 2 pods; the other items complete and the Job fails with FailedIndexes', async () => {
  const items = ['apple', 'banana', 'poison', 'cherry'];
  const objects = synthIndexed({ name: 'poison', items, maxAttempts: 2, workCommand: FAIL_ON_POISON });
  const jobName = onlyJob(objects).metadata!.name!;

  const run = await runApplied(objects);
  expect(run).toMatchObject({
    condition: 'Failed',
    reason: 'FailedIndexes',
    succeeded: 3,
    failed: 2,
    completedIndexes: '0,1,3',
    failedIndexes: '2',
  });
  expect(podsOf(run, 2).map((pod) => ({ phase: pod.phase, exitCodes: pod.exitCodes }))).toEqual([
    { phase: 'Failed', exitCodes: [1] },
    { phase: 'Failed', exitCodes: [1] },
  ]);
  for (const index of [0, 1, 2, 3])
    for (const pod of podsOf(run, index))
      expect(pod.logs).toContain(`item ${items[index]} index ${index} host ${jobName}-${index}\n`);
  for (const index of [0, 1, 3]) expect(podsOf(run, index).map((pod) => pod.phase)).toEqual(['Succeeded']);
  // The termination message of each pod, as the kubelet reports it: the item, its outcome and index, the exit code and why.
  const messages = (index: number) => podsOf(run, index).map((pod) => JSON.parse(pod.terminated?.message ?? 'null'));
  expect(messages(0)).toEqual([{ item: 'apple', outcome: 'done', index: 0, exitCode: 0 }]);
  expect(messages(2)).toEqual(
    Array(2).fill({ item: 'poison', outcome: 'failed', index: 2, exitCode: 1, reason: 'the item was not done' }),
  );
  console.log(`indexed: termination message of a failed pod: ${String(podsOf(run, 2)[0].terminated?.message)}`);
});

test('indexed: an index with no item exits 2 and its index fails at once by the FailIndex rule, without a retry', async () => {
  const items = ['apple', 'banana'];
  const objects = synthIndexed({ name: 'no-item', items, workDuration: Duration.seconds(0) });
  // No prop says this (the construct refuses a Job changed after it named it), so the synthesized Job is edited.
  onlyJob(objects).spec!.completions = items.length + 1;

  const run = await runApplied(objects);
  expect(run).toMatchObject({
    condition: 'Failed',
    reason: 'FailedIndexes',
    succeeded: 2,
    failed: 1,
    completedIndexes: '0,1',
    failedIndexes: '2',
  });
  const [extra, ...more] = podsOf(run, 2);
  expect(more).toEqual([]);
  expect(extra).toMatchObject({ phase: 'Failed', exitCodes: [2] });
  // One line naming JOB_COMPLETION_INDEX, no stack trace.
  expect(extra.logs).toMatch(/^work-queue: .*JOB_COMPLETION_INDEX.*2/m);
  expect(extra.logs).not.toMatch(/^\s+at /m);
});

test('indexed: more failed items than maxFailedItems fail the Job at once with MaxFailedIndexesExceeded; the running pod is deleted, the other items never start', async () => {
  const items = ['poison', 'slow', 'apple', 'banana'];
  // `slow` outlasts the Job: it ends only when the controller deletes its pod.
  const command = `${FAIL_ON_POISON} && if [ "$item" = slow ]; then node -e 'setTimeout(() => {}, 120000)'; fi`;
  const objects = synthIndexed({ name: 'budget', items, maxAttempts: 1, maxFailedItems: 0, workCommand: command });
  expect(onlyJob(objects).spec).toMatchObject({ backoffLimitPerIndex: 0, maxFailedIndexes: 0 });

  const run = await runApplied(objects);
  expect(run).toMatchObject({
    condition: 'Failed',
    reason: 'MaxFailedIndexesExceeded',
    failedIndexes: '0',
    completedIndexes: '',
  });
  expect(run.conditions.map((condition) => condition.type)).toEqual(['FailureTarget', 'Failed']);
  expect(run.pods.map((pod) => `${String(pod.index)} ${pod.phase}`)).toEqual(['0 Failed', '1 Deleted']);
  // The deleted pod counts as failed (trackJobStatusAndRemoveFinalizers), and its worker stopped on SIGTERM within the grace period.
  expect(run.failed).toBe(2);
  expect(podsOf(run, 1)[0].logs).toContain('item slow index 1');
});
