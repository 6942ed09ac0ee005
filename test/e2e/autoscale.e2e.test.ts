/**
 * The autoscaled stacks end to end. `AUTOSCALE_MAX_JOBS=3 NAMESPACE=work-queue npm run synth` puts a
 * KEDA ScaledJob in place of each worker Job. KEDA itself does not run here: an emulation of KEDA's
 * documented ScaledJob formula (harness/keda-emulator.ts) reads the queue as KEDA's scaler for the
 * broker reads it, at the trigger's host as resolved from KEDA's namespace, every second instead of
 * every `pollingInterval` (30 s), and starts Jobs from the ScaledJob's `jobTargetRef` with the
 * harness's Job controller. Meanwhile the test feeds the queue: the seeding Job, a burst from the
 * broker's own client while the first Jobs start, and another once every Job has finished and the
 * queue has stayed empty (scaling to zero, then from zero).
 */
import { createHash } from 'crypto';
import { dirname, join, resolve } from 'path';
import { COARSE_TUTORIAL, FINE_TUTORIAL } from '../../stacks/config';
import { suiteGeneration } from './harness/broker-generation';
import { requireBrokers } from './harness/brokers';
import { maxConcurrent } from './harness/job-controller';
import { KedaEmulator, type ScaledJobObject, type ScaledJobRun } from './harness/keda-emulator';
import type { KedaVersion } from './harness/keda-formula';
import { openScaler, triggerHost } from './harness/keda-scalers';
import type { KubeObject } from './harness/manifests';
import { processedItems, sorted, StackScenario } from './harness/scenario';
import { readState } from './harness/state';
import { synthesize } from './harness/synth';

const ROOT = resolve(__dirname, '..', '..');
const MAX_JOBS = 3;
/** The emulator's polling interval, in place of the ScaledJob's 30 s. */
const POLLING_INTERVAL_MS = 1000;
/** Polls the emulator makes of the drained queue, the last after every Job has finished, before the next burst and at the end. */
const QUIET_POLLS = 3;
/** The namespace the autoscaled stacks are synthesized for (NAMESPACE, which AUTOSCALE_MAX_JOBS needs). */
const STACK_NAMESPACE = 'work-queue';
/** Where KEDA's operator, which runs the scalers, resolves the triggers' hosts from: KEDA's default namespace. */
const OPERATOR_NAMESPACE = 'keda';

const state = readState();
const generation = suiteGeneration();
const outdir = join(dirname(state.outdir), 'dist-autoscale');

