import { ExitCode, type StatusReport } from '../../contract';
import { statusSchemaErrors } from '../status-schema';
import { useBrokers } from './broker-fixture';
import { amqpEnv, processed, redisEnv, runCli, startCli } from './helpers';

/** Fails the item "poison" and succeeds on everything else. */
const POISON_COMMAND = '[ "$(cat)" != poison ]';

/** `status --json` once: exit 0, nothing on stderr, one line that the schema accepts. */
async function readStatus(env: Record<string, string>): Promise<StatusReport> {
  const result = await runCli(['status', '--json'], env);
  expect(result).toMatchObject({ code: ExitCode.ok, stderr: '' });
  expect(result.stdout.endsWith('\n') && result.stdout.split('\n').length).toBe(2);
  return validReport(result.stdout);
}

function validReport(line: string): StatusReport {
  const report = JSON.parse(line) as StatusReport;
  expect(statusSchemaErrors(report)).toEqual([]);
  return report;
}

/** Reads `status --json` until `done` accepts it (a broker settles some counts a moment after the worker). */
async function statusWhen(
  env: Record<string, string>,
  done: (report: StatusReport) => boolean,
  timeoutMs = 15000,
): Promise<StatusReport> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const report = await readStatus(env);
    if (done(report)) return report;
    if (Date.now() > deadline)
      throw new Error(`status never came to what the test waits for; last read: ${JSON.stringify(report)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.each([
  { broker: 'Redis', env: redisEnv, kind: 'redis', counts: 'finished' },
  { broker: 'RabbitMQ', env: amqpEnv, kind: 'rabbitmq', counts: 'taken' },
] as const)('status --json on $broker', ({ broker, env, kind, counts }) => {
  const redisBroker = broker === 'Redis';
  const brokers = useBrokers(redisBroker ? 'redis' : 'amqp');
  const newQueue = () => brokers.queue('status-json');

  /** What the broker tells of items taken: Redis each count, RabbitMQ only the two together. */
  const taken = (inProgress: number, done: number) =>
    redisBroker
      ? { inProgress, done, inProgressOrDone: inProgress + done }
      : { inProgress: null, done: null, inProgressOrDone: inProgress + done };

  test('a fresh queue, one with an item in progress, its worker killed, then drained', async () => {
    const queue = newQueue();
    const seeded = await runCli(['seed', 'a', 'b', 'c'], env(queue));
    expect(seeded.code).toBe(ExitCode.ok);
    const fresh = await readStatus(env(queue));
    expect(fresh).toMatchObject({
      schemaVersion: 1,
      queue,
      pending: 3,
      ...taken(0, 0),
      dead: 0,
      seeded: 3,
      seedComplete: true,
      seed: { total: 3, pushed: 3 },
    });
    expect(fresh.rate).toEqual({ counts, itemsPerSecond: null, windowSeconds: 0, etaSeconds: null });
    if (fresh.broker.kind === 'rabbitmq') {
      expect(fresh.broker).toMatchObject({
        replicas: null,
        replicasUnreadable: expect.stringMatching(/^BROKER_MANAGEMENT_URL is not set/),
      });
    } else expect(fresh.broker).toEqual({ kind, expiredLeases: 0 });

    const worker = startCli(['work'], env(queue, { WORKER_MODE: 'single', WORK_SECONDS: '60', LEASE_SECONDS: '1' }));
    await worker.waitFor(/Processing a/);
    expect(await readStatus(env(queue))).toMatchObject({ pending: 2, ...taken(1, 0), dead: 0 });
    worker.kill('SIGKILL');
    await worker.exited;
    // Redis: the lease runs out and the item is pending again, an expired lease; RabbitMQ: it is redelivered.
    const orphaned = await statusWhen(env(queue), (report) => report.pending === 3);
    expect(orphaned).toMatchObject({ ...taken(0, 0), ...(redisBroker && { broker: { kind, expiredLeases: 1 } }) });

    const drain = await runCli(['work'], env(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '0', LEASE_SECONDS: '1' }));
    expect(drain.code).toBe(ExitCode.ok);
    const drained = await readStatus(env(queue));
    expect(drained).toMatchObject({ pending: 0, ...taken(0, 3), dead: 0, seeded: 3, seedComplete: true });
    expect(drained.rate).toEqual({ counts, itemsPerSecond: null, windowSeconds: 0, etaSeconds: 0 });
  });

  test('a queue holding a dead letter', async () => {
    const queue = newQueue();
    expect((await runCli(['seed', 'fine', 'poison'], env(queue))).code).toBe(ExitCode.ok);
    const drain = await runCli(
      ['work'],
      env(queue, { WORKER_MODE: 'drain', WORK_COMMAND: POISON_COMMAND, MAX_ATTEMPTS: '1' }),
    );
    expect(drain.code).toBe(ExitCode.ok);
    const report = await statusWhen(env(queue), (r) => r.dead === 1);
    expect(report).toMatchObject({ pending: 0, ...taken(0, 1), dead: 1, seeded: 2 });
  });

  test('status --watch --json writes an object per line until drained, with the rate from the second read; --watch the same as words', async () => {
    const queue = newQueue();
    const items = ['w1', 'w2', 'w3', 'w4'];
    expect((await runCli(['seed', ...items], env(queue))).code).toBe(ExitCode.ok);
    const json = startCli(['status', '--watch', '--json'], env(queue));
    const words = startCli(['status', '--watch'], env(queue));
    await json.waitFor(/"pending":4/);
    await words.waitFor(/pending 4/);
    const worker = await runCli(['work'], env(queue, { WORKER_MODE: 'drain', WORK_SECONDS: '0.3' }));
    expect(processed(worker.stdout)).toEqual(items);
    const [jsonResult, wordsResult] = await Promise.all([json.exited, words.exited]);

    expect(jsonResult).toMatchObject({ code: ExitCode.ok, stderr: '' });
    const lines = jsonResult.stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    const reports = lines.map(validReport);
    expect(reports[0]).toMatchObject({ pending: 4, rate: { itemsPerSecond: null, etaSeconds: null } });
    const last = reports[reports.length - 1];
    expect(last).toMatchObject({ pending: 0, ...taken(0, 4), rate: { counts, etaSeconds: 0 } });
    expect(last.rate.itemsPerSecond).toBeGreaterThan(0);
    expect(last.rate.windowSeconds).toBeGreaterThan(0);
    for (let i = 1; i < reports.length; i++)
      expect(Date.parse(reports[i].sampledAt)).toBeGreaterThanOrEqual(Date.parse(reports[i - 1].sampledAt));

    expect(wordsResult.code).toBe(ExitCode.ok);
    const unit = redisBroker ? 'items' : 'taken';
    expect(wordsResult.stdout).toMatch(new RegExp(`^queue ${queue}: pending 4, .*\\(seeded 4\\)$`, 'm'));
    expect(wordsResult.stdout.trimEnd().split('\n').pop()).toMatch(
      new RegExp(`^queue ${queue}: pending 0, .*\\(seeded 4\\), [0-9.]+ ${unit}/s, ETA 0s$`),
    );
  });
});