beforeAll(async () => {
  await requireBrokers([generation]);
  const started = Date.now();
  const env = {
    WORKER_IMAGE: state.image,
    WORK_SECONDS: String(state.workSeconds),
    AUTOSCALE_MAX_JOBS: String(MAX_JOBS),
    NAMESPACE: STACK_NAMESPACE,
  };
  await synthesize(ROOT, outdir, env);
  console.log(
    `autoscale: npm run synth with AUTOSCALE_MAX_JOBS=${MAX_JOBS} NAMESPACE=${STACK_NAMESPACE}: ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
});

/** The queue as the test sees it, beside the emulator, and how a producer feeds it. */
interface Feed {
  waiting(): Promise<number>;
  push(items: string[]): Promise<void>;
}

/** One burst: when it was pushed, when the test saw the queue empty after it, when the quiet time after it ended. */
interface Phase {
  readonly burstAt: number;
  readonly emptyAt: number;
  readonly quietUntil: number;
}

interface Autoscaled {
  readonly emulator: KedaEmulator;
  readonly phases: Phase[];
  readonly seconds: number;
}

/**
 * kubectl apply of the job chart (the ScaledJob that the emulator plays KEDA for, and the
 * TriggerAuthentication its trigger names), then an emulator of the given KEDA version for
 * `scaledJob` (the chart's, or a variant of it), its scaler at the trigger's host as KEDA's operator resolves it.
 */
async function emulate(
  scenario: StackScenario,
  scaledJob: ScaledJobObject,
  kedaVersion: KedaVersion,
): Promise<KedaEmulator> {
  const hosts = scenario.serviceHostNames(OPERATOR_NAMESPACE);
  const cluster = await scenario.cluster();
  const refused = cluster.apply(scenario.manifests.job).filter((result) => result.error);
  if (refused.length > 0) throw new Error(`the job chart was refused: ${JSON.stringify(refused)}`);
  const context = {
    objects: await scenario.objects(),
    // The operator reaches the broker through its Service, as the pods do: the address of the Service's gate.
    resolveHost: (host: string) => {
      const address = cluster.serviceAddress(host, OPERATOR_NAMESPACE);
      if (address === undefined)
        throw new Error(
          `the trigger's host ${host} is none of the stack's Services as seen from namespace ${OPERATOR_NAMESPACE}: ${hosts.join(', ')}`,
        );
      return address;
    },
  };
  const trigger = scaledJob.spec.triggers[0];
  return new KedaEmulator(scaledJob, {
    kedaVersion,
    pollingIntervalMs: POLLING_INTERVAL_MS,
    scaler: await openScaler(trigger, context),
    reopenScaler: () => openScaler(trigger, context),
    runJob: (job, hooks) => scenario.runJob(job, hooks),
    deleteJob: (name) => cluster.job(name).delete(),
  });
}

/**
 * Emulates KEDA for the stack's ScaledJob while the queue gets `bursts`: the first once the first
 * Jobs for the seeded items are created, each later one after the queue drained, every Job
 * finished and the emulator looked at the empty queue QUIET_POLLS times.
 */
async function autoscale(
  scenario: StackScenario,
  feed: Feed,
  bursts: string[][],
  kedaVersion: KedaVersion,
): Promise<Autoscaled> {
  const started = Date.now();
  const emulator = await emulate(scenario, scenario.scaledJob(), kedaVersion);
  const phases: Phase[] = [];
  emulator.start();
  try {
    await until(emulator, () => emulator.jobs.length > 0, 'the first Jobs are created');
    for (const burst of bursts) {
      const burstAt = Date.now();
      await feed.push(burst);
      await until(
        emulator,
        async () => (await feed.waiting()) === 0,
        `the queue is drained after burst ${phases.length + 1}`,
      );
      const emptyAt = Date.now();
      await until(
        emulator,
        () => emulator.unfinishedJobs() === 0,
        `every Job has finished after burst ${phases.length + 1}`,
      );
      const finishedAt = Date.now();
      const quiet = () => emulator.polls.filter((poll) => poll.at >= emptyAt + POLLING_INTERVAL_MS);
      await until(
        emulator,
        () => quiet().length >= QUIET_POLLS && quiet().some((poll) => poll.at > finishedAt),
        'the emulator looks at the empty queue',
      );
      phases.push({ burstAt, emptyAt, quietUntil: Date.now() });
    }
  } finally {
    await emulator.stop();
  }
  return { emulator, phases, seconds: (Date.now() - started) / 1000 };
}

/** What holds whatever the broker and strategy: each item processed once, the cap kept, no Job for an empty queue. */
function expectScaledByTheFormula({ emulator, phases }: Autoscaled, items: string[]): void {
  const { jobs, polls } = emulator;
  expect(polls.filter((poll) => poll.error)).toEqual([]);
  for (const job of jobs)
    expect({ job: job.name, condition: job.run?.condition, failed: job.run?.failed }).toEqual({
      job: job.name,
      condition: 'Complete',
      failed: 0,
    });
  expect(sorted(jobs.flatMap(podsOf).flatMap(processedItems))).toEqual(sorted(items));
  // Reached, never exceeded: the bursts are large enough for the formula to hit maxReplicaCount.
  expect(maxConcurrent(jobs)).toBe(MAX_JOBS);
  for (const [index, phase] of phases.entries()) {
    // The last look that may still have seen an item is at most one polling interval before the test saw none.
    const quiet = (at: number) => at >= phase.emptyAt + POLLING_INTERVAL_MS && at <= phase.quietUntil;
    expect({
      burst: index + 1,
      jobsCreatedWhileEmpty: jobs.filter((job) => quiet(job.startedAt)).map((job) => job.name),
    }).toEqual({
      burst: index + 1,
      jobsCreatedWhileEmpty: [],
    });
    expect(polls.filter((poll) => quiet(poll.at)).length).toBeGreaterThanOrEqual(QUIET_POLLS);
  }
  // Scaled from zero: the last burst came after every Job had finished, and got Jobs of its own.
  expect(jobs.some((job) => job.startedAt > phases[phases.length - 1].burstAt)).toBe(true);
}

function podsOf(job: ScaledJobRun) {
  return job.run!.pods;
}

function describeRun({ emulator, seconds }: Autoscaled): string {
  const items = emulator.jobs.map((job) => podsOf(job).flatMap(processedItems).length);
  return `${emulator.jobs.length} Jobs (items per Job: ${items.join(' ')}), ${emulator.polls.length} polls, ${seconds.toFixed(1)} s`;
}

describe("KEDA's documented ScaledJob formula, emulated (not KEDA itself), on the synthesized ScaledJobs", () => {
  test('coarse, autoscaled, KEDA 2.19: one-item Jobs, at most 3 unfinished, follow job1 (RabbitMQ) through the seed and two bursts, each item processed once', async () => {
    const scenario = new StackScenario(state, COARSE_TUTORIAL.name, generation, outdir);
    const { brokers } = scenario;
    const queue = COARSE_TUTORIAL.queue;
    const { spec } = scenario.scaledJob();
    expect(spec).toMatchObject({
      maxReplicaCount: MAX_JOBS,
      scalingStrategy: { strategy: 'accurate' },
      jobTargetRef: { completions: 1, parallelism: 1 },
    });
    expect(spec.triggers[0]).toMatchObject({
      type: 'rabbitmq',
      metadata: { queueName: queue, mode: 'QueueLength', value: '1' },
    });

    try {
      await brokers.resetAmqpQueue(queue);
      await scenario.deployBroker();
      expect(await scenario.run('seeder')).toMatchObject({ condition: 'Complete' });
      const seeded = scenario.items();
      // 8 + 1: three rounds of three Jobs; then three more from zero (a second apple is a second item).
      const bursts = [['kiwi'], ['mango', 'papaya', 'apple']];
      const autoscaled = await autoscale(
        scenario,
        {
          waiting: async () => (await brokers.amqpLeftovers(queue)).pending ?? 0,
          push: (items) => brokers.publishAmqpItems(queue, items),
        },
        bursts,
        '2.19',
      );

      expectScaledByTheFormula(autoscaled, [...seeded, ...bursts.flat()]);
      const { jobs, polls } = autoscaled.emulator;
      expect(polls.find((poll) => poll.created > 0)).toMatchObject({
        queueLength: seeded.length,
        runningJobCount: 0,
        created: MAX_JOBS,
      });
      // One pod per Job, and one item at most: a Job created for an item that a pod just started was
      // about to take (the formula counts a Running pod as no longer pending) finds the queue empty and ends.
      for (const job of jobs) {
        const pods = podsOf(job);
        expect({ job: job.name, pods: pods.length, upToOneItem: processedItems(pods[0]).length <= 1 }).toEqual({
          job: job.name,
          pods: 1,
          upToOneItem: true,
        });
      }
      expect(await brokers.amqpLeftovers(queue)).toEqual({});
      console.log(`coarse autoscaled: ${describeRun(autoscaled)}`);
    } finally {
      await scenario.close();
    }
  });

  test('fine, autoscaled, KEDA 2.16: draining Jobs, one per 10 items and at most 3 unfinished, follow job2 (Redis) through the seed and two bursts, each item processed once', async () => {
    const scenario = new StackScenario(state, FINE_TUTORIAL.name, generation, outdir);
    const { brokers } = scenario;
    const queue = FINE_TUTORIAL.queue;
    const { spec } = scenario.scaledJob();
    expect(spec).toMatchObject({ maxReplicaCount: MAX_JOBS, scalingStrategy: { strategy: 'default' } });
    expect(spec.jobTargetRef.completions).toBeUndefined();
    expect(spec.triggers[0]).toMatchObject({
      type: 'redis',
      metadata: { listName: queue, listLength: '10', activationListLength: '0' },
    });

    await brokers.resetRedisQueue(queue);
    await scenario.deployBroker();
    expect(await scenario.run('seeder')).toMatchObject({ condition: 'Complete' });
    const seeded = scenario.items();
    // 24 more while the first Job starts, about 33 in all: ceil(33 / 10) = 4 Jobs wanted, 3 allowed, 1 running: 2 created.
    const bursts = [Array.from({ length: 24 }, (_, index) => `crate-${index + 1}`), ['pear', 'apple']];
    const autoscaled = await autoscale(
      scenario,
      {
        waiting: async () => (await brokers.redisLeftovers(queue)).pending ?? 0,
        push: (items) => brokers.pushRedisItems(queue, items),
      },
      bursts,
      '2.16',
    );

    expectScaledByTheFormula(autoscaled, [...seeded, ...bursts.flat()]);
    const { jobs, polls } = autoscaled.emulator;
    const [firstBurst] = autoscaled.phases;
    expect(polls.find((poll) => poll.created > 0)).toMatchObject({
      queueLength: seeded.length,
      runningJobCount: 0,
      created: 1,
    });
    expect(polls.find((poll) => poll.at > firstBurst.burstAt && poll.created > 0)).toMatchObject({
      runningJobCount: 1,
      created: MAX_JOBS - 1,
    });
    for (const job of jobs) {
      // The work-queue rule: parallelism pods, all exiting 0 once nothing is pending or leased.
      expect({ job: job.name, phases: podsOf(job).map((pod) => pod.phase) }).toEqual({
        job: job.name,
        phases: Array(spec.jobTargetRef.parallelism ?? 1).fill('Succeeded'),
      });
    }
    expect(await brokers.redisLeftovers(queue)).toEqual({});
    console.log(`fine autoscaled: ${describeRun(autoscaled)}`);
    await scenario.close();
  });
});

/**
 * A pod that exits 2 (bad input) while another pod of its Job is mid-item. The queue worker exits 2
 * only at start-up, and both pods of a Job start from one template, so on a cluster this is one pod
 * that met input the other did not (a ConfigMap changed between their starts, a node-local file).
 * Here the pod that takes the item `bad-input` stands in for it: its WORK_COMMAND marks the pod and
 * sends its worker SIGTERM (the item completes, the worker exits), and the container's shell then
 * exits 2 for the mark. The other pod works on `slow` until its pod is deleted (the container's
 * shell, told to terminate at FailureTarget, marks the pod before it hands SIGTERM on to the worker)
 * and DRAIN_SECONDS after that: the drain the polls between FailureTarget and Failed watch. A `slow`
 * of fixed length would race the harness's reaction to the failure: under load, when exit 2,
 * FailureTarget and the deletion took longer than `slow` outlasted `bad-input`, the worker finished
 * `slow` before its SIGTERM, claimed `pear` and those polls saw one item waiting, not two. Every
 * other item takes 0.1 s, so that the drain workers mostly claim one item at a time (a batch grows
 * only while it takes under 50 ms) and the items after `bad-input` stay in the list, where KEDA's
 * LLEN sees them: unstarted items of a batch are released into the processing hash, not the list.
 */
const DRAIN_SECONDS = 6;
/** How long `slow` waits for its pod's deletion before it goes on anyway (the test then fails on what it saw, rather than hang). */
const DELETION_WAIT_SECONDS = 60;
const FAULT_MARK = '/tmp/e2e-bad-input';
const TERMINATING_MARK = '/tmp/e2e-terminating';
const SLOW_WORK = `i=0; while [ ! -e ${TERMINATING_MARK} ] && [ $i -lt ${DELETION_WAIT_SECONDS * 10} ]; do sleep 0.1; i=$((i+1)); done; sleep ${DRAIN_SECONDS}`;
const FAULT_WORK_COMMAND = `item=$(cat); echo "Processing $item"; case "$item" in bad-input) sleep 2; touch ${FAULT_MARK}; kill -TERM $PPID;; slow) ${SLOW_WORK};; *) sleep 0.1;; esac`;
// The shell is the container's first process: it marks the pod as terminating, hands SIGTERM on to the worker and waits for it.
const FAULT_ENTRYPOINT = [
  'node /opt/work-queue/work-queue.cjs "$0" & worker=$!',
  `trap 'touch ${TERMINATING_MARK}; kill -TERM $worker' TERM`,
  'wait $worker; code=$?',
  'while kill -0 $worker 2>/dev/null; do wait $worker; code=$?; done',
  `if [ -e ${FAULT_MARK} ]; then echo "e2e: this pod met bad input (exit 2)" >&2; exit 2; fi`,
  'exit $code',
].join('\n');

/** The fine stack's ScaledJob with the fault above in its pods, and one Job at most. */
function faultyScaledJob(scaledJob: ScaledJobObject): ScaledJobObject {
  const variant = structuredClone(scaledJob) as ScaledJobObject & { spec: { maxReplicaCount: number } };
  variant.spec.maxReplicaCount = 1;
  const [container] = variant.spec.jobTargetRef.template.spec!.containers;
  container.command = ['sh', '-c', FAULT_ENTRYPOINT];
  container.env = [
    ...(container.env ?? []).filter((env) => env.name !== 'WORK_COMMAND'),
    { name: 'WORK_COMMAND', value: FAULT_WORK_COMMAND },
  ];
  return variant;
}

test('fine, KEDA 2.16: a Job whose pod hits FailJob while its other pod drains its item is running for KEDA until that pod is gone: no Job is created meanwhile, one after', async () => {
  const started = Date.now();
  const scenario = new StackScenario(state, FINE_TUTORIAL.name, generation, outdir);
  const { brokers } = scenario;
  const queue = FINE_TUTORIAL.queue;
  const scaledJob = faultyScaledJob(scenario.scaledJob());
  expect(scaledJob.spec.jobTargetRef).toMatchObject({
    parallelism: 2,
    podFailurePolicy: {
      rules: [{ action: 'FailJob', onExitCodes: { operator: 'In', values: [2] } }, expect.anything()],
    },
  });
  try {
    await brokers.resetRedisQueue(queue);
    await scenario.deployBroker();
    expect(await scenario.run('seeder')).toMatchObject({ condition: 'Complete' });
    // After the seeded items: one for each pod of the first Job, then two for the next Job.
    await brokers.pushRedisItems(queue, ['slow', 'bad-input', 'pear', 'plum']);
    const emulator = await emulate(scenario, scaledJob, '2.16');
    emulator.start();
    try {
      await until(
        emulator,
        () => emulator.jobs.length >= 2 && emulator.unfinishedJobs() === 0,
        'the failed Job and the next one have finished',
      );
      await until(
        emulator,
        async () => (await brokers.redisLeftovers(queue)).pending === undefined,
        'the queue is drained',
      );
    } finally {
      await emulator.stop();
    }

    const [failed, next] = emulator.jobs;
    const run = failed.run!;
    expect(run).toMatchObject({ condition: 'Failed', reason: 'PodFailurePolicy' });
    const failureTargetAt = run.conditions.find((condition) => condition.type === 'FailureTarget')!.at;
    const failedAt = run.conditions.find((condition) => condition.type === 'Failed')!.at;
    // The draining pod was deleted at FailureTarget and finished its item, its last: exit 143 after `slow`.
    const drained = run.pods.find((pod) => processedItems(pod).includes('slow'))!;
    expect(drained).toMatchObject({ phase: 'Deleted' });
    expect(processedItems(drained).at(-1)).toBe('slow');
    expect(run.pods.find((pod) => pod !== drained)).toMatchObject({ phase: 'Failed', exitCodes: [2] });
    // Polls while it drained saw items waiting, the Job running and not pending, and created nothing.
    // Items waiting: `plum`, and `pear` unless the failed pod held it too when it stopped (seen now
    // and then on a loaded machine): a stopping worker releases the unstarted items of its batch
    // into the processing hash, where LLEN does not count them (docs/constructs.md, Autoscaling),
    // and the next Job takes them over.
    const draining = emulator.polls.filter((poll) => poll.at > failureTargetAt && poll.at < failedAt);
    expect(draining.length).toBeGreaterThanOrEqual(2);
    for (const poll of draining) {
      expect(poll).toMatchObject({ runningJobCount: 1, pendingJobCount: 0, created: 0 });
      expect([1, 2]).toContain(poll.queueLength);
    }
    expect(next.startedAt).toBeGreaterThanOrEqual(failedAt);
    expect(next.run).toMatchObject({ condition: 'Complete' });
    expect(sorted(next.run!.pods.flatMap(processedItems))).toEqual(['pear', 'plum']);
    console.log(
      `fine FailJob drain: drained ${((failedAt - failureTargetAt) / 1000).toFixed(1)} s after FailureTarget, ${draining.length} polls meanwhile created nothing; ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  } finally {
    await scenario.close();
  }
});

/**
 * KEDA's `accurate` strategy with Jobs still pending (kedacore/keda#7329, commit 576a714). The coarse
 * ScaledJob's pods here mount a rules ConfigMap that their WORK_COMMAND reads, named by its
 * content's hash (as kustomize's configMapGenerator names it), so that a change of rules is a new
 * ConfigMap and a new ScaledJob; a GitOps sync applies the ScaledJob first and the ConfigMap after.
 * Meanwhile the kubelet cannot mount the volume (FailedMount, retried: pod.ts retryDelayMs) and the
 * Jobs' pods stay in phase Pending (ContainerCreating): for KEDA the Jobs are pending
 * (getPendingJobCount, isAnyPodRunningOrCompleted: no pod Running or Succeeded; scale_jobs.go at
 * v2.16.0 and v2.19.0, as keda-emulator.ts). The variant patches the synthesized ScaledJob rather than building one with
 * ScaledWorkQueueJob: its props take no extra volume (a user adds one with a JsonPatch on `scaledJob`,
 * which gives this same object), and the patch keeps the rest of the synthesized chart as it is.
 */
const RULES_MOUNT = '/etc/work-rules';
const RULES_WORK_COMMAND = `item=$(cat); echo "Processing $item"; echo "rules $(cat ${RULES_MOUNT}/version)"`;

/** The rules ConfigMap of `version` in the ScaledJob's namespace, named `<ScaledJob>-rules-<hash of its data>`. */
function rulesConfigMap(scaledJob: ScaledJobObject, version: string): KubeObject {
  const data = { version };
  const hash = createHash('sha256').update(JSON.stringify(data)).digest('hex').slice(0, 10);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `${String(scaledJob.metadata!.name)}-rules-${hash}`, namespace: scaledJob.metadata!.namespace },
    data,
  };
}

/** The coarse stack's ScaledJob whose pods mount the rules ConfigMap, and whose WORK_COMMAND reads it. */
function scaledJobWithRules(scaledJob: ScaledJobObject, configMap: KubeObject): ScaledJobObject {
  const variant = structuredClone(scaledJob);
  const pod = variant.spec.jobTargetRef.template.spec!;
  pod.volumes = [...(pod.volumes ?? []), { name: 'work-rules', configMap: { name: configMap.metadata!.name! } }];
  const [container] = pod.containers;
  container.volumeMounts = [
    ...(container.volumeMounts ?? []),
    { name: 'work-rules', mountPath: RULES_MOUNT, readOnly: true },
  ];
  container.env = [...(container.env ?? []), { name: 'WORK_COMMAND', value: RULES_WORK_COMMAND }];
  return variant;
}

/** What one round under one KEDA version gave. */
interface PendingRound {
  readonly emulator: KedaEmulator;
  /** When the ConfigMap was applied. */
  readonly configMapAt: number;
}

/**
 * One round: the sync applies the ScaledJob needing rules `version`; a producer publishes `items`;
 * the emulator polls (by hand, one polling interval apart, as its loop would) three times while
 * the pods cannot mount their volume, then the sync applies the ConfigMap, the pods start and the
 * Jobs run to their end; one last poll sees the queue empty. Polls are not made while the pods
 * start: a Job whose pod runs before it takes its message is no longer pending, and the formula
 * then creates a Job for that message under either version (the coarse scenario above).
 */
async function pendingRound(
  scenario: StackScenario,
  kedaVersion: KedaVersion,
  version: string,
  items: string[],
): Promise<PendingRound> {
  const cluster = await scenario.cluster();
  const configMap = rulesConfigMap(scenario.scaledJob(), version);
  const scaledJob = scaledJobWithRules(scenario.scaledJob(), configMap);
  const emulator = await emulate(scenario, scaledJob, kedaVersion);
  let configMapAt = 0;
  try {
    expect(cluster.apply([scaledJob]).filter((result) => result.error)).toEqual([]);
    await scenario.brokers.publishAmqpItems(COARSE_TUTORIAL.queue, items);
    for (let poll = 0; poll < 3; poll++) {
      if (poll > 0) await sleep(POLLING_INTERVAL_MS);
      await emulator.poll();
      emulator.check();
    }
    configMapAt = Date.now();
    expect(cluster.apply([configMap]).filter((result) => result.error)).toEqual([]);
    await until(
      emulator,
      () => emulator.unfinishedJobs() === 0,
      `every Job of the round under KEDA ${kedaVersion} has finished`,
    );
    await emulator.poll();
    return { emulator, configMapAt };
  } finally {
    // On a failure before it, the ConfigMap still comes, so that stop() does not wait for pods that cannot start.
    if (configMapAt === 0) cluster.apply([configMap]);
    await emulator.stop();
  }
}

test('coarse, accurate, two Jobs pending (their rules ConfigMap not applied yet) and two messages ready, at most 3 Jobs: KEDA 2.16 creates one more Job, which finds nothing and exits 0; 2.19 none', async () => {
  const started = Date.now();
  const scenario = new StackScenario(state, COARSE_TUTORIAL.name, generation, outdir);
  const { brokers } = scenario;
  const queue = COARSE_TUTORIAL.queue;
  expect(scenario.scaledJob().spec).toMatchObject({
    maxReplicaCount: MAX_JOBS,
    scalingStrategy: { strategy: 'accurate' },
  });
  try {
    await brokers.resetAmqpQueue(queue);
    await scenario.deployBroker();
    // The seed complete (its marker stays) and its items taken, as after the coarse scenario's seed:
    // purged here in place of a drain; then the producer's messages are the queue's only ones.
    expect(await scenario.run('seeder')).toMatchObject({ condition: 'Complete' });
    await brokers.purgeAmqpQueue(queue);
    // Two rounds on one broker and seed, each under a KEDA of its own (an upgrade between them): KEDA
    // keeps no state but the Jobs it lists, and the first round's are finished, which count for neither.
    const rounds: [KedaVersion, string, string[]][] = [
      ['2.16', 'v1', ['fig', 'lime']],
      ['2.19', 'v2', ['date', 'plum']],
    ];
    const summaries: string[] = [];
    for (const [kedaVersion, version, items] of rounds) {
      const roundStarted = Date.now();
      const { emulator, configMapAt } = await pendingRound(scenario, kedaVersion, version, items);
      const extra = kedaVersion === '2.16' ? 1 : 0;
      const [first, second, third, last] = emulator.polls;
      expect(emulator.polls.filter((poll) => poll.error)).toEqual([]);
      expect(first).toMatchObject({ queueLength: 2, runningJobCount: 0, pendingJobCount: 0, created: 2 });
      // 2.16: maxScale 2 + running 2 > 3, so max 3 - running 2 = 1; 2.19: 2 + 2 - pending 2 is not, so maxScale 2 - pending 2 = 0.
      expect({ kedaVersion, second }).toEqual({
        kedaVersion,
        second: expect.objectContaining({ queueLength: 2, runningJobCount: 2, pendingJobCount: 2, created: extra }),
      });
      // Then three pending under 2.16 (3 + 3 > 3: 3 - 3 = 0), still two under 2.19: nothing more.
      expect(third).toMatchObject({
        queueLength: 2,
        runningJobCount: 2 + extra,
        pendingJobCount: 2 + extra,
        created: 0,
      });
      expect(last).toMatchObject({ queueLength: 0, runningJobCount: 0, created: 0 });

      const { jobs } = emulator;
      expect(jobs).toHaveLength(2 + extra);
      const pods = jobs.flatMap(podsOf);
      for (const job of jobs)
        expect({ job: job.name, condition: job.run?.condition, failed: job.run?.failed }).toEqual({
          job: job.name,
          condition: 'Complete',
          failed: 0,
        });
      // Every pod started once the ConfigMap was there, mounted it, and exited 0.
      for (const pod of pods)
        expect({
          pod: pod.name,
          startedAfterConfigMap: pod.startedAt >= configMapAt,
          phase: pod.phase,
          exitCodes: pod.exitCodes,
        }).toEqual({
          pod: pod.name,
          startedAfterConfigMap: true,
          phase: 'Succeeded',
          exitCodes: [0],
        });
      expect(sorted(pods.flatMap(processedItems))).toEqual(sorted(items));
      for (const pod of pods.filter((pod) => processedItems(pod).length > 0))
        expect(pod.logs).toContain(`rules ${version}`);
      // Under 2.16 one Job's pod found the queue empty (the seed complete) and ended.
      expect(pods.filter((pod) => processedItems(pod).length === 0)).toHaveLength(extra);
      expect(await brokers.amqpLeftovers(queue)).toEqual({});
      summaries.push(
        `KEDA ${kedaVersion}: ${jobs.length} Jobs, pending ${((configMapAt - first.at) / 1000).toFixed(1)} s, round ${((Date.now() - roundStarted) / 1000).toFixed(1)} s`,
      );
    }
    console.log(`coarse accurate pending: ${summaries.join('; ')}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await scenario.close();
  }
});

test(`the triggers name their broker by a host that KEDA's operator resolves from its own namespace (${OPERATOR_NAMESPACE})`, () => {
  for (const stack of [COARSE_TUTORIAL, FINE_TUTORIAL]) {
    const scenario = new StackScenario(state, stack.name, generation, outdir);
    expect(scenario.serviceHostNames(OPERATOR_NAMESPACE)).toContain(triggerHost(scenario.scaledJob().spec.triggers[0]));
  }
});

async function until(
  emulator: KedaEmulator,
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    emulator.check();
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs / 1000} s in vain until ${what}`);
    await sleep(250);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
